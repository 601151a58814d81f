"""The calendar feed (issue 14): ``salescope calendar`` exports and the ``/calendar/{token}.ics`` route of the real
server, on a copy of the published scale-0.05 snapshot with the demo users of ``salescope run``.

Expected events come from SQL written here over the snapshot (not from ``dashboards/ical.py``); the files are
read back with the icalendar library. One server per module (the expensive part).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import duckdb
import pytest
from icalendar import Calendar
from serving import free_port, wait_until_healthy
from typer.testing import CliRunner

from salescope.cli import app

REPO = Path(__file__).resolve().parent.parent
# the feed's links and subscription URLs, in CLI and server alike
PUBLIC_URL = "https://salescope.example.com"


@pytest.fixture(scope="module")
def home(pipeline_copy, drop_factory) -> Path:
    from salescope.commands.users import ensure_demo_users
    from salescope.settings import Settings

    mp = pytest.MonkeyPatch()
    mp.setenv("SALESCOPE_PUBLIC_URL", PUBLIC_URL)
    drop, _ = drop_factory(scale=0.05, seed=7)
    ensure_demo_users(Settings.from_env(pipeline_copy), drop)  # as `salescope run` does
    yield pipeline_copy
    mp.undo()


def cli(home: Path, *args: str):
    return CliRunner().invoke(app, [*args, "--home", str(home)], catch_exceptions=False)


def export(home: Path, user: str, tmp_path: Path) -> dict[str, tuple[date, int, str]]:
    """USER's export as {UID: (DTSTART, SEQUENCE, SUMMARY)} (the file parsed with icalendar)."""
    out = tmp_path / f"{user}-{time.monotonic_ns()}.ics"
    result = cli(home, "calendar", "--for", user, "--out", str(out))
    assert result.exit_code == 0, result.output
    return events_of(out.read_bytes())


def events_of(data: bytes) -> dict[str, tuple[date, int, str]]:
    cal = Calendar.from_ical(data)
    events = cal.walk("VEVENT")
    parsed = {str(e["UID"]): (e["DTSTART"].dt, int(e.get("SEQUENCE", 0)), str(e["SUMMARY"])) for e in events}
    assert len(parsed) == len(events), "duplicate UIDs"
    return parsed


def crm_user(home: Path, username: str) -> str | None:
    from dashboards.auth_store import AuthStore

    return AuthStore(home / "auth" / "auth.db").get_user(username).crm_user_id


def snapshot(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)


def expected(home: Path, *, owner: str | None = None, team_of: str | None = None, deals: bool = True):
    """(UID, DTSTART) the feed must hold: open deals' expected close, unfinished projects' planned end and
    (on the as-of date) overdue tasks, unpaid invoices' due date; rows of ``owner``, of ``team_of``'s team, or
    all."""
    if owner is not None:
        cond, params = "o.owner_user_id = ?", [owner]
    elif team_of is not None:
        cond = "o.team_id = (SELECT team_id FROM marts.dim_users WHERE user_id = ?)"
        params = [team_of]
    else:
        cond, params = "TRUE", []
    con = snapshot(home)
    try:
        (as_of,) = con.execute(
            "SELECT as_of FROM meta.publish_log ORDER BY published_at DESC LIMIT 1"
        ).fetchone()
        out: set[tuple[str, date]] = set()
        if deals:
            for oid, day in con.execute(
                f"SELECT o.opportunity_id, o.expected_close_date FROM marts.fct_opportunities o "
                f"WHERE o.won_at IS NULL AND o.lost_at IS NULL AND o.expected_close_date IS NOT NULL AND {cond}",
                params,
            ).fetchall():
                out.add((f"opportunity-{oid}-close@salescope", day))
        project_join = (
            ""
            if cond == "TRUE"
            else "JOIN marts.mart_collections c ON c.contract_id = p.contract_id "
            "JOIN marts.fct_opportunities o ON o.opportunity_id = c.opportunity_id"
        )
        for pid, end, overdue in con.execute(
            f"SELECT DISTINCT p.project_id, p.planned_end_date, p.overdue_task_count "
            f"FROM marts.mart_project_delivery p {project_join} "
            f"WHERE (p.actual_end_date IS NULL OR p.actual_end_date > ?) AND {cond}",
            [as_of, *params],
        ).fetchall():
            if end is not None:
                out.add((f"project-{pid}-end@salescope", end))
            if overdue:
                out.add((f"project-{pid}-overdue-tasks@salescope", as_of))
        for iid, due in con.execute(
            f"SELECT o.invoice_id, o.due_date FROM marts.fct_invoices o "
            f"WHERE o.unpaid_cny > 0 AND o.due_date IS NOT NULL AND {cond}",
            params,
        ).fetchall():
            out.add((f"invoice-{iid}-due@salescope", due))
        return out
    finally:
        con.close()


