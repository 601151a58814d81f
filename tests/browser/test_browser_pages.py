"""Every role on every page of a snapshot the real pipeline published (scale 0.05, seed 7), in a real browser:
the key figures on screen equal the marts (computed here in SQL, independently of the dashboard's queries),
in Chinese and in English, nothing beyond the role's pages, and at 390 px nothing scrolls sideways.

Each page's check is in EXPECTED (metric cards), CAPTIONS (captions word for word) and ROWS (table rows):
2-6 figures a page that a wrong scope, period, filter or formula would change.

Screenshots: tests/browser/screenshots/real-<role>-<page>-<lang>-{desktop,phone}.png (git-ignored)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from test_browser_dashboards import DESKTOP, ERROR_TEXT, PHONE, SCREENSHOTS, phone_layout, settle

from dashboards import formatting as fmt
from dashboards.access import PAGES, pages_for
from dashboards.cookie_bridge import COOKIE_NAME
from dashboards.i18n import STRINGS
from dashboards.testing import TEST_PASSWORD, ensure_user

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
BUSINESS_ROLES = ("sales_rep", "sales_manager", "finance", "executive")
TIMINGS: dict[str, float] = {}


@dataclass(frozen=True)
class Who:
    role: str
    crm_user_id: str | None
    team_id: str | None

    def deal_where(self, alias: str = "o") -> tuple[str, list]:
        """The role's rows of an opportunity-grained table (DESIGN.md access table), written out here."""
        if self.role == "sales_rep":
            return f"{alias}.owner_user_id = ?", [self.crm_user_id]
        if self.role == "sales_manager":
            return f"{alias}.team_id = ?", [self.team_id]
        return "TRUE", []

    def person_where(self, user: str, team: str) -> tuple[str, list]:
        """The role's rows of a per-person table (user and team columns)."""
        if self.role == "sales_rep":
            return f"{user} = ?", [self.crm_user_id]
        if self.role == "sales_manager":
            return f"{team} = ?", [self.team_id]
        return "TRUE", []

    def account_where(self, alias: str = "a") -> tuple[str, list]:
        """The role's accounts, by their owner: a rep's own, a manager's those of the team's members."""
        if self.role == "sales_rep":
            return f"{alias}.owner_user_id = ?", [self.crm_user_id]
        if self.role == "sales_manager":
            return (
                f"{alias}.owner_user_id IN (SELECT u.user_id FROM marts.dim_users AS u WHERE u.team_id = ?)",
                [self.team_id],
            )
        return "TRUE", []

    @property
    def sees_everything(self) -> bool:
        return self.role in ("finance", "executive")


WHO: dict[str, Who] = {}


@pytest.fixture(scope="module")
def browser_home(tmp_path_factory, pipeline_home) -> Path:
    """Overrides conftest's fixture for this module: the pipeline's snapshot and one user per role, the rep
    being the one with the most open deals and the manager that rep's team manager."""
    home = tmp_path_factory.mktemp("real-browser-home")
    shutil.copytree(pipeline_home / "serving", home / "serving")
    con = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    try:
        rep, team = con.execute(
            "SELECT owner_user_id, team_id FROM marts.fct_opportunities WHERE is_open GROUP BY ALL "
            "ORDER BY count(*) DESC, owner_user_id LIMIT 1"
        ).fetchone()
        (manager,) = con.execute(
            "SELECT min(user_id) FROM marts.dim_users WHERE role = 'sales_manager' AND team_id = ?", [team]
        ).fetchone()
    finally:
        con.close()
    for role, crm, team_id in (
        ("sales_rep", rep, team),
        ("sales_manager", manager, team),
        ("finance", None, None),
        ("executive", None, None),
        ("data_steward", None, None),
        ("admin", None, None),
    ):
        ensure_user(home, f"real_{role}", role, crm)
        WHO[role] = Who(role, crm, team_id)
    return home


