"""Calendar feed tokens and event sequences, in one SQLite file of their own (``Settings.calendar_db_path``,
``SALESCOPE_HOME/calendar/calendar.db``, mode 0600), outside the serving snapshot and the user database.

- Tokens: one per user, a random 256-bit ``secrets.token_urlsafe(32)``; the table keeps only its SHA-256, so
  a copy of the file cannot be used to subscribe. ``issue`` creates or rotates (the old URL stops working),
  ``revoke`` deletes. ``username_for`` answers None for an unknown or revoked token; whether the user still
  exists and is active is the caller's check (``dashboards.auth_store``, read only).
- Sequences: per user and event UID, the fingerprint of the event's content and its SEQUENCE. An event seen
  for the first time gets 0; a later export whose content differs bumps it by one (RFC 5545: clients then
  replace their copy instead of keeping the older one); unchanged content keeps it. ``changed_at`` is the
  event's LAST-MODIFIED.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from salescope import sqlite_tx

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calendar_tokens (
    username     TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS calendar_events (
    username    TEXT NOT NULL,
    uid         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    sequence    INTEGER NOT NULL,
    changed_at  TEXT NOT NULL,
    PRIMARY KEY (username, uid)
);
"""


@dataclass(frozen=True)
class Revision:
    """What an export writes for one event: its SEQUENCE and when its content last changed."""

    sequence: int
    changed_at: datetime


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class CalendarStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(_SCHEMA)
        finally:
            con.close()
        self.path.chmod(0o600)

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_tx.transaction(self.path)

    # ---- tokens -----------------------------------------------------------------------------------

    def issue(self, username: str) -> str:
        """A new token for ``username`` (replacing any earlier one); shown once, only its hash is kept."""
        token = secrets.token_urlsafe(32)
        with self._db() as con:
            con.execute(
                "INSERT INTO calendar_tokens (username, token_sha256, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (username) DO UPDATE SET token_sha256 = excluded.token_sha256, "
                "created_at = excluded.created_at",
                [username, _sha(token), _now().isoformat()],
            )
        return token

    def revoke(self, username: str) -> bool:
        """Forget the user's token; True when there was one."""
        with self._db() as con:
            return con.execute("DELETE FROM calendar_tokens WHERE username = ?", [username]).rowcount > 0

    def username_for(self, token: str | None) -> str | None:
        """The user a live token belongs to, or None (unknown, revoked, rotated or malformed)."""
        if not token or len(token) > 128:
            return None
        with self._db() as con:
            row = con.execute(
                "SELECT username FROM calendar_tokens WHERE token_sha256 = ?", [_sha(token)]
            ).fetchone()
        return row[0] if row else None

    def has_token(self, username: str) -> bool:
        with self._db() as con:
            return (
                con.execute("SELECT 1 FROM calendar_tokens WHERE username = ?", [username]).fetchone()
                is not None
            )

    # ---- event sequences --------------------------------------------------------------------------

    def revisions(
        self, username: str, fingerprints: Iterable[tuple[str, str]], *, now: datetime | None = None
    ) -> dict[str, Revision]:
        """(uid, fingerprint) of one export -> each UID's SEQUENCE, recorded: new 0, changed +1, same kept."""
        now = now or _now()
        out: dict[str, Revision] = {}
        with self._db() as con:
            known = {
                uid: (fp, seq, changed)
                for uid, fp, seq, changed in con.execute(
                    "SELECT uid, fingerprint, sequence, changed_at FROM calendar_events WHERE username = ?",
                    [username],
                )
            }
            for uid, fingerprint in fingerprints:
                old = known.get(uid)
                if old is not None and old[0] == fingerprint:
                    out[uid] = Revision(old[1], datetime.fromisoformat(old[2]))
                    continue
                sequence = 0 if old is None else old[1] + 1
                con.execute(
                    "INSERT INTO calendar_events (username, uid, fingerprint, sequence, changed_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (username, uid) DO UPDATE SET "
                    "fingerprint = excluded.fingerprint, sequence = excluded.sequence, "
                    "changed_at = excluded.changed_at",
                    [username, uid, fingerprint, sequence, now.isoformat()],
                )
                out[uid] = Revision(sequence, now)
        return out