def pairs(events: dict[str, tuple[date, int, str]]) -> set[tuple[str, date]]:
    return {(uid, v[0]) for uid, v in events.items()}


# ---- exports -------------------------------------------------------------------------------------------------


def test_a_reps_calendar_is_exactly_their_deals_projects_and_invoices(home, tmp_path):
    rep = crm_user(home, "rep")
    events = export(home, "rep", tmp_path)
    want = expected(home, owner=rep)
    assert {uid.split("-")[0] for uid, _ in want} == {"opportunity", "project", "invoice"}  # a real test
    assert pairs(events) == want
    # no deal of another rep: every deal event is one the rep owns, and other reps' open deals exist
    con = snapshot(home)
    try:
        owners = dict(
            con.execute("SELECT opportunity_id, owner_user_id FROM marts.fct_opportunities").fetchall()
        )
        others = con.execute(
            "SELECT count(*) FROM marts.fct_opportunities WHERE won_at IS NULL AND lost_at IS NULL "
            "AND owner_user_id <> ?",
            [rep],
        ).fetchone()[0]
    finally:
        con.close()
    deal_ids = [uid.removeprefix("opportunity-").removesuffix("-close@salescope") for uid in events]
    assert others > 0
    assert {owners[d] for d in deal_ids if d in owners} == {rep}
    summaries = [s for _, _, s in events.values()]
    assert any(s.startswith("预计成交：") for s in summaries)  # zh by default


def test_finance_gets_every_project_and_invoice_but_no_deals(home, tmp_path):
    events = export(home, "finance", tmp_path)
    want = expected(home, deals=False)
    assert pairs(events) == want
    assert not any(uid.startswith("opportunity-") for uid in events)
    assert any(uid.startswith("invoice-") for uid in events)


def test_a_manager_gets_their_team_and_an_executive_everything(home, tmp_path):
    assert pairs(export(home, "manager", tmp_path)) == expected(home, team_of=crm_user(home, "manager"))
    assert pairs(export(home, "exec", tmp_path)) == expected(home)


def test_roles_without_business_rows_get_a_clear_error(home, tmp_path):
    for user in ("steward", "admin"):
        result = cli(home, "calendar", "--for", user, "--out", str(tmp_path / "x.ics"))
        assert result.exit_code == 2
        assert "no calendar" in result.output
        assert cli(home, "calendar", "token", "--for", user).exit_code == 2
    assert not (tmp_path / "x.ics").exists()
    result = cli(home, "calendar", "--for", "nobody-here", "--out", str(tmp_path / "x.ics"))
    assert result.exit_code == 2 and "salescope users list" in result.output


def test_calendar_without_arguments_shows_help(home):
    result = cli(home, "calendar")
    assert result.exit_code == 0
    assert "token" in result.output and "revoke" in result.output and "--for" in result.output


def test_sequence_is_bumped_only_for_the_event_that_changed(home, tmp_path):
    first = export(home, "rep", tmp_path)
    second = export(home, "rep", tmp_path)
    assert second == first  # same UIDs, dates, sequences
    uid = min(u for u in first if u.startswith("opportunity-"))
    deal_id = uid.removeprefix("opportunity-").removesuffix("-close@salescope")
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"))  # the copy's snapshot, read-write
    try:
        con.execute(
            "UPDATE marts.fct_opportunities SET expected_close_date = expected_close_date + INTERVAL 9 DAY "
            "WHERE opportunity_id = ?",
            [deal_id],
        )
    finally:
        con.close()
    third = export(home, "rep", tmp_path)
    assert third.keys() == first.keys()
    changed = {u for u in third if third[u] != first[u]}
    assert changed == {uid}
    day, seq, _ = third[uid]
    assert (day - first[uid][0]).days == 9 and seq == first[uid][1] + 1


