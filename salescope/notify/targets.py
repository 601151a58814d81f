"""Notification targets: ``SALESCOPE_HOME/notify.yml`` in apprise's YAML config format, tagged by user name,
team id and role. Target URLs hold secrets (bot keys, tokens, passwords): they are only ever shown redacted
(apprise's ``url(privacy=True)``), and errors are redacted before anyone sees or stores them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import apprise


class NotifyConfigError(ValueError):
    """notify.yml is missing or apprise cannot read it (the message says what to do)."""


@dataclass(frozen=True)
class Target:
    """One configured service. ``label`` is safe to print; ``target_id`` is a one-way digest of the URL."""

    target_id: str
    label: str
    tags: tuple[str, ...]
    html: bool  # prefers HTML bodies (e-mail); chat bots get plain text
    _server: object  # the apprise plugin instance (never printed)
    _secrets: tuple[str, ...]

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    error: str = ""  # redacted


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


_SECRET_PARAM = re.compile(r"token|key|secret|pass|auth|sig|cookie", re.IGNORECASE)


def private_label(private: str) -> str:
    """apprise's privacy URL with what it still shows hidden too: custom header and payload values
    (``+X-Token=…``, ``-field=…`` of json://, form://, xml://) and parameters named like a secret."""
    head, sep, query = private.partition("?")
    if not sep:
        return private
    parts = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        hide = (
            eq
            and value
            and (name[:1] in "+-:" or name[:3] in ("%2B", "%2b", "%2D", "%2d") or _SECRET_PARAM.search(name))
        )
        parts.append(f"{name}=****" if hide else pair)
    return f"{head}?{'&'.join(parts)}"


def _secret_parts(raw: str, private: str) -> tuple[str, ...]:
    """Pieces of the raw URL that the privacy URL hides (tokens, keys, passwords), longest first."""
    parts = {p for p in re.split(r"[/:@?&=#,;]+", raw) if len(p) >= 4 and p not in private}
    return tuple(sorted(parts, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets and with any URL cut to its scheme and host."""
    for s in secrets:
        text = text.replace(s, "****")

    def cut(m: re.Match) -> str:
        scheme, _, rest = m.group(0).partition("://")
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        return f"{scheme}://{host}/…"

    return _URL.sub(cut, text)


def load(path: Path) -> list[Target]:
    """Every target of notify.yml; raises NotifyConfigError when the file is absent or unreadable."""
    if not path.exists():
        raise NotifyConfigError(
            f"no notification targets: create {path} (apprise YAML, see README 'Reaching people')"
        )
    config = apprise.AppriseConfig()
    if not config.add_config(path.read_text(encoding="utf-8"), format="yaml"):
        raise NotifyConfigError(f"{path} is not apprise YAML config: see README 'Reaching people'")
    targets = []
    for server in config.services():
        raw, private = server.url(), private_label(server.url(privacy=True))
        formats = server.notify_format
        first = formats[0] if isinstance(formats, tuple) else formats
        targets.append(
            Target(
                target_id=hashlib.sha256(raw.encode()).hexdigest()[:16],
                label=private,
                tags=tuple(sorted(str(t) for t in server.tags)),
                html=str(first) in ("html", "NotifyFormat.HTML") or getattr(first, "value", "") == "html",
                _server=server,
                _secrets=_secret_parts(raw, private),
            )
        )
    return targets


def matching(targets: Iterable[Target], tags: Iterable[str]) -> list[Target]:
    """Targets carrying any of ``tags`` (case-insensitive, as apprise compares tags), each once."""
    wanted = {t.lower() for t in tags if t}
    return [t for t in targets if wanted & {x.lower() for x in t.tags}]


def deliver(target: Target, title: str, text: str, html: str) -> Delivery:
    """Send to one target; apprise's result is checked (it returns a false result instead of raising)."""
    sender = apprise.Apprise()
    sender.add(target._server)  # noqa: SLF001 (the dataclass keeps it private so it is never printed)
    try:
        result = sender.notify(
            body=html if target.html else text,
            title=title,
            body_format=apprise.NotifyFormat.HTML if target.html else apprise.NotifyFormat.TEXT,
        )
    except Exception as exc:  # a plugin bug must not stop the other targets
        return Delivery(False, target.redact(f"{type(exc).__name__}: {exc}"))
    if result:
        return Delivery(True)
    messages = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    return Delivery(False, target.redact("; ".join(messages) or f"apprise returned {result.status.name}"))
