"""Users, sessions, lockout and audit (dashboards.auth_store) and the `salescope users` CLI."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from dashboards.auth_store import (
    IDLE_MINUTES,
    LOCK_MINUTES,
    MAX_FAILED,
    MAX_HOURS,
    TICKET_SECONDS,
    AuthError,
    AuthStore,
)
from salescope.cli import app
from salescope.commands.users import DEMO_USERS, ensure_demo_users
from salescope.settings import Settings

PW = "s3cret-password"


@pytest.fixture
def store(tmp_path) -> AuthStore:
    return AuthStore(tmp_path / "auth" / "auth.db")


def events(store: AuthStore) -> list[tuple[str | None, str]]:
    return [(e["username"], e["event"]) for e in reversed(store.audit_log())]


def test_passwords_are_argon2_hashes_never_plain(store):
    store.add_user("alice", PW, "executive")
    con = sqlite3.connect(store.path)
    (h,) = con.execute("SELECT password_hash FROM users").fetchone()
    con.close()
    assert h.startswith("$argon2id$") and PW not in h
    assert store.path.read_bytes().find(PW.encode()) == -1
    assert store.path.stat().st_mode & 0o077 == 0  # owner only


def test_login_ok_wrong_password_unknown_user(store):
    store.add_user("alice", PW, "executive")
    ok = store.login("alice", PW)
    assert ok.reason == "ok" and ok.token and len(ok.token) >= 40
    assert store.session_user(ok.token).username == "alice"
    assert store.login("alice", "nope").reason == "invalid"
    assert store.login("bob", PW).reason == "invalid"  # the same answer: no user enumeration
    assert ("alice", "login_ok") in events(store) and ("bob", "login_failed") in events(store)


def test_the_database_keeps_only_a_hash_of_the_session_token(store):
    store.add_user("alice", PW, "executive")
    token = store.login("alice", PW).token
    con = sqlite3.connect(store.path)
    stored = [r[0] for r in con.execute("SELECT token_sha256 FROM sessions")]
    con.close()
    assert token not in stored and len(stored) == 1
    assert store.session_user(stored[0]) is None  # the stored value is no token


def test_lockout_after_five_failures_keeps_the_user_out(store):
    store.add_user("alice", PW, "executive")
    t0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    reasons = [store.login("alice", "wrong", now=t0).reason for _ in range(MAX_FAILED)]
    assert reasons == ["invalid"] * (MAX_FAILED - 1) + ["locked"]
    assert (
        store.login("alice", PW, now=t0 + timedelta(minutes=1)).reason == "locked"
    )  # right password, still out
    assert store.login("alice", PW, now=t0 + timedelta(minutes=LOCK_MINUTES - 1)).token is None
    assert store.login("alice", PW, now=t0 + timedelta(minutes=LOCK_MINUTES + 1)).reason == "ok"
    assert ("alice", "locked") in events(store) and ("alice", "login_refused") in events(store)


def test_reset_password_unlocks_and_ends_sessions(store):
    store.add_user("alice", PW, "executive")
    token = store.login("alice", PW).token
    for _ in range(MAX_FAILED):
        store.login("alice", "wrong")
    assert store.login("alice", PW).reason == "locked"
    store.reset_password("alice", "another-password")
    assert store.session_user(token) is None
    assert store.login("alice", "another-password").reason == "ok"


def test_logout_and_expiry_end_the_session_for_good(store):
    store.add_user("alice", PW, "executive")
    token = store.login("alice", PW).token
    store.logout(token)
    assert store.session_user(token) is None
    assert store.session_user(token) is None  # a logged-out token cannot be reused
    t0 = datetime.now(UTC)
    idle = store.login("alice", PW, now=t0).token
    assert store.session_user(idle, now=t0 + timedelta(minutes=IDLE_MINUTES - 1)) is not None
    assert store.session_user(idle, now=t0 + timedelta(minutes=2 * IDLE_MINUTES)) is None
    old = store.login("alice", PW, now=t0).token
    for h in range(1, MAX_HOURS + 2):  # active all along, still ends after MAX_HOURS
        user = store.session_user(old, now=t0 + timedelta(hours=h) - timedelta(minutes=1))
    assert user is None
    assert ("alice", "logout") in events(store) and ("alice", "session_ended") in events(store)


# ---- cookie tickets: the one-time ticket the page exchanges for its HttpOnly session cookie ----------------


def test_a_ticket_gives_the_session_token_once(store):
    store.add_user("alice", PW, "executive")
    t0 = datetime.now(UTC)
    token = store.login("alice", PW, now=t0).token
    ticket = store.issue_ticket(token, now=t0)
    assert ticket and ticket != token and len(ticket) >= 40
    got = store.redeem_ticket(ticket, now=t0 + timedelta(seconds=1))
    assert got.token == token and got.user.username == "alice"
    assert got.ends_at == t0 + timedelta(hours=MAX_HOURS)  # the cookie may not outlive the absolute limit
    assert store.redeem_ticket(ticket) is None  # used: gone
    assert store.session_user(token).username == "alice"  # the session itself goes on


def test_a_ticket_expires_and_a_failed_try_burns_it(store):
    store.add_user("alice", PW, "executive")
    t0 = datetime.now(UTC)
    token = store.login("alice", PW, now=t0).token
    late = store.issue_ticket(token, now=t0)
    assert store.redeem_ticket(late, now=t0 + timedelta(seconds=TICKET_SECONDS + 1)) is None
    assert store.redeem_ticket(late, now=t0) is None  # an expired try still used it up
    assert store.redeem_ticket("not-a-ticket") is None
    assert store.redeem_ticket("") is None and store.redeem_ticket(None) is None
    assert store.redeem_ticket("x" * 10_000) is None
    assert store.issue_ticket(None) is None


def test_tickets_and_tokens_are_stored_only_hashed_or_sealed(store):
    store.add_user("alice", PW, "executive")
    token = store.login("alice", PW).token
    tickets = [store.issue_ticket(token) for _ in range(3)]
    con = sqlite3.connect(store.path)
    rows = con.execute("SELECT ticket_sha256, token_sha256, sealed_token FROM session_tickets").fetchall()
    dump = "\n".join(con.iterdump())
    con.close()
    assert len(rows) == 3
    for secret in (token, *tickets):
        assert secret not in dump
        assert store.path.read_bytes().find(secret.encode()) == -1
    assert len({sealed for _t, _h, sealed in rows}) == 3  # a new key per ticket: no two look alike
    assert store.redeem_ticket(rows[0][0]) is None  # the stored hash is no ticket
    assert store.redeem_ticket(tickets[1]).token == token


def test_a_tampered_sealed_token_gives_nothing(store):
    store.add_user("alice", PW, "executive")
    token = store.login("alice", PW).token
    ticket = store.issue_ticket(token)
    con = sqlite3.connect(store.path)
    (sealed,) = con.execute("SELECT sealed_token FROM session_tickets").fetchone()
    middle = len(sealed) // 2  # one character of the Fernet token's ciphertext changed
    flipped = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]
    con.execute("UPDATE session_tickets SET sealed_token = ?", [flipped])
    con.commit()
    con.close()
    assert store.redeem_ticket(ticket) is None


def test_logout_password_reset_disable_and_expiry_revoke_tickets(store):
    store.add_user("alice", PW, "executive")

    def fresh() -> tuple[str, str]:
        token = store.login("alice", PW).token
        return token, store.issue_ticket(token)

    token, ticket = fresh()
    store.logout(token)
    assert store.redeem_ticket(ticket) is None
    assert store.issue_ticket(token) is None  # no ticket for an ended session
    token, ticket = fresh()
    store.reset_password("alice", "another-password")
    assert store.redeem_ticket(ticket) is None and store.session_user(token) is None
    store.reset_password("alice", PW)
    token, ticket = fresh()
    store.set_active("alice", False)
    assert store.redeem_ticket(ticket) is None
    store.set_active("alice", True)
    t0 = datetime.now(UTC)
    token = store.login("alice", PW, now=t0).token
    ticket = store.issue_ticket(token, now=t0 + timedelta(minutes=IDLE_MINUTES + 1) - timedelta(seconds=30))
    assert store.redeem_ticket(ticket, now=t0 + timedelta(minutes=IDLE_MINUTES + 1)) is None  # idle meanwhile
    con = sqlite3.connect(store.path)
    assert con.execute("SELECT count(*) FROM session_tickets").fetchone() == (0,)  # ended sessions keep none
    con.close()


def test_disable_and_role_change_apply_to_open_sessions(store):
    store.add_user("alice", PW, "sales_rep", crm_user_id="R1")
    token = store.login("alice", PW).token
    store.set_role("alice", "executive")
    assert store.session_user(token).role == "executive"
    store.set_active("alice", False)
    assert store.session_user(token) is None
    assert store.login("alice", PW).reason == "disabled"


def test_validation_errors_say_what_to_do(store):
    with pytest.raises(AuthError, match="at least"):
        store.add_user("alice", "short", "executive")
    with pytest.raises(AuthError, match="one of"):
        store.add_user("alice", PW, "boss")
    with pytest.raises(AuthError, match="--crm-user"):
        store.add_user("alice", PW, "sales_rep")
    store.add_user("alice", PW, "executive")
    with pytest.raises(AuthError, match="already exists"):
        store.add_user("alice", PW, "executive")
    with pytest.raises(AuthError, match="users list"):
        store.set_role("nobody", "executive")


def test_users_cli(tmp_path):
    runner = CliRunner()
    home = ["--home", str(tmp_path)]

    def run(*args):
        return runner.invoke(app, ["users", *args, *home])

    r = run("add", "carol", "--role", "sales_rep", "--crm-user", "USR-0007", "--password", PW)
    assert r.exit_code == 0, r.output
    r = run("add", "dave", "--role", "finance", "--generate")
    assert r.exit_code == 0, r.output
    generated = r.stdout.strip().split("\t")[1]
    store = AuthStore(Settings(home=tmp_path).auth_db_path)
    assert store.login("dave", generated).reason == "ok"
    assert run("set-role", "carol", "sales_manager").exit_code == 0
    assert store.get_user("carol").role == "sales_manager"
    assert run("disable", "carol").exit_code == 0
    assert not store.get_user("carol").is_active
    assert run("reset-password", "dave", "--password", "new-password-1").exit_code == 0
    assert store.login("dave", "new-password-1").reason == "ok"
    r = run("list")
    assert r.exit_code == 0 and "carol" in r.stdout and "dave" in r.stdout
    r = run("set-role", "carol", "king")
    assert r.exit_code == 2 and "unknown role" in r.output
    assert run("audit").exit_code == 0


def test_demo_users_one_per_role_created_once(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "users.csv").write_text(
        "user_id,name,email,role,team_id,team_name,region,manager_id,hire_date,is_active\n"
        "U1,甲,a@x.cn,executive,,,,,2020-01-01,true\n"
        "U2,乙,b@x.cn,sales_manager,T1,一组,east,U1,2020-01-01,true\n"
        "U3,丙,c@x.cn,sales_rep,T1,一组,east,U2,2020-01-01,true\n",
        encoding="utf-8",
    )
    s = Settings(home=tmp_path / "home")
    ensure_demo_users(s, drop)
    store = AuthStore(s.auth_db_path)
    users = {u.username: u for u in store.list_users()}
    assert {u.role for u in users.values()} == {r for _n, r, _d in DEMO_USERS}
    assert users["rep"].crm_user_id == "U3" and users["manager"].crm_user_id == "U2"
    creds = (s.auth_db_path.parent / "demo-credentials.txt").read_text().splitlines()
    assert len(creds) == len(DEMO_USERS)
    for line in creds:
        name, _role, pw = line.split("\t")
        assert store.login(name, pw).reason == "ok"
    ensure_demo_users(s, drop)  # a second run changes nothing
    assert len((s.auth_db_path.parent / "demo-credentials.txt").read_text().splitlines()) == len(DEMO_USERS)


def test_language_defaults_to_zh_and_is_set_per_user(tmp_path):
    home = tmp_path / "home"
    store = AuthStore(Settings(home=home).auth_db_path)
    store.add_user("alice", PW, "executive")
    assert store.get_user("alice").language == "zh"
    r = CliRunner().invoke(app, ["users", "set-language", "alice", "en", "--home", str(home)])
    assert r.exit_code == 0, r.output
    assert store.get_user("alice").language == "en"
    r = CliRunner().invoke(app, ["users", "set-language", "alice", "fr", "--home", str(home)])
    assert r.exit_code == 2 and "unknown language" in r.output
    assert ("alice", "language_changed") in events(store)


def test_a_user_database_without_languages_is_migrated(tmp_path):
    path = tmp_path / "auth.db"
    con = sqlite3.connect(path)  # the users table as releases before the language setting made it
    con.execute(
        """CREATE TABLE users (username TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT NOT NULL,
           crm_user_id TEXT, password_hash TEXT NOT NULL, is_active INTEGER NOT NULL DEFAULT 1,
           failed_attempts INTEGER NOT NULL DEFAULT 0, locked_until TEXT, created_at TEXT NOT NULL,
           updated_at TEXT NOT NULL)"""
    )
    con.execute(
        "INSERT INTO users VALUES ('old', 'Old', 'finance', NULL, 'x', 1, 0, NULL, '2026-01-01T00:00:00+00:00', "
        "'2026-01-01T00:00:00+00:00')"
    )
    con.commit()
    con.close()
    store = AuthStore(path)
    assert store.get_user("old").language == "zh"
    assert store.set_language("old", "en").language == "en"
    AuthStore(path)  # opening a migrated database again changes nothing
    assert store.get_user("old").language == "en"
