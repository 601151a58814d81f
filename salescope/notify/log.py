"""``ops.notification_log`` and the digest state, in a SQLite file under ``Settings.notify_dir`` (never the
warehouse: it has one writer, the pipeline).

At most once: a row is written with status ``sending`` and committed *before* the target is called, then set
to ``delivered`` or ``failed`` (with the redacted error). A key already ``delivered`` (or ``sending`` /
``unknown``) for a target is never sent to it again; a ``failed`` one is retried on the next pass. A process
that died between sending and recording leaves ``sending``: the next pass (holding the pass lock, so no
other pass is running) marks it ``unknown`` — maybe delivered, never resent — for an operator to look at.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from salescope import sqlite_tx

SCHEMA = """
CREATE TABLE IF NOT EXISTS ops.notification_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,          -- when the row was claimed (before sending), UTC
    sent_at     TEXT,                   -- when the outcome was recorded, UTC
    tag         TEXT NOT NULL,          -- the tags the message was addressed to
    target      TEXT NOT NULL,          -- the target, redacted (apprise url(privacy=True))
    target_id   TEXT NOT NULL,          -- sha256 of the target URL (first 16 hex digits)
    title       TEXT NOT NULL,
    dedupe_key  TEXT NOT NULL,
    status      TEXT NOT NULL,          -- sending, delivered, failed, unknown
    attempts    INTEGER NOT NULL DEFAULT 1,
    error       TEXT,                   -- redacted
    UNIQUE (dedupe_key, target_id)
);
CREATE TABLE IF NOT EXISTS ops.digest_scores (
    username       TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    score          INTEGER NOT NULL,
    as_of          TEXT NOT NULL,
    PRIMARY KEY (username, opportunity_id)
);
CREATE TABLE IF NOT EXISTS ops.digest_seen (
    username TEXT NOT NULL,
    kind     TEXT NOT NULL,
    item_id  TEXT NOT NULL,
    as_of    TEXT NOT NULL,
    PRIMARY KEY (username, kind, item_id)
);
"""
SKIP_STATUSES = ("delivered", "sending", "unknown")
INTERRUPTED = "interrupted between sending and recording: maybe delivered, not resent"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LogRow:
    created_at: str
    sent_at: str | None
    tag: str
    target: str
    title: str
    dedupe_key: str
    status: str
    attempts: int
    error: str | None


class NotifyLog:
    def __init__(self, notify_dir: Path):
        self.dir = notify_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "ops.sqlite"
        con = sqlite3.connect(":memory:", timeout=10)
        try:
            con.execute("ATTACH DATABASE ? AS ops", [str(self.path)])
            con.execute("PRAGMA ops.journal_mode = WAL")
            con.executescript(SCHEMA)
        finally:
            con.close()

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_tx.transaction(self.path, attach_as="ops", rows=True)

    @contextlib.contextmanager
    def pass_lock(self) -> Iterator[None]:
        """One sending pass at a time (CLI, sensor); then rows left ``sending`` are from a dead process."""
        with open(self.dir / "pass.lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                with self._db() as con:
                    con.execute(
                        "UPDATE ops.notification_log SET status = 'unknown', error = ?, sent_at = ? "
                        "WHERE status = 'sending'",
                        [INTERRUPTED, _now()],
                    )
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def claim(self, key: str, target_id: str, target: str, tag: str, title: str) -> bool:
        """Record the intent to send (committed); False when the key was already sent (or maybe sent)."""
        with self._db() as con:
            row = con.execute(
                "SELECT status FROM ops.notification_log WHERE dedupe_key = ? AND target_id = ?",
                [key, target_id],
            ).fetchone()
            if row is not None and row["status"] in SKIP_STATUSES:
                return False
            if row is None:
                con.execute(
                    """INSERT INTO ops.notification_log (created_at, tag, target, target_id, title, dedupe_key,
                       status) VALUES (?, ?, ?, ?, ?, ?, 'sending')""",
                    [_now(), tag, target, target_id, title, key],
                )
            else:  # failed before: retry
                con.execute(
                    """UPDATE ops.notification_log SET status = 'sending', attempts = attempts + 1, error = NULL,
                       created_at = ?, title = ?, tag = ? WHERE dedupe_key = ? AND target_id = ?""",
                    [_now(), title, tag, key, target_id],
                )
        return True

    def finish(self, key: str, target_id: str, ok: bool, error: str = "") -> None:
        with self._db() as con:
            con.execute(
                "UPDATE ops.notification_log SET status = ?, error = ?, sent_at = ? WHERE dedupe_key = ? AND target_id = ?",
                ["delivered" if ok else "failed", error or None, _now(), key, target_id],
            )

    def was_delivered(self, key: str) -> bool:
        with self._db() as con:
            return (
                con.execute(
                    "SELECT 1 FROM ops.notification_log WHERE dedupe_key = ? AND status = 'delivered'", [key]
                ).fetchone()
                is not None
            )

    def rows(self, limit: int = 200) -> list[LogRow]:
        with self._db() as con:
            rows = con.execute(
                """SELECT created_at, sent_at, tag, target, title, dedupe_key, status, attempts, error
                   FROM ops.notification_log ORDER BY id DESC LIMIT ?""",
                [int(limit)],
            ).fetchall()
        return [LogRow(**dict(r)) for r in rows]

    # ---- digest state: what the last digest told each user ------------------------------------------------

    def last_scores(self, username: str) -> dict[str, int]:
        with self._db() as con:
            rows = con.execute(
                "SELECT opportunity_id, score FROM ops.digest_scores WHERE username = ?", [username]
            ).fetchall()
        return {r["opportunity_id"]: int(r["score"]) for r in rows}

    def remember_scores(self, username: str, scores: dict[str, int], as_of: str) -> None:
        with self._db() as con:
            con.execute("DELETE FROM ops.digest_scores WHERE username = ?", [username])
            con.executemany(
                "INSERT INTO ops.digest_scores VALUES (?, ?, ?, ?)",
                [(username, k, int(v), as_of) for k, v in scores.items()],
            )

    def seen(self, username: str, kind: str) -> set[str]:
        with self._db() as con:
            rows = con.execute(
                "SELECT item_id FROM ops.digest_seen WHERE username = ? AND kind = ?", [username, kind]
            ).fetchall()
        return {r["item_id"] for r in rows}

    def remember_seen(self, username: str, kind: str, items: set[str], as_of: str) -> None:
        with self._db() as con:
            con.execute("DELETE FROM ops.digest_seen WHERE username = ? AND kind = ?", [username, kind])
            con.executemany(
                "INSERT INTO ops.digest_seen VALUES (?, ?, ?, ?)", [(username, kind, i, as_of) for i in items]
            )
