"""Reaching people (salescope.notify): digests and alerts through real apprise targets — a local HTTP receiver
behind ``json://`` and a local SMTP server (aiosmtpd) behind ``mailto://`` — on a copy of the published
pipeline home, checked against independent SQL over the snapshot's marts."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller
from serving import free_port
from typer.testing import CliRunner

from dashboards.auth_store import AuthStore
from salescope.cli import app
from salescope.commands.users import ensure_demo_users
from salescope.notify import catalog, service
from salescope.notify.digest import due_roles
from salescope.notify.log import NotifyLog
from salescope.settings import REPO_ROOT, Settings


class Receiver:
    """A real HTTP server on 127.0.0.1 that keeps every JSON body apprise posts to it."""

    def __init__(self):
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.bodies.append(json.loads(data))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def titles(self) -> list[str]:
        return [b.get("title", "") for b in self.bodies]


class Mailbox:
    def __init__(self):
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture(scope="module")
def world(pipeline_copy):
    """The copy of the published home with the demo users, a chat receiver and a mail server."""
    home = Path(pipeline_copy)
    s = Settings.from_env(home)
    drop = next((home.parent.parent / "drop-0.05-7-0.0-csv-utf-8").glob("users.csv"), None)
    drop_dir = drop.parent if drop else _drop_from_snapshot(s, home)
    ensure_demo_users(s, drop_dir)
    http = Receiver()
    mailbox = Mailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    closed = free_port()
    s.notify_config_path.write_text(
        "urls:\n"
        f"  - json://127.0.0.1:{http.port}/:\n      tag: rep, manager, data_steward\n"
        f"  - mailto://127.0.0.1:{smtp_port}?smtp=127.0.0.1&from=salescope@example.com&to=fin@example.com&mode=insecure:\n"
        "      tag: finance\n"
        f"  - json://127.0.0.1:{closed}/?+X-Token=sekrit-token-123:\n      tag: broken\n",
        encoding="utf-8",
    )
    yield s, http, mailbox
    controller.stop()
    http.server.shutdown()


def _drop_from_snapshot(s: Settings, home: Path) -> Path:
    """users.csv as the demo drop has it, rebuilt from the snapshot's dim_users (same rule: first manager)."""
    con = duckdb.connect(str(s.serving_path), read_only=True)
    rows = con.execute(
        "SELECT user_id, role, team_id, is_active FROM marts.dim_users ORDER BY user_id"
    ).fetchall()
    con.close()
    out = home / "drop"
    out.mkdir(exist_ok=True)
    lines = ["user_id,role,team_id,is_active"] + [
        f"{u},{r},{t or ''},{str(a).lower()}" for u, r, t, a in rows
    ]
    (out / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _sql(s: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(s.serving_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _crm(s: Settings, username: str) -> str:
    return AuthStore(s.auth_db_path).get_user(username).crm_user_id


def test_catalog_has_every_key_in_both_languages():
    zh, en = catalog.TEXTS["zh"], catalog.TEXTS["en"]
    assert set(zh) == set(en)
    assert all(v.strip() for v in [*zh.values(), *en.values()])


def test_the_schedule_rule():
    from datetime import date

    assert due_roles(date(2026, 6, 29)) == {"sales_rep", "sales_manager", "finance"}  # a Monday
    assert due_roles(date(2026, 6, 30)) == {"sales_rep", "finance"}


def test_rep_digest_names_exactly_the_reps_deals(world):
    s, _http, _mail = world
    rep = _crm(s, "rep")
    d = service.digests(s, username="rep").digests[0]
    as_of = d.content.as_of
    stalled = {
        r[0]
        for r in _sql(
            s, "SELECT opportunity_id FROM marts.mart_deal_risk WHERE is_stalled AND owner_user_id = ?", [rep]
        )
    }
    past = {
        r[0]
        for r in _sql(
            s,
            "SELECT opportunity_id FROM marts.fct_opportunities WHERE is_open AND expected_close_date < ? AND owner_user_id = ?",
            [as_of, rep],
        )
    }
    invoices = {
        r[0]
        for r in _sql(
            s, "SELECT invoice_id FROM marts.fct_invoices WHERE is_overdue AND owner_user_id = ?", [rep]
        )
    }
    by_key = {sec.key: sec for sec in d.content.sections}
    assert by_key["section.stalled"].total == len(stalled) > 0
    shown = {line.values["deal_id"] for line in by_key["section.stalled"].lines}
    assert shown <= stalled and len(shown) == min(len(stalled), 10)
    assert ("section.past_close" in by_key) == bool(past)
    assert by_key["section.overdue"].total == len(invoices)
    assert {line.values["invoice"] for line in by_key["section.overdue"].lines} <= invoices
    owners = {
        r[0]
        for r in _sql(
            s,
            "SELECT DISTINCT owner_user_id FROM marts.fct_opportunities WHERE opportunity_id IN (SELECT unnest(?))",
            [sorted(d.content.deal_ids)],
        )
    }
    assert owners == {rep}  # no deal of another rep
    text = d.message.text
    assert "停滞商机" in text and f"{s.public_url}/deals?deal=" in text
    for line in by_key["section.stalled"].lines:
        assert f"{line.values['deal_id']} {line.values['deal_name']}" in text


def test_english_digest_and_nothing_to_report(world):
    s, _http, _mail = world
    store = AuthStore(s.auth_db_path)
    store.set_language("rep", "en")
    try:
        text = service.digests(s, username="rep").digests[0].message.text
    finally:
        store.set_language("rep", "zh")
    assert "Stalled deals" in text and "lang=en" in text and "停滞" not in text
    from datetime import date

    from salescope.notify.content import Content
    from salescope.notify.render import render

    for lang in ("zh", "en"):
        quiet = render(Content("rep_daily", date(2026, 6, 30), ()), "x", lang, s.public_url).text
        assert catalog.t("digest.nothing", lang) in quiet


def test_manager_digest_figures_equal_sql(world):
    s, _http, _mail = world
    mgr = _crm(s, "manager")
    (team,) = _sql(s, "SELECT team_id FROM marts.dim_users WHERE user_id = ?", [mgr])[0]
    d = service.digests(s, username="manager").digests[0]
    as_of = d.content.as_of
    by_key = {sec.key: sec for sec in d.content.sections}
    month = as_of.replace(day=1)
    q_start = month.replace(month=(month.month - 1) // 3 * 3 + 1)
    for line in by_key["section.attainment"].lines:
        start = month if line.values["span"] == "month" else q_start
        bookings, quota = _sql(
            s,
            "SELECT sum(bookings_cny)::DOUBLE, sum(quota_cny)::DOUBLE FROM marts.mart_rep_performance "
            "WHERE team_id = ? AND month BETWEEN ? AND ?",
            [team, start, month],
        )[0]
        assert line.values["bookings"] == pytest.approx(bookings)
        assert line.values["quota"] == pytest.approx(quota)
        assert catalog.money(bookings, "zh") in d.message.text
    for line in by_key["section.forecast"].lines:
        (want,) = _sql(
            s,
            "SELECT forecast_cny FROM ml.forecast WHERE level = 'team' AND group_id = ? AND component = 'total' "
            "AND period_type = ? AND period_end >= ? ORDER BY period LIMIT 1",
            [team, line.values["period_type"], as_of],
        )[0]
        assert line.values["forecast_cny"] == pytest.approx(want)
    neck = by_key["section.bottleneck"].lines[0].values
    rates = _sql(
        s,
        "SELECT stage, sum(passed_count) / sum(reached_count) FROM marts.mart_funnel WHERE team_id = ? "
        "AND stage <> 'contract_signed' AND cohort_month > ? - INTERVAL 12 MONTH AND cohort_month <= ? "
        "GROUP BY stage HAVING sum(reached_count) > 0 ORDER BY 2 LIMIT 1",
        [team, month, month],
    )
    assert (neck["stage"], neck["conversion"]) == (rates[0][0], pytest.approx(rates[0][1]))


def test_digests_arrive_once_mail_has_html_and_scores_change_since_last(world):
    s, http, mailbox = world
    result = service.digests(s, send_them=True)
    assert {d.recipient.username for d in result.digests} == {"rep", "manager", "finance"}
    assert sum(o.status == "delivered" for o in result.outcomes) == 3
    assert any("Demo 销售 ·" in t for t in http.titles()) and any("Demo 销售主管" in t for t in http.titles())
    assert len(mailbox.messages) == 1 and "text/html" in mailbox.messages[0]
    again = service.digests(s, send_them=True)  # the same as-of: nothing new
    assert {o.status for o in again.outcomes} == {"skipped"} and len(mailbox.messages) == 1
    # what the rep was last sent is remembered: a changed score shows as a change since the last digest
    log = NotifyLog(s.notify_dir)
    sent = log.last_scores("rep")
    deal = sorted(sent)[0]
    log.remember_scores("rep", {**sent, deal: sent[deal] - 7}, "2026-06-29")
    text = service.digests(s, username="rep").digests[0].message.text
    assert f"{deal}" in text and "（+7）" in text and "评分变化" in text


def test_alerts_fire_once_and_a_crash_after_sending_is_not_repeated(world):
    s, http, _mail = world
    notes = service.alert_notes(s)
    rep = _crm(s, "rep")
    stalled = _sql(
        s, "SELECT count(*) FROM marts.mart_deal_risk WHERE is_stalled AND owner_user_id = ?", [rep]
    )[0][0]
    assert sum(n.key.startswith("stalled:") and "rep" in n.tags for n in notes) == stalled
    before = len(http.bodies)
    # the first alert is sent, then the process dies before recording it
    env = {
        **os.environ,
        "SALESCOPE_HOME": str(s.home),
        "SALESCOPE_FAILPOINT": "notify.after_send",
        "PYTHONPATH": str(REPO_ROOT),
    }
    cmd = [sys.executable, "-m", "salescope.cli", "alerts", "--send"]
    crashed = subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    assert len(http.bodies) == before + 1
    first = service.send_notes(s, notes)
    delivered = [o for o in first if o.status == "delivered"]
    to_chat = [o for o in delivered if o.target.startswith("json://")]
    assert len(http.bodies) == before + 1 + len(to_chat)  # the crashed one is not sent again
    assert (
        len(delivered) + 1
        == sum(1 for o in first if o.status != "no_target")
        - sum(1 for o in first if o.status == "skipped")
        + 1
    )
    assert [o.status for o in first].count("skipped") == 1  # the one sent before the crash
    second = service.send_notes(s, notes)
    assert not [o for o in second if o.status == "delivered"]
    assert len(http.bodies) == before + 1 + len(to_chat)
    con = sqlite3.connect(s.notify_dir / "ops.sqlite")
    unknown = con.execute(
        "SELECT count(*), min(error) FROM notification_log WHERE status = 'unknown'"
    ).fetchone()
    con.close()
    assert unknown[0] == 1 and "not resent" in unknown[1]


def test_a_failing_target_is_logged_redacted_and_test_exits_non_zero(world):
    s, http, _mail = world
    runner = CliRunner()
    r = runner.invoke(app, ["notify", "test", "broken", "--home", str(s.home)])
    assert r.exit_code == 1 and "sekrit" not in r.output
    r = runner.invoke(app, ["notify", "test", "nobody-has-this", "--home", str(s.home)])
    assert r.exit_code == 1 and "no target" in r.output
    r = runner.invoke(app, ["notify", "test", "rep", "--home", str(s.home)])
    assert r.exit_code == 0 and "Salescope" in http.titles()[-1]
    r = runner.invoke(app, ["notify", "targets", "--home", str(s.home)])
    assert r.exit_code == 0 and "sekrit" not in r.output
    con = sqlite3.connect(s.notify_dir / "ops.sqlite")
    rows = con.execute("SELECT status, error, target FROM notification_log WHERE tag = 'broken'").fetchall()
    con.close()
    assert rows and all(st == "failed" and err for st, err, _t in rows)
    assert all("sekrit" not in (err + target) for _s, err, target in rows)


def test_a_run_that_published_nothing_alerts_the_stewards_once(world):
    s, http, _mail = world
    failures = [
        ("quality_gate", "quality gate failed; Blocking failures:\n  marts_contract: not_null opportunity_id")
    ]
    first = service.report_run(s, "run-abc-123", failures)
    assert [o.status for o in first] == ["delivered"]
    body = http.bodies[-1]
    assert "not_null opportunity_id" in body["message"] and "质量关卡" in body["message"]
    assert [o.status for o in service.report_run(s, "run-abc-123", failures)] == ["skipped"]
