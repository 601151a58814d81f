"""Local users, server-side sessions and the audit log, in one SQLite file outside the serving snapshot.

``Settings.auth_db_path`` (``SALESCOPE_HOME/auth/auth.db``). The pipeline never touches it and publishing
never replaces it, so users survive every snapshot. No Streamlit here: the CLI (``salescope users``) and
the dashboards share this module.

- Passwords: argon2id (argon2-cffi defaults); only the hash is stored.
- Lockout: after ``MAX_FAILED`` consecutive failed logins the account is locked for ``LOCK_MINUTES``; the
  correct password does not open it meanwhile. ``reset-password`` (or ``unlock``) clears the lock.
- Sessions: a random 256-bit token; the table keeps only its SHA-256, so a copy of the file cannot be used
  to sign in. A session ends at logout, after ``IDLE_MINUTES`` without activity, after ``MAX_HOURS``, when
  the user is disabled, or when the password is reset. Every page run re-validates the token and re-reads
  the role, so ``set-role`` and ``disable`` take effect on the next click.
- Cookie tickets: the browser gets its session cookie from an HTTP route, not from the Streamlit script,
  so the script hands over a one-time ticket (``issue_ticket``) valid ``TICKET_SECONDS``. The table keeps
  the ticket's SHA-256 and the session token encrypted with a key derived from the ticket, so neither is
  readable from the file; ``redeem_ticket`` deletes the row on first use. Ending a session drops its tickets.
- Audit: logins (ok, failed, locked), logouts, expiries and CSV exports, with the time in UTC.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from salescope import sqlite_tx

ROLES = ("sales_rep", "sales_manager", "finance", "executive", "data_steward", "admin")
ROLES_NEEDING_CRM_USER = frozenset({"sales_rep", "sales_manager"})
MAX_FAILED = 5
LOCK_MINUTES = 15
IDLE_MINUTES = 30
MAX_HOURS = 12
MIN_PASSWORD_LENGTH = 8
TICKET_SECONDS = 60
LANGUAGES = ("zh", "en")  # digests and alerts: Chinese unless the user chose English
DEFAULT_LANGUAGE = "zh"

_HASHER = PasswordHasher()
# verified against when the user does not exist, so an unknown name costs the same time as a wrong password
_DUMMY_HASH = _HASHER.hash("not-a-real-password")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username        TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    crm_user_id     TEXT,
    password_hash   TEXT NOT NULL,
    is_active       INTEGER NOT NULL DEFAULT 1,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT 'zh'
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES users(username),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ended_at     TEXT,
    end_reason   TEXT
);
CREATE TABLE IF NOT EXISTS session_tickets (
    ticket_sha256 TEXT PRIMARY KEY,
    token_sha256  TEXT NOT NULL REFERENCES sessions(token_sha256),
    sealed_token  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    username TEXT,
    event    TEXT NOT NULL,
    detail   TEXT
);
"""


