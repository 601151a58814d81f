"""Which digests are due, and building and sending them.

The schedule rule lives in ``due_roles``: reps and finance daily, managers weekly on the Monday of the as-of
date. A digest's dedupe key is (kind, user, as-of date), so publishing the same day twice sends nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from salescope.notify import content as c
from salescope.notify.dispatch import Notification, Outcome, send
from salescope.notify.log import NotifyLog
from salescope.notify.people import Recipient
from salescope.notify.render import Message, render
from salescope.notify.targets import Target

KIND_BY_ROLE = {"sales_rep": "rep_daily", "sales_manager": "manager_weekly", "finance": "finance_daily"}


def due_roles(as_of: date) -> set[str]:
    """The roles whose digest is due for a snapshot as of ``as_of`` (the one place with this rule)."""
    roles = {"sales_rep", "finance"}
    if as_of.weekday() == 0:  # Monday
        roles.add("sales_manager")
    return roles


@dataclass(frozen=True)
class Digest:
    recipient: Recipient
    content: c.Content
    message: Message

    @property
    def key(self) -> str:
        return f"digest:{self.content.kind}:{self.recipient.username}:{self.content.as_of.isoformat()}"


def build(
    con: duckdb.DuckDBPyConnection, log: NotifyLog, r: Recipient, as_of: date, public_url: str
) -> Digest | None:
    """The digest of one user on the snapshot (None for roles without one)."""
    kind = KIND_BY_ROLE.get(r.role)
    if kind is None:
        return None
    scope = r.scope
    if kind == "rep_daily":
        content = c.rep_daily(con, scope, as_of, log.last_scores(r.username))
    elif kind == "manager_weekly":
        content = c.manager_weekly(con, scope, as_of, log.last_scores(r.username))
    else:
        content = c.finance_daily(con, scope, as_of, log.seen(r.username, "overdue_invoice"))
    return Digest(r, content, render(content, r.display_name, r.language, public_url))


def send_digests(log: NotifyLog, targets: list[Target], digests: list[Digest]) -> list[Outcome]:
    """Send, then remember what each delivered digest told its user (scores, overdue invoices)."""
    outcomes: list[Outcome] = []
    for d in digests:
        m = d.message
        outcomes += send(log, targets, [Notification(d.key, d.recipient.tags, m.title, m.text, m.html)])
        if log.was_delivered(d.key):
            as_of = d.content.as_of.isoformat()
            if d.content.kind in ("rep_daily", "manager_weekly"):
                log.remember_scores(d.recipient.username, d.content.scores, as_of)
            if d.content.kind == "finance_daily":
                log.remember_seen(d.recipient.username, "overdue_invoice", set(d.content.overdue_ids), as_of)
    return outcomes