@pytest.fixture(scope="module")
def serving(browser_home):
    con = duckdb.connect(str(browser_home / "serving" / "serving.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module", autouse=True)
def keep_timings(server, browser):
    """One throwaway visit first, so the server's module imports are not counted as a user's first render."""
    ctx = browser.new_context()
    warm = ctx.new_page()
    warm.goto(server)
    warm.get_by_label(STRINGS["zh"]["login.username"]).wait_for(timeout=30_000)
    ctx.close()
    yield
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "timings-real.json").write_text(json.dumps(TIMINGS, indent=1))


# ---- what the page shows ---------------------------------------------------------------------------


_METRICS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(card => [
    (card.querySelector('[data-testid="stMetricLabel"]')?.innerText ?? '').trim(),
    (card.querySelector('[data-testid="stMetricValue"]')?.innerText ?? '').trim()])"""
_CAPTIONS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'))
    .map(c => c.innerText.trim())"""


# the first st.dataframe's rows, from the accessible table the grid keeps in the DOM beside its canvas
_ROWS_JS = """() => { const table = document.querySelector('[data-testid="stDataFrame"] table');
    return table ? Array.from(table.querySelectorAll('tr')).map(r => Array.from(r.querySelectorAll('td'))
        .map(td => td.innerText.trim())).filter(r => r.length) : []; }"""


def metrics(page) -> dict[str, str]:
    """label -> value of every st.metric card on the page (read in one round trip)."""
    return dict(page.evaluate(_METRICS_JS))


def captions(page) -> list[str]:
    return page.evaluate(_CAPTIONS_JS)


def wait_for(page, js: str, wanted: list[str], timeout_ms: int = 10_000) -> None:
    """Wait until every wanted text is among ``js``'s texts: a page can finish a run and still rerun once
    (a widget syncing the URL), so the cards may come a moment after the first settle. On a timeout the
    assertions that follow report what is on screen."""
    if not wanted:
        return
    with contextlib.suppress(sync_api.TimeoutError):
        page.wait_for_function(
            f"wanted => {{ const shown = new Set(({js})().map(x => Array.isArray(x) ? x[0] : x));"
            " return wanted.every(w => shown.has(w)); }",
            arg=wanted,
            timeout=timeout_ms,
        )


def login(page, server: str, role: str, lang: str) -> float:
    zh = STRINGS["zh"]
    page.goto(f"{server}/?lang={lang}" if lang != "zh" else server)
    # exact: "Password" is also in the label of the show-password button
    page.get_by_label(STRINGS[lang]["login.username"], exact=True).fill(f"real_{role}")
    page.get_by_label(STRINGS[lang]["login.password"], exact=True).fill(TEST_PASSWORD)
    started = time.monotonic()
    page.get_by_role("button", name=STRINGS[lang]["login.submit"]).click()
    page.get_by_role("heading", level=1).filter(has_not_text=zh["login.title"]).first.wait_for(timeout=20_000)
    return time.monotonic() - started


# ---- the figures each page must show, from the marts -------------------------------------------------
# Each function computes, in SQL written here from the base facts (or the one mart that is the source of a
# figure), what the page's cards show by default (no widget touched), formatted as the page formats it.


def _as_of(con) -> date:
    return con.execute("SELECT as_of FROM meta.publish_log ORDER BY published_at DESC LIMIT 1").fetchone()[0]


def _next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


def _count(n: object) -> str:
    return fmt.NO_VALUE if n is None else f"{int(n):,}"


def _ratio(num: object, den: object) -> float | None:
    return float(num) / float(den) if den else None


