"""The obvious attacks in a real browser, on a small hand-made snapshot whose rows the tests name (every
role on every page of a pipeline-built snapshot: test_browser_pages.py).

Screenshots: tests/browser/screenshots/<role>-<page>-{desktop,phone}.png (git-ignored)."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest

from dashboards.i18n import STRINGS
from dashboards.testing import TEST_PASSWORD, XSS, auth_store

ZH = STRINGS["zh"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}  # the page fixture's viewport (conftest.py)
PHONE = {"width": 390, "height": 844}
# error text a user must never see
ERROR_TEXT = re.compile(
    "Traceback|Exception|Error:|"
    + "|".join(
        re.escape(STRINGS[lang][k]) for lang in ("zh", "en") for k in ("error.generic", "error.snapshot")
    )
)


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


def phone_layout(page) -> None:
    """Switch to the phone viewport and wait for the page to be laid out at that width (never for a time).

    Streamlit re-lays out after the resize: read too early, stMain still has the desktop width (the 820 px
    reading of issue 11). Waits until stMain is no wider than the screen and nothing in it is wider than
    stMain; if that never happens within 10 s the caller's assertions report the widths it has."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.set_viewport_size(PHONE)
    settle(page)
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            """(w) => { const m = document.querySelector('[data-testid="stMain"]');
                        return m && m.clientWidth <= w && m.scrollWidth <= m.clientWidth + 1
                               && document.documentElement.scrollWidth <= w + 1; }""",
            arg=PHONE["width"],
            timeout=10_000,
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
    phone_layout(page)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    # Streamlit scrolls inside stMain, not the document: both must fit the screen
    width, main_width, main_visible = page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMain"]');
                   return [document.documentElement.scrollWidth, m.scrollWidth, m.clientWidth]; }"""
    )
    assert width <= PHONE["width"] + 1, f"{name}: the page scrolls sideways at 390 px ({width}px)"
    assert main_width <= main_visible + 1, f"{name}: the page scrolls sideways at 390 px ({main_width}px)"
    page.set_viewport_size(DESKTOP)


@pytest.fixture(scope="module", autouse=True)
def warm_up(server, browser):
    """One throwaway visit so module imports are not counted as a user's first render."""
    ctx = browser.new_context(viewport=DESKTOP)
    pg = ctx.new_page()
    pg.goto(server)
    pg.get_by_label(ZH["login.username"]).wait_for(timeout=30_000)
    ctx.close()
    yield


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
