"""Log in as each role in a real browser, visit every page, compare the key figures on screen with the
snapshot's marts, take screenshots at desktop and 390 px, and try the obvious attacks.

Screenshots: tests/browser/screenshots/<role>-<page>-{desktop,phone}.png (git-ignored)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import duckdb
import pytest

from dashboards.access import pages_for
from dashboards.formatting import money
from dashboards.i18n import STRINGS
from dashboards.testing import ROLE_USERS, TEST_PASSWORD, XSS, auth_store

ZH = STRINGS["zh"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}  # the page fixture's viewport (conftest.py)
PHONE = {"width": 390, "height": 844}
FIRST_RENDER_BUDGET_S = 2.0
# error text a user must never see
ERROR_TEXT = re.compile("Traceback|Exception|Error:|" + "|".join(
    re.escape(STRINGS[lang][k]) for lang in ("zh", "en") for k in ("error.generic", "error.snapshot")))
TIMINGS: dict[str, float] = {}


def login(page, server: str, username: str, password: str = TEST_PASSWORD, path: str = "") -> float:
    """Open ``path`` signed out, sign in there; seconds from the click to the page's first heading."""
    page.goto(f"{server}/{path}")
    page.get_by_label(ZH["login.username"]).fill(username)
    page.get_by_label(ZH["login.password"]).fill(password)
    started = time.monotonic()
    page.get_by_role("button", name=ZH["login.submit"]).click()
    page.get_by_role("heading", level=1).filter(has_not_text=ZH["login.title"]).first.wait_for(timeout=20_000)
    return time.monotonic() - started


def settle(page) -> None:
    """Wait until Streamlit has finished the run (no running indicator, no stale elements)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=20_000,
    )


def assert_clean(page, where: str) -> None:
    assert page.get_by_test_id("stException").count() == 0, where
    body = page.get_by_test_id("stMain").inner_text()
    assert not ERROR_TEXT.search(body), (where, body[:500])
    assert not page.dialogs, (where, page.dialogs)


def shoot(page, name: str, phone: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    if not phone:
        return
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(250)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{name}: the page scrolls sideways at 390 px ({width}px)"
    page.set_viewport_size(DESKTOP)


def serving(browser_home) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(browser_home / "serving" / "serving.duckdb"), read_only=True)


def expected_june_bookings(browser_home, role: str) -> float:
    """Independent of the dashboard's SQL: the mart for the whole company, the deals for a rep or team."""
    con = serving(browser_home)
    try:
        if role in ("executive", "finance"):
            sql, params = "SELECT bookings_cny FROM marts.mart_bookings_monthly WHERE month = DATE '2026-06-01'", []
        else:
            col, value = ("owner_user_id", "R1") if role == "sales_rep" else ("team_id", "T1")
            sql = (f"SELECT coalesce(sum(amount_cny), 0) FROM marts.fct_opportunities WHERE {col} = ? "
                   "AND won_at >= DATE '2026-06-01' AND won_at < DATE '2026-07-01'")
            params = [value]
        return float(con.execute(sql, params).fetchone()[0])
    finally:
        con.close()


def expected_open_deals(browser_home, role: str) -> int:
    where = {"sales_rep": "owner_user_id = 'R1'", "sales_manager": "team_id = 'T1'"}.get(role, "TRUE")
    con = serving(browser_home)
    try:
        return con.execute(f"SELECT count(*) FROM marts.fct_opportunities WHERE is_open AND {where}").fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module", autouse=True)