def test_a_user_set_to_english_gets_english_summaries_and_links(home, tmp_path):
    """The other half of issue 14 adds ``language`` to the users; the feed reads it when present."""
    from dataclasses import dataclass

    from dashboards.calendar_tokens import CalendarStore
    from dashboards.db import open_readonly
    from dashboards.ical import user_calendar

    @dataclass(frozen=True)
    class EnglishRep:
        username: str
        display_name: str
        role: str
        crm_user_id: str
        language: str = "en"

    user = EnglishRep("rep-en", "Rep", "sales_rep", crm_user(home, "rep"))
    con = open_readonly(str(home / "serving" / "serving.duckdb"))
    try:
        cal = user_calendar(con, user, CalendarStore(tmp_path / "calendar.db"), PUBLIC_URL)
    finally:
        con.close()
    events = cal.walk("VEVENT")
    assert pairs(events_of(cal.to_ical())) == pairs(export(home, "rep", tmp_path))
    deal = next(e for e in events if str(e["UID"]).startswith("opportunity-"))
    assert str(deal["SUMMARY"]).startswith("Expected close: ")
    assert str(deal["URL"]).startswith(f"{PUBLIC_URL}/deals?deal=OPP-") and str(deal["URL"]).endswith(
        "&lang=en"
    )


# ---- the subscription URL of the real server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(home):
    """`salescope serve` on the module's home; its base URL."""
    port = free_port()
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "salescope.cli", "serve", "--port", str(port), "--home", str(home)],
        env={**os.environ, "PYTHONPATH": str(REPO), "SALESCOPE_PUBLIC_URL": PUBLIC_URL},
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # serve starts streamlit as a child: stop the whole group
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(base, proc, home / "serve.log", lambda: os.killpg(proc.pid, 9))
    yield base
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
    log.close()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type", ""), err.read()


def token_url(home: Path, user: str) -> str:
    result = cli(home, "calendar", "token", "--for", user)
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith(f"{PUBLIC_URL}/calendar/") and url.endswith(".ics")
    return url.removeprefix(PUBLIC_URL)


def test_the_subscription_url_serves_the_same_calendar_until_revoked(home, server, tmp_path):
    path = token_url(home, "rep")
    status, ctype, body = get(server + path)
    assert status == 200 and ctype.startswith("text/calendar")
    assert events_of(body) == export(home, "rep", tmp_path)
    secret = path.removeprefix("/calendar/").removesuffix(".ics")
    db = sqlite_text(home / "calendar" / "calendar.db")
    assert secret not in db  # only its hash is kept

    rotated = token_url(home, "rep")
    assert get(server + path)[0] == 404  # the old URL stops working on rotation
    assert get(server + rotated)[0] == 200
    assert cli(home, "calendar", "revoke", "--for", "rep").exit_code == 0
    status, _, body = get(server + rotated)
    assert status == 404 and body == b"no such calendar"


def test_unknown_and_disabled_tokens_get_the_same_404(home, server):
    from dashboards.auth_store import AuthStore

    unknown = get(f"{server}/calendar/{'x' * 43}.ics")
    assert unknown[0] == 404
    path = token_url(home, "finance")
    assert get(server + path)[0] == 200
    store = AuthStore(home / "auth" / "auth.db")
    store.set_active("finance", False)
    try:
        assert get(server + path) == unknown  # a disabled user's URL looks like an unknown one
    finally:
        store.set_active("finance", True)
    assert get(server + path)[0] == 200


def test_a_token_whose_user_lost_business_rows_serves_an_empty_calendar(home, server):
    from dashboards.auth_store import AuthStore

    path = token_url(home, "exec")
    store = AuthStore(home / "auth" / "auth.db")
    store.set_role("exec", "data_steward")
    try:
        status, ctype, body = get(server + path)
    finally:
        store.set_role("exec", "executive")
    assert status == 200 and ctype.startswith("text/calendar")
    assert events_of(body) == {}  # subscribed clients drop the events they had


def sqlite_text(path: Path) -> str:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        return " ".join(str(v) for row in con.execute("SELECT * FROM calendar_tokens") for v in row)
    finally:
        con.close()