def _has(con, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def latest_complete_month(as_of: date) -> date:
    """The overview's month: the as-of month when as_of is its last day, else the month before."""
    first = as_of.replace(day=1)
    if (as_of + timedelta(days=1)).month != as_of.month:
        return first
    return (first - timedelta(days=1)).replace(day=1)


def expect_overview(con, who: Who, lang: str) -> dict[str, str]:
    month = latest_complete_month(_as_of(con))
    where, params = who.deal_where()
    bookings, won, lost = con.execute(
        f"""SELECT coalesce(sum(amount_cny) FILTER (WHERE date_trunc('month', won_at) = ?), 0),
                   count(*) FILTER (WHERE date_trunc('month', won_at) = ?),
                   count(*) FILTER (WHERE date_trunc('month', lost_at) = ?)
            FROM marts.fct_opportunities AS o WHERE {where}""",
        [month, month, month, *params],
    ).fetchone()
    s = STRINGS[lang]
    out = {s["kpi.bookings"]: fmt.money(float(bookings), lang)}
    if won + lost:
        out[s["kpi.win_rate"]] = fmt.percent(won / (won + lost))
    return out


def expect_performance(con, who: Who, lang: str) -> dict[str, str]:
    """The as-of month (the newest month, the default): bookings, win rate and the pipeline open on the as-of
    date from the deals; attainment against the month's quota of the people in scope."""
    as_of = _as_of(con)
    start, end = as_of.replace(day=1), _next_month(as_of)
    where, params = who.deal_where()
    bookings, won, lost, pipeline = con.execute(
        f"""SELECT coalesce(sum(amount_cny) FILTER (WHERE won_at >= ? AND won_at < ?), 0),
                   count(*) FILTER (WHERE won_at >= ? AND won_at < ?),
                   count(*) FILTER (WHERE lost_at >= ? AND lost_at < ?),
                   coalesce(sum(amount_cny) FILTER (WHERE created_at::DATE <= ? AND (won_at IS NULL OR won_at::DATE > ?)
                                                    AND (lost_at IS NULL OR lost_at::DATE > ?)), 0)
            FROM marts.fct_opportunities AS o WHERE {where}""",
        [start, end, start, end, start, end, as_of, as_of, as_of, *params],
    ).fetchone()
    mine, mine_params = who.person_where("r.user_id", "r.team_id")
    (quota,) = con.execute(
        f"SELECT sum(r.quota_cny) FROM marts.mart_rep_performance AS r WHERE r.month = ? AND {mine}",
        [start, *mine_params],
    ).fetchone()
    s = STRINGS[lang]
    return {
        s["perf.kpi.bookings"]: fmt.money(float(bookings), lang),
        s["perf.kpi.win_rate"]: fmt.percent(_ratio(won, won + lost)),
        s["perf.kpi.attainment"]: fmt.percent(_ratio(bookings, quota)),
        s["perf.kpi.pipeline"]: fmt.money(float(pipeline), lang),
    }


def expect_forecast(con, who: Who, lang: str) -> dict[str, str]:
    """The newest month (the default) for the company, or a manager's team: booked to date and the open
    pipeline expected to close in it from the deals, the quota of the people in it, and the coverage."""
    as_of = _as_of(con)
    (start,) = con.execute(
        "SELECT max(period_start) FROM marts.mart_forecast WHERE period_type = 'month'"
    ).fetchone()
    end = _next_month(start)
    where, params = who.deal_where()
    booked, in_period = con.execute(
        f"""SELECT coalesce(sum(amount_cny) FILTER (WHERE won_at >= ? AND won_at < ? AND won_at::DATE <= ?), 0),
                   coalesce(sum(amount_cny) FILTER (WHERE is_open AND expected_close_date >= ?
                                                    AND expected_close_date < ?), 0)
            FROM marts.fct_opportunities AS o WHERE {where}""",
        [start, end, as_of, start, end, *params],
    ).fetchone()
    mine, mine_params = who.person_where("r.user_id", "r.team_id")
    (quota,) = con.execute(
        f"SELECT sum(r.quota_cny) FROM marts.mart_rep_performance AS r WHERE r.month = ? AND {mine}",
        [start, *mine_params],
    ).fetchone()
    gap = float(quota or 0) - float(booked)
    s = STRINGS[lang]
    return {
        s["fc.kpi.booked"]: fmt.money(float(booked), lang),
        s["fc.kpi.in_period"]: fmt.money(float(in_period), lang),
        s["fc.kpi.quota"]: fmt.money(None if quota is None else float(quota), lang),
        s["fc.kpi.coverage"]: f"{float(in_period) / gap:.2f}" if gap > 0 else fmt.NO_VALUE,
    }


def expect_funnel(con, who: Who, lang: str) -> dict[str, str]:
    """The newest 12 created-month cohorts (the default): deals that entered the funnel and deals that reached
    won, counted from the stage transitions."""
    where, params = who.deal_where()
    entered, won = con.execute(
        f"""WITH d AS (SELECT o.opportunity_id, date_trunc('month', o.created_date) AS cohort
                       FROM marts.fct_opportunities AS o WHERE {where}),
                 t AS (SELECT d.opportunity_id, d.cohort, bool_or(t.stage = 'won') AS won
                       FROM d JOIN marts.fct_stage_transitions AS t ON t.opportunity_id = d.opportunity_id
                       WHERE t.stage_order IS NOT NULL GROUP BY ALL),
                 c AS (SELECT DISTINCT cohort FROM t ORDER BY cohort DESC LIMIT 12)
            SELECT count(*), count(*) FILTER (WHERE won) FROM t WHERE cohort IN (SELECT cohort FROM c)""",
        params,
    ).fetchone()
    s = STRINGS[lang]
    return {
        s["fn.kpi.entered"]: _count(entered),
        s["fn.kpi.won"]: _count(won),
        s["fn.kpi.overall"]: fmt.percent(_ratio(won, entered)),
    }


def caption_deals(con, who: Who, lang: str) -> list[str]:
    """The list's caption: open deals in scope (from the deals), how many of them are stalled (mart_deal_risk)."""
    where, params = who.deal_where()
    (n,) = con.execute(
        f"SELECT count(*) FROM marts.fct_opportunities AS o WHERE o.is_open AND {where}", params
    ).fetchone()
    (stalled,) = con.execute(
        f"SELECT count(*) FILTER (WHERE o.is_stalled) FROM marts.mart_deal_risk AS o WHERE {where}", params
    ).fetchone()
    return [STRINGS[lang]["deals.caption_risk"].format(n=n, stalled=stalled)]


def expect_customers(con, who: Who, lang: str) -> dict[str, str]:
    """Accounts of the scope (by owner): customers (a won deal), repurchase rate (second win within 12 months
    of the first, over customers whose first win is 12+ months before the as-of date), at-risk accounts."""
    as_of = _as_of(con)
    where, params = who.account_where("a")
    customers, repurchase = con.execute(
        f"""WITH w AS (SELECT account_id, won_at, row_number() OVER (PARTITION BY account_id ORDER BY won_at) AS k
                       FROM marts.fct_opportunities WHERE is_won),
                 c AS (SELECT account_id, min(won_at) FILTER (WHERE k = 1) AS first_won,
                              min(won_at) FILTER (WHERE k = 2) AS second_won FROM w GROUP BY 1)
            SELECT count(c.account_id),
                   avg(CASE WHEN c.second_won <= c.first_won + INTERVAL 12 MONTH THEN 1.0 ELSE 0.0 END)
                       FILTER (WHERE c.first_won::DATE + INTERVAL 12 MONTH <= ?)
            FROM marts.dim_accounts AS a LEFT JOIN c ON c.account_id = a.account_id WHERE {where}""",
        [as_of, *params],
    ).fetchone()
    s = STRINGS[lang]
    out = {s["cust.kpi.customers"]: _count(customers), s["cust.kpi.repurchase"]: fmt.percent(repurchase)}
    if _has(con, "ml.customer_ltv"):
        (at_risk,) = con.execute(
            f"""SELECT count(*) FROM marts.dim_accounts AS a JOIN ml.customer_ltv AS l ON l.account_id = a.account_id
                WHERE l.lifecycle = 'at_risk' AND {where}""",
            params,
        ).fetchone()
        out[s["cust.kpi.at_risk"]] = _count(at_risk)
    return out


def expect_delivery(con, who: Who, lang: str) -> dict[str, str]:
    """All projects (no status picked): count, overdue tasks, median schedule variance, share late."""
    projects, overdue, variance, late = con.execute(
        """SELECT count(*), sum(overdue_task_count), median(schedule_variance_days),
                  count(*) FILTER (WHERE schedule_variance_days > 0) / count(schedule_variance_days)
           FROM marts.mart_project_delivery"""
    ).fetchone()
    s = STRINGS[lang]
    return {
        s["money.dlv.kpi.projects"]: _count(projects),
        s["money.dlv.kpi.overdue_tasks"]: _count(overdue or 0),
        s["money.dlv.kpi.variance"]: fmt.days(variance, lang, signed=True),
        s["money.dlv.kpi.late_share"]: fmt.percent(late),
    }


def expect_channels(con, who: Who, lang: str) -> dict[str, str]:
    """The last 12 months up to the as-of month (the default): spend, leads, linear-attribution ROI."""
    as_of = _as_of(con)
    (hi,) = con.execute("SELECT max(month) FROM marts.mart_channel_roi WHERE month <= ?", [as_of]).fetchone()
    lo = _next_month(hi.replace(year=hi.year - 1))
    spend, leads, linear = con.execute(
        "SELECT sum(spend_cny), sum(leads), sum(bookings_linear_cny) FROM marts.mart_channel_roi "
        "WHERE month >= ? AND month <= ?",
        [lo, hi],
    ).fetchone()
    s = STRINGS[lang]
    roi = _ratio(float(linear) - float(spend), spend)
    return {
        s["money.chn.kpi.spend"]: fmt.money(float(spend), lang),
        s["money.chn.kpi.leads"]: _count(leads),
        s["money.chn.kpi.roi"]: fmt.NO_VALUE if roi is None else f"{roi:.2f}",
    }


def expect_collections(con, who: Who, lang: str) -> dict[str, str]:
    """The scope's invoices (they carry their deal's owner and team): invoiced, collected, unpaid, unpaid more
    than 90 days past due; contract value of the scope's deals; DSO of the as-of month for whole-company roles."""
    where, params = who.deal_where("i")
    invoiced, collected, unpaid, over_90 = con.execute(
        f"""SELECT coalesce(sum(amount_cny), 0), coalesce(sum(collected_cny), 0), coalesce(sum(unpaid_cny), 0),
                   coalesce(sum(unpaid_cny) FILTER (WHERE days_past_due > 90), 0)
            FROM marts.fct_invoices AS i WHERE {where}""",
        params,
    ).fetchone()
    deals, deal_params = who.deal_where()
    (contracts,) = con.execute(
        f"""SELECT sum(c.contract_value_cny) FROM marts.mart_collections AS c
            JOIN marts.fct_opportunities AS o ON o.opportunity_id = c.opportunity_id WHERE {deals}""",
        deal_params,
    ).fetchone()
    s = STRINGS[lang]
    out = {
        s["money.coll.kpi.contract_value"]: fmt.money(float(contracts), lang),
        s["money.coll.kpi.invoiced"]: fmt.money(float(invoiced), lang),
        s["money.coll.kpi.collected"]: fmt.money(float(collected), lang),
        s["money.coll.kpi.receivables"]: fmt.money(float(unpaid), lang),
        s["money.coll.kpi.over_90"]: fmt.money(float(over_90), lang),
    }
    if who.sees_everything:
        row = con.execute(
            "SELECT dso FROM marts.mart_dso_monthly WHERE month <= ? ORDER BY month DESC LIMIT 1",
            [_as_of(con)],
        ).fetchone()
        if row:
            out[s["money.coll.kpi.dso"]] = fmt.days(row[0], lang)
    return out


def expect_quality(con, who: Who, lang: str) -> dict[str, str]:
    """The checks of the run that published the snapshot, and how many failed."""
    checks, failed = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE NOT success) FROM quality.validation_results
           WHERE run_id = (SELECT run_id FROM meta.publish_log ORDER BY published_at DESC LIMIT 1)"""
    ).fetchone()
    s = STRINGS[lang]
    return {s["quality.checks"]: _count(checks), s["quality.failed_checks"]: _count(failed)}


def rows_users(con, who: Who, lang: str) -> list[set[str]]:
    """Every sign-in user of the module, with their role (translated) and CRM user id, in the users table."""
    return [{f"real_{w.role}", STRINGS[lang][f"role.{w.role}"], w.crm_user_id or ""} for w in WHO.values()]


EXPECTED = {
    "overview": expect_overview,
    "performance": expect_performance,
    "forecast": expect_forecast,
    "funnel": expect_funnel,
    "customers": expect_customers,
    "delivery": expect_delivery,
    "channels": expect_channels,
    "collections": expect_collections,
    "quality": expect_quality,
}
# page -> function(con, who, lang) -> captions (st.caption) the page must show, word for word
CAPTIONS = {"deals": caption_deals}
# page -> function(con, who, lang) -> sets of cells that some row of the page's first table must hold
ROWS = {"users": rows_users}


def check_page(page, con, who: Who, key: str, lang: str) -> None:
    where = f"{who.role}/{key}/{lang}"
    assert page.get_by_test_id("stException").count() == 0, where
    body = page.get_by_test_id("stMain").inner_text()
    assert not ERROR_TEXT.search(body), (where, body[:500])
    assert STRINGS[lang]["page.no_rows"] not in body or key == "deals", where
    expected = EXPECTED.get(key, lambda *_: {})(con, who, lang)
    wait_for(page, _METRICS_JS, list(expected))
    shown = metrics(page)
    if lang == "en":  # an English page has no Chinese label left (data values may be Chinese)
        assert not [m for m in shown if re.search(r"[\u4e00-\u9fff]", m)], (where, shown)
    for label, value in expected.items():
        assert shown.get(label) == value, (where, label, value, shown)
    wanted = CAPTIONS.get(key, lambda *_: [])(con, who, lang)
    wait_for(page, _CAPTIONS_JS, wanted)
    shown_captions = captions(page)
    for text in wanted:
        assert text in shown_captions, (where, text, shown_captions)
    rows = ROWS.get(key, lambda *_: [])(con, who, lang)
    if rows:
        with contextlib.suppress(sync_api.TimeoutError):  # the grid fills its table a moment after the run
            page.wait_for_function(
                f"wanted => {{ const rows = ({_ROWS_JS})();"
                " return wanted.every(w => rows.some(r => w.every(c => r.includes(c)))); }",
                arg=[sorted(cells) for cells in rows],
                timeout=10_000,
            )
        shown_rows = [set(r) for r in page.evaluate(_ROWS_JS)]
        for cells in rows:
            assert any(cells <= r for r in shown_rows), (where, cells, shown_rows)


# Streamlit scrolls inside stMain (the document itself never scrolls): its size is the page's
_MAIN_SIZE_JS = """() => { const m = document.querySelector('[data-testid="stMain"]');
    return m ? [m.scrollWidth, m.clientWidth, m.scrollHeight] : [0, 0, 0]; }"""


def shoot_phone(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    phone_layout(page)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    main_width, main_visible, main_height = page.evaluate(_MAIN_SIZE_JS)
    # the whole page on the phone screenshot: a viewport as tall as the scrolled content (full_page only
    # sees the document, which is one screen high)
    page.set_viewport_size({"width": PHONE["width"], "height": max(PHONE["height"], min(main_height, 8_000))})
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"))
    page.set_viewport_size(DESKTOP)
    assert width <= PHONE["width"] + 1, f"{name}: the page scrolls sideways at 390 px ({width}px)"
    assert main_width <= main_visible + 1, f"{name}: the page scrolls sideways at 390 px ({main_width}px)"


# every page in Chinese for every role; in English every page through the executive (who has all business
# pages), a rep's scoped pages, and the steward's and admin's one page each (the module stays within budget)
COMBINATIONS = [
    *((role, "zh") for role in (*BUSINESS_ROLES, "data_steward", "admin")),
    ("executive", "en"),
    ("sales_rep", "en"),
    ("data_steward", "en"),
    ("admin", "en"),
]
# one test per (role, page, language): a failure on one page never hides the others
CASES = [(role, spec.key, lang) for role, lang in COMBINATIONS for spec in pages_for(role)]
# at phone width: every page of the executive's, and each role's landing page
PHONE_CASES = [c for c in CASES if c[0] == "executive" or c[1] == pages_for(c[0])[0].key]


@pytest.fixture(scope="module")
def signed_in(browser, server):
    """(role, lang) -> a browser context signed in once through the login form; each page's test opens a
    new tab in it, which the session cookie keeps signed in (what a user's bookmark does)."""
    contexts: dict[tuple[str, str], object] = {}

    def get(role: str, lang: str):
        if (role, lang) not in contexts:
            ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
            first = ctx.new_page()
            # recorded, not asserted: speed is the bench's business (a timed test fails on a busy machine)
            TIMINGS[f"{role}/{lang}: login to first page"] = round(login(first, server, role, lang), 3)
            # the page fetches the HttpOnly cookie right after the sign-in: closing the tab before that
            # fetch answered would leave the context signed out (JavaScript cannot see the cookie: ask the
            # context until it holds it)
            deadline = time.monotonic() + 15
            while not any(c["name"] == COOKIE_NAME for c in ctx.cookies()):
                assert time.monotonic() < deadline, f"{role}/{lang}: no session cookie after signing in"
                first.wait_for_timeout(100)
            first.close()
            contexts[(role, lang)] = ctx
        return contexts[(role, lang)]

    yield get
    for ctx in contexts.values():
        ctx.close()


def open_page(context, server: str, key: str, lang: str):
    """A new tab on the page's own address; returns it once the page's heading is shown and the run ended."""
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    started = time.monotonic()
    tab.goto(f"{server}/{key}" + (f"?lang={lang}" if lang != "zh" else ""))
    expect(tab.get_by_role("heading", name=STRINGS[lang][f"nav.{key}"], level=1)).to_be_visible(
        timeout=20_000
    )
    settle(tab)
    expect(tab.get_by_test_id("stDialog")).to_have_count(0)  # no "Page not found" on a bookmarked page
    tab.opened_in = time.monotonic() - started
    return tab


@pytest.mark.parametrize(("role", "lang"), COMBINATIONS)
def test_navigation_lists_exactly_the_roles_pages(signed_in, server, role, lang):
    specs = pages_for(role)
    assert {p.key for p in specs} < {p.key for p in PAGES}
    tab = open_page(signed_in(role, lang), server, specs[0].key, lang)
    nav = tab.get_by_test_id("stSidebarNav")
    if len(specs) > 1:
        expect(nav).to_be_visible()
        shown_nav = nav.inner_text()
        for spec in PAGES:  # nothing beyond the role's pages in the navigation
            assert (STRINGS[lang][f"nav.{spec.key}"] in shown_nav) == (spec in specs), (role, spec.key)
        # the navigation leads to the second page
        title = STRINGS[lang][f"nav.{specs[1].key}"]
        nav.get_by_text(title, exact=True).click()
        expect(tab.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=20_000)
    else:  # one page (steward, admin): Streamlit shows no navigation at all
        expect(nav).to_have_count(0)
    assert not tab.dialogs, (role, tab.dialogs)
    tab.close()


@pytest.mark.parametrize(("role", "key", "lang"), CASES)
def test_page_shows_the_marts_figures(signed_in, server, serving, role, key, lang):
    """The page's figures equal the marts; the phone cases then also fit 390 px on the same visit (a page
    load each: a separate phone test loaded 26 pages again)."""
    tab = open_page(signed_in(role, lang), server, key, lang)
    TIMINGS[f"{role}/{lang}: {key}"] = round(tab.opened_in, 3)
    check_page(tab, serving, WHO[role], key, lang)
    assert not tab.dialogs, (role, key, tab.dialogs)
    if (role, key, lang) in PHONE_CASES:
        shoot_phone(tab, f"real-{role}-{key}-{lang}")
    tab.close()