def warm_up(server, browser):
    """One throwaway visit so module imports are not counted as a user's first render."""
    ctx = browser.new_context(viewport=DESKTOP)
    pg = ctx.new_page()
    pg.goto(server)
    pg.get_by_label(ZH["login.username"]).wait_for(timeout=30_000)
    ctx.close()
    yield
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "timings.json").write_text(json.dumps(TIMINGS, indent=1))


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_each_role_visits_every_page(page, server, browser_home, role):
    username = ROLE_USERS[role][0]
    first = login(page, server, username)
    TIMINGS[f"{role}: login to first page"] = round(first, 3)
    assert first < FIRST_RENDER_BUDGET_S, f"first render took {first:.2f}s"
    nav = page.get_by_test_id("stSidebarNav")
    specs = pages_for(role)
    for spec in specs:
        title = ZH[f"nav.{spec.key}"]
        started = time.monotonic()
        if len(specs) > 1:  # with one page Streamlit shows no navigation
            nav.get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=title, level=1).wait_for()
        settle(page)
        TIMINGS[f"{role}: {spec.key}"] = round(time.monotonic() - started, 3)
        assert_clean(page, f"{role}/{spec.key}")
        if spec.key == "overview":
            page.get_by_test_id("stMetricValue").first.wait_for()
            values = page.get_by_test_id("stMetricValue").all_inner_texts()
            assert values[0] == money(expected_june_bookings(browser_home, role), "zh"), (role, values)
        if spec.key == "deals":
            n = expected_open_deals(browser_home, role)
            page.get_by_text(re.compile(f"^{n} 个在手商机")).wait_for()
        if spec.key == "quality":
            raw = page.get_by_test_id("stDataFrame").all_inner_texts()
            assert "13812345678" not in " ".join(raw)
        # phone-sized shots: every page as an executive (who sees them all), the first page of other roles
        shoot(page, f"{role}-{spec.key}", phone=role == "executive" or spec == specs[0])
    shown = set(nav.inner_text().split()) if len(specs) > 1 else set()
    hidden = {ZH[f"nav.{k}"] for k in ("overview", "deals", "quality", "users")} - {
        ZH[f"nav.{p.key}"] for p in pages_for(role)}
    assert not shown & hidden, role


def test_shared_link_keeps_its_page_and_filters_within_scope(page, server, browser_home):
    login(page, server, "mgr1", path="deals?rep=R2")
    settle(page)
    page.get_by_text(re.compile("^1 个在手商机")).wait_for()  # R2's one open deal
    assert "rep=R2" in page.url
    assert_clean(page, "manager link")


def test_rep_cannot_reach_another_reps_deal_by_url(page, server):
    login(page, server, "rep1", path="deals?deal=D09&rep=R3&team=T2")  # R3's deal, R3's filters
    settle(page)
    page.get_by_text(ZH["deals.not_found"]).wait_for()
    assert "D09" not in page.get_by_test_id("stMain").inner_text()
    page.get_by_role("button", name=ZH["deals.back"]).click()
    settle(page)
    page.get_by_text(re.compile("^2 个在手商机")).wait_for()  # only D04 and D10, filters dropped
    assert "rep=R3" not in page.url
    assert_clean(page, "rep url")


@pytest.mark.parametrize("evil", ["' OR 1=1 --", "x'); DROP TABLE marts.fct_opportunities; --"])
def test_sql_injection_in_url_is_harmless(page, server, evil):
    from urllib.parse import quote

    login(page, server, "exec", path=f"deals?region={quote(evil)}&rep={quote(evil)}")
    settle(page)
    page.get_by_text(re.compile("^4 个在手商机")).wait_for()
    assert_clean(page, "injection")


def test_script_in_an_account_name_renders_as_text(page, server):
    login(page, server, "rep1", path="deals?deal=D04")
    settle(page)
    page.get_by_text(XSS, exact=False).first.wait_for()
    assert page.evaluate("() => window.__xss === undefined")
    assert not page.dialogs
    assert_clean(page, "xss")
    shoot(page, "sales_rep-deal")


def test_locked_out_user_stays_out(page, server, browser_home):
    store = auth_store(browser_home)
    if store.get_user("lockme") is None:
        store.add_user("lockme", TEST_PASSWORD, "executive")
    page.goto(server)
    for _ in range(5):
        page.get_by_label(ZH["login.username"]).fill("lockme")
        page.get_by_label(ZH["login.password"]).fill("wrong-password")
        page.get_by_role("button", name=ZH["login.submit"]).click()
        settle(page)
    locked = ZH["login.locked"].split("，")[0]
    page.get_by_text(locked).wait_for()
    page.get_by_label(ZH["login.username"]).fill("lockme")
    page.get_by_label(ZH["login.password"]).fill(TEST_PASSWORD)
    page.get_by_role("button", name=ZH["login.submit"]).click()
    settle(page)
    page.get_by_text(locked).wait_for()
    assert page.get_by_test_id("stMetricValue").count() == 0


def test_logged_out_session_cannot_be_reused(page, server):
    login(page, server, "exec")
    page.get_by_role("button", name=ZH["login.logout"]).click()
    page.get_by_role("heading", name=ZH["login.title"]).wait_for()
    page.reload()  # a new websocket session: nothing of the old one is reused
    page.get_by_role("heading", name=ZH["login.title"]).wait_for()
    assert page.get_by_test_id("stMetricValue").count() == 0