class AuthError(ValueError):
    """A user-facing problem with a users command (unknown user, bad role, short password)."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    crm_user_id: str | None
    is_active: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    language: str = DEFAULT_LANGUAGE  # of the digests and alerts sent to the user: zh or en

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class LoginResult:
    """``token`` is set only on success; ``reason`` is one of ok, invalid, locked, disabled."""

    reason: str
    token: str | None = None
    user: User | None = None


@dataclass(frozen=True)
class CookieSession:
    """A redeemed ticket: the session token for the cookie and when the session ends at the latest."""

    token: str
    user: User
    ends_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet(ticket: str) -> Fernet:
    # the random one-time ticket is the key: the stored token is useless without it (authenticated
    # encryption from `cryptography`, not a home-made cipher)
    return Fernet(
        base64.urlsafe_b64encode(hashlib.sha256(b"salescope-ticket-seal\0" + ticket.encode()).digest())
    )


def _seal(token: str, ticket: str) -> str:
    return _fernet(ticket).encrypt(token.encode()).decode("ascii")


def _unseal(sealed: str, ticket: str) -> str | None:
    try:
        return _fernet(ticket).decrypt(sealed.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError, UnicodeError):
        return None


class AuthStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.execute("PRAGMA journal_mode = WAL")  # readers never wait for a login being written
            con.executescript(_SCHEMA)
            _migrate(con)
        finally:
            con.close()
        self.path.chmod(0o600)

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite_tx.transaction(self.path, rows=True)

    # ---- users ------------------------------------------------------------------------------------

    @staticmethod
    def _user(row: sqlite3.Row | None) -> User | None:
        if row is None:
            return None
        return User(
            username=row["username"],
            display_name=row["display_name"],
            role=row["role"],
            crm_user_id=row["crm_user_id"],
            is_active=bool(row["is_active"]),
            failed_attempts=row["failed_attempts"],
            locked_until=_dt(row["locked_until"]),
            created_at=_dt(row["created_at"]),
            language=row["language"],
        )

    @staticmethod
    def _check_role(role: str, crm_user_id: str | None) -> None:
        if role not in ROLES:
            raise AuthError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        if role in ROLES_NEEDING_CRM_USER and not crm_user_id:
            raise AuthError(
                f"role {role} sees rows by CRM user: pass --crm-user with the user's user_id from the CRM "
                "(marts.dim_users.user_id, e.g. USR-0002)"
            )

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AuthError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")

    def get_user(self, username: str) -> User | None:
        with self._db() as con:
            return self._user(con.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone())

    def list_users(self) -> list[User]:
        with self._db() as con:
            return [self._user(r) for r in con.execute("SELECT * FROM users ORDER BY username")]

    def add_user(
        self,
        username: str,
        password: str,
        role: str,
        *,
        display_name: str | None = None,
        crm_user_id: str | None = None,
    ) -> User:
        username = username.strip()
        if not username or len(username) > 64:
            raise AuthError("the user name must be 1 to 64 characters")
        self._check_role(role, crm_user_id)
        self._check_password(password)
        now = _iso(_now())
        with self._db() as con:
            if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
                raise AuthError(f"user {username!r} already exists: use set-role or reset-password")
            con.execute(
                """INSERT INTO users (username, display_name, role, crm_user_id, password_hash, created_at,
                                      updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                [username, display_name or username, role, crm_user_id, _HASHER.hash(password), now, now],
            )
            self._audit(con, username, "user_added", f"role={role}")
        return self.get_user(username)

    def _require(self, con: sqlite3.Connection, username: str) -> sqlite3.Row:
        row = con.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
        if row is None:
            raise AuthError(f"no user {username!r}: `salescope users list` shows who exists")
        return row

    def set_role(self, username: str, role: str, crm_user_id: str | None = None) -> User:
        with self._db() as con:
            row = self._require(con, username)
            crm = crm_user_id or row["crm_user_id"]
            self._check_role(role, crm)
            con.execute(
                "UPDATE users SET role = ?, crm_user_id = ?, updated_at = ? WHERE username = ?",
                [role, crm, _iso(_now()), username],
            )
            self._audit(con, username, "role_changed", f"{row['role']} -> {role}")
        return self.get_user(username)

    def set_active(self, username: str, active: bool) -> User:
        with self._db() as con:
            self._require(con, username)
            con.execute(
                "UPDATE users SET is_active = ?, updated_at = ? WHERE username = ?",
                [int(active), _iso(_now()), username],
            )
            if not active:
                self._end_sessions(con, username, "disabled")
            self._audit(con, username, "user_enabled" if active else "user_disabled", None)
        return self.get_user(username)

    def set_language(self, username: str, language: str) -> User:
        """The language of the user's digests and alerts (zh or en)."""
        if language not in LANGUAGES:
            raise AuthError(f"unknown language {language!r}: use {' or '.join(LANGUAGES)}")
        with self._db() as con:
            row = self._require(con, username)
            con.execute(
                "UPDATE users SET language = ?, updated_at = ? WHERE username = ?",
                [language, _iso(_now()), username],
            )
            self._audit(con, username, "language_changed", f"{row['language']} -> {language}")
        return self.get_user(username)

    def reset_password(self, username: str, password: str) -> User:
        """New password; clears the lockout and ends the user's open sessions."""
        self._check_password(password)
        with self._db() as con:
            self._require(con, username)
            con.execute(
                """UPDATE users SET password_hash = ?, failed_attempts = 0, locked_until = NULL, updated_at = ?
                   WHERE username = ?""",
                [_HASHER.hash(password), _iso(_now()), username],
            )
            self._end_sessions(con, username, "password_reset")
            self._audit(con, username, "password_reset", None)
        return self.get_user(username)

    def unlock(self, username: str) -> User:
        with self._db() as con:
            self._require(con, username)
            con.execute(
                "UPDATE users SET failed_attempts = 0, locked_until = NULL, updated_at = ? WHERE username = ?",
                [_iso(_now()), username],
            )
            self._audit(con, username, "unlocked", None)
        return self.get_user(username)

    # ---- login and sessions -----------------------------------------------------------------------

    def login(self, username: str, password: str, *, now: datetime | None = None) -> LoginResult:
        now = now or _now()
        username = (username or "").strip()[:64]
        with self._db() as con:
            row = con.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
            user = self._user(row)
            if user is None:
                _verify(_DUMMY_HASH, password)
                self._audit(con, username or None, "login_failed", "unknown user", now)
                return LoginResult("invalid")
            if user.is_locked(now):
                self._audit(con, username, "login_refused", "locked", now)
                return LoginResult("locked")
            if not _verify(row["password_hash"], password):
                failed = user.failed_attempts + 1
                locked = now + timedelta(minutes=LOCK_MINUTES) if failed >= MAX_FAILED else None
                con.execute(
                    "UPDATE users SET failed_attempts = ?, locked_until = ? WHERE username = ?",
                    [0 if locked else failed, _iso(locked), username],
                )
                self._audit(con, username, "login_failed", f"attempt {failed}", now)
                if locked:
                    self._audit(con, username, "locked", f"{MAX_FAILED} failed attempts", now)
                    return LoginResult("locked")
                return LoginResult("invalid")
            if not user.is_active:
                self._audit(con, username, "login_refused", "disabled", now)
                return LoginResult("disabled")
            con.execute(
                "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE username = ?", [username]
            )
            token = secrets.token_urlsafe(32)
            con.execute(
                "INSERT INTO sessions (token_sha256, username, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                [_sha(token), username, _iso(now), _iso(now)],
            )
            self._audit(con, username, "login_ok", None, now)
        return LoginResult("ok", token, self.get_user(username))

    def session_user(self, token: str | None, *, now: datetime | None = None) -> User | None:
        """The active user behind a live session token, touching its last-seen time; None otherwise."""
        if not token:
            return None
        now = now or _now()
        with self._db() as con:
            s = con.execute("SELECT * FROM sessions WHERE token_sha256 = ?", [_sha(token)]).fetchone()
            if s is None or s["ended_at"] is not None:
                return None
            idle = now - _dt(s["last_seen_at"]) > timedelta(minutes=IDLE_MINUTES)
            too_old = now - _dt(s["created_at"]) > timedelta(hours=MAX_HOURS)
            user = self._user(
                con.execute("SELECT * FROM users WHERE username = ?", [s["username"]]).fetchone()
            )
            if idle or too_old or user is None or not user.is_active:
                reason = "expired" if idle or too_old else "disabled"
                con.execute(
                    "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE token_sha256 = ?",
                    [_iso(now), reason, _sha(token)],
                )
                con.execute("DELETE FROM session_tickets WHERE token_sha256 = ?", [_sha(token)])
                self._audit(con, s["username"], "session_ended", reason, now)
                return None
            con.execute(
                "UPDATE sessions SET last_seen_at = ? WHERE token_sha256 = ?", [_iso(now), _sha(token)]
            )
            return user

    def logout(self, token: str | None) -> None:
        if not token:
            return
        with self._db() as con:
            s = con.execute(
                "SELECT username FROM sessions WHERE token_sha256 = ? AND ended_at IS NULL", [_sha(token)]
            ).fetchone()
            if s is None:
                return
            con.execute(
                "UPDATE sessions SET ended_at = ?, end_reason = 'logout' WHERE token_sha256 = ?",
                [_iso(_now()), _sha(token)],
            )
            con.execute("DELETE FROM session_tickets WHERE token_sha256 = ?", [_sha(token)])
            self._audit(con, s["username"], "logout", None)

    def _end_sessions(self, con: sqlite3.Connection, username: str, reason: str) -> None:
        con.execute(
            "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE username = ? AND ended_at IS NULL",
            [_iso(_now()), reason, username],
        )
        con.execute(
            "DELETE FROM session_tickets WHERE token_sha256 IN (SELECT token_sha256 FROM sessions WHERE username = ?)",
            [username],
        )

    # ---- cookie tickets ---------------------------------------------------------------------------

    def issue_ticket(self, token: str | None, *, now: datetime | None = None) -> str | None:
        """A one-time ticket the browser exchanges for ``token`` in its cookie; None when the session is over."""
        if not token:
            return None
        now = now or _now()
        ticket = secrets.token_urlsafe(32)
        with self._db() as con:
            con.execute("DELETE FROM session_tickets WHERE expires_at < ?", [_iso(now)])
            if not con.execute(
                "SELECT 1 FROM sessions WHERE token_sha256 = ? AND ended_at IS NULL", [_sha(token)]
            ).fetchone():
                return None
            con.execute(
                "INSERT INTO session_tickets (ticket_sha256, token_sha256, sealed_token, expires_at) VALUES (?, ?, ?, ?)",
                [
                    _sha(ticket),
                    _sha(token),
                    _seal(token, ticket),
                    _iso(now + timedelta(seconds=TICKET_SECONDS)),
                ],
            )
        return ticket

    def redeem_ticket(self, ticket: str | None, *, now: datetime | None = None) -> CookieSession | None:
        """The live session behind ``ticket``, once: the ticket is gone after the first try, used or not."""
        if not ticket or len(ticket) > 128:
            return None
        now = now or _now()
        with self._db() as con:
            row = con.execute(
                "SELECT * FROM session_tickets WHERE ticket_sha256 = ?", [_sha(ticket)]
            ).fetchone()
            if row is None:
                return None
            con.execute("DELETE FROM session_tickets WHERE ticket_sha256 = ?", [_sha(ticket)])
        if _dt(row["expires_at"]) <= now:
            return None
        token = _unseal(row["sealed_token"], ticket)
        if token is None or _sha(token) != row["token_sha256"]:
            return None
        user = self.session_user(token, now=now)  # ended, idle, too old or disabled: no cookie
        if user is None:
            return None
        with self._db() as con:
            (created,) = con.execute(
                "SELECT created_at FROM sessions WHERE token_sha256 = ?", [_sha(token)]
            ).fetchone()
        return CookieSession(token, user, _dt(created) + timedelta(hours=MAX_HOURS))

    # ---- audit ------------------------------------------------------------------------------------

    @staticmethod
    def _audit(
        con: sqlite3.Connection,
        username: str | None,
        event: str,
        detail: str | None,
        at: datetime | None = None,
    ) -> None:
        con.execute(
            "INSERT INTO audit_log (at, username, event, detail) VALUES (?, ?, ?, ?)",
            [_iso(at or _now()), username, event, detail],
        )

    def audit(self, username: str | None, event: str, detail: str | None = None) -> None:
        with self._db() as con:
            self._audit(con, username, event, detail)

    def audit_log(self, limit: int = 200) -> list[dict]:
        with self._db() as con:
            rows = con.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [int(limit)]).fetchall()
        return [dict(r) for r in rows]


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a user database made by an older release up to this schema (columns added since)."""
    columns = {r[1] for r in con.execute("PRAGMA table_info(users)")}
    if "language" not in columns:
        con.execute(f"ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '{DEFAULT_LANGUAGE}'")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A random password that is easy to type: four groups of lowercase letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
