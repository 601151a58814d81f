"""Sending, at most once per (dedupe key, target), with every attempt in ``ops.notification_log``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from salescope.failpoints import failpoint
from salescope.notify.log import NotifyLog
from salescope.notify.targets import Target, deliver, matching


@dataclass(frozen=True)
class Notification:
    key: str  # dedupe key: the same key never reaches the same target twice
    tags: tuple[str, ...]
    title: str
    text: str
    html: str


@dataclass(frozen=True)
class Outcome:
    key: str
    target: str  # redacted
    status: str  # delivered, failed, skipped (already sent), no_target
    error: str = ""


def send(log: NotifyLog, targets: list[Target], notifications: Iterable[Notification]) -> list[Outcome]:
    """Send each notification to every target tagged with one of its tags. Call inside ``log.pass_lock()``."""
    out: list[Outcome] = []
    for n in notifications:
        found = matching(targets, n.tags)
        if not found:
            out.append(Outcome(n.key, "", "no_target"))
            continue
        for target in found:
            tag = ",".join(n.tags)
            if not log.claim(n.key, target.target_id, target.label, tag, n.title):
                out.append(Outcome(n.key, target.label, "skipped"))
                continue
            result = deliver(target, n.title, n.text, n.html)
            failpoint("notify.after_send")  # crash tests: sent, not yet recorded
            log.finish(n.key, target.target_id, result.ok, result.error)
            out.append(Outcome(n.key, target.label, "delivered" if result.ok else "failed", result.error))
    return out
