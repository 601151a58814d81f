"""The dashboard session in a real browser: the HttpOnly cookie that `/_auth/session` sets after a password
login (dashboards/server.py, what `salescope serve` runs) keeps the user signed in across reloads and tabs
until logout or a password reset; JavaScript never sees the token; a shared link survives the sign-in."""

from __future__ import annotations

import re
import time

import pytest
from test_browser_dashboards import DESKTOP, settle

from dashboards.auth_store import MAX_HOURS
from dashboards.cookie_bridge import COOKIE_NAME, LOGOUT_PATH, SESSION_PATH
from dashboards.i18n import STRINGS
from dashboards.testing import TEST_PASSWORD, auth_store, ensure_user

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
ZH = STRINGS["zh"]
WAIT = 20_000  # ms: a cold server imports the page modules on its first visit
# what Streamlit logs when it shows its "Page not found" dialog
PAGE_NOT_FOUND = re.compile("does not seem to exist|You have requested page")


def login_title(page):
    return page.get_by_role("heading", name=ZH["login.title"])


def signed_in_as(page, username: str):
    return page.get_by_test_id("stSidebar").get_by_text(
        ZH["login.signed_in_as"].split("{name}")[0] + username
    )


def session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == COOKIE_NAME), None)


def sign_in(page, server: str, username: str, path: str | None = "", password: str = TEST_PASSWORD) -> str:
    """Open ``path`` (None: stay) signed out and sign in; waits until the page has exchanged its one-time
    ticket for the session cookie, and returns that ticket."""
    if path is not None:
        page.goto(f"{server}/{path}")
    page.get_by_label(ZH["login.username"], exact=True).fill(username)
    page.get_by_label(ZH["login.password"], exact=True).fill(password)
    with page.expect_response(lambda r: r.url.endswith(SESSION_PATH), timeout=WAIT) as exchange:
        page.get_by_role("button", name=ZH["login.submit"]).click()
    response = exchange.value
    response.finished()  # the cookie is stored once the response is complete
    assert response.status == 204, (response.status, response.text())
    expect(signed_in_as(page, username)).to_be_visible(timeout=WAIT)
    return response.request.post_data


def test_reload_and_a_new_tab_stay_signed_in(page, server):
    sign_in(page, server, "exec")
    page.reload()
    expect(signed_in_as(page, "exec")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=WAIT)
    expect(login_title(page)).to_have_count(0)
    tab = page.context.new_page()
    tab.goto(server)
    expect(signed_in_as(tab, "exec")).to_be_visible(timeout=WAIT)
    expect(tab.get_by_role("heading", name=ZH["overview.title"], level=1)).to_be_visible()
    expect(login_title(tab)).to_have_count(0)


def test_the_cookie_is_httponly_strict_and_javascript_cannot_read_it(page, server, browser_home):
    sign_in(page, server, "exec")
    cookie = session_cookie(page.context)
    assert cookie is not None, page.context.cookies()
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["secure"] is False  # SALESCOPE_COOKIE_SECURE is off: plain http on localhost
    assert (
        time.time() < cookie["expires"] <= time.time() + MAX_HOURS * 3600 + 60
    )  # no longer than the session
    seen_by_js = page.evaluate("() => document.cookie")
    assert COOKIE_NAME not in seen_by_js and cookie["value"] not in seen_by_js
    assert auth_store(browser_home).session_user(cookie["value"]).username == "exec"  # a live server session


def test_the_routes_refuse_a_used_ticket_and_other_origins(page, server):
    ticket = sign_in(page, server, "exec")
    token = session_cookie(page.context)["value"]
    again = page.request.post(f"{server}{SESSION_PATH}", data=ticket, headers={"Origin": server})
    assert again.status == 403 and "sign in again" in again.text()  # one-time
    for path in (SESSION_PATH, LOGOUT_PATH):  # another site's page posting with this browser's cookies
        evil = page.request.post(f"{server}{path}", data=ticket, headers={"Origin": "http://evil.example"})
        assert evil.status == 403 and "cross-origin" in evil.text(), (path, evil.status)
    assert session_cookie(page.context)["value"] == token
    page.reload()
    expect(signed_in_as(page, "exec")).to_be_visible(timeout=WAIT)


def test_logout_clears_the_cookie_and_the_old_token_is_refused(page, server, browser_home):
    sign_in(page, server, "exec")
    old = session_cookie(page.context)
    with page.expect_response(lambda r: r.url.endswith(LOGOUT_PATH), timeout=WAIT) as bye:
        page.get_by_role("button", name=ZH["login.logout"]).click()
    bye.value.finished()
    assert bye.value.status == 204
    expect(login_title(page)).to_be_visible()
    assert session_cookie(page.context) is None
    page.reload()
    expect(login_title(page)).to_be_visible(timeout=WAIT)
    # the old token put back by hand (a copied cookie): the server has ended it
    page.context.add_cookies(
        [
            {
                k: old[k]
                for k in ("name", "value", "domain", "path", "expires", "httpOnly", "secure", "sameSite")
            }
        ]
    )
    page.reload()
    expect(login_title(page)).to_be_visible(timeout=WAIT)
    expect(signed_in_as(page, "exec")).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    assert auth_store(browser_home).session_user(old["value"]) is None


def test_a_password_reset_by_the_admin_ends_the_session(page, server, browser, browser_home):
    ensure_user(browser_home, "resetme", "executive")  # a user of its own: the others keep their passwords
    sign_in(page, server, "resetme")
    token = session_cookie(page.context)["value"]
    admin_context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        admin = admin_context.new_page()
        sign_in(admin, server, "admin")
        admin.get_by_text(ZH["users.change"]).click()  # open the expander
        form = admin.get_by_test_id("stForm").filter(has=admin.get_by_role("button", name=ZH["users.apply"]))
        form.get_by_test_id("stSelectbox").first.click()
        admin.get_by_role("option", name="resetme", exact=True).click()
        form.get_by_text(ZH["users.action.reset_password"]).click()
        form.get_by_role("button", name=ZH["users.apply"]).click()
        done = ZH["users.reset"].split("{password}")[0].format(user="resetme")
        expect(admin.get_by_text(done)).to_be_visible(timeout=WAIT)
    finally:
        admin_context.close()
    page.reload()
    expect(login_title(page)).to_be_visible(timeout=WAIT)
    expect(signed_in_as(page, "resetme")).to_have_count(0)
    assert auth_store(browser_home).session_user(token) is None


def test_a_deep_link_signed_out_shows_the_form_then_the_page_with_its_filters(page, server):
    # the deals page: this module's hand-made snapshot has no funnel mart, and the region filter narrows the
    # 4 open deals to the 3 in the east (D04, D06, D10), so the count shows the filter was applied
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/deals?region=east")
    expect(login_title(page)).to_be_visible(timeout=WAIT)
    settle(page)  # the run is over: a "Page not found" dialog would be up by now
    expect(page.get_by_test_id("stDialog")).to_have_count(0)
    sign_in(page, server, "exec", path=None)
    linked = re.compile(r"/deals\?(.+&)?region=east(&|$)")
    for attempt in ("signed in", "reloaded"):  # the link and the sign-in both survive a reload
        expect(page.get_by_role("heading", name=ZH["deals.title"], level=1)).to_be_visible(timeout=WAIT)
        expect(page.get_by_role("combobox", name=ZH["filter.region"])).to_have_value(
            ZH["region.east"], timeout=WAIT
        )
        expect(page.get_by_text(re.compile("^3 个在手商机"))).to_be_visible(timeout=WAIT)
        expect(page).to_have_url(linked)
        settle(page)
        expect(page.get_by_test_id("stDialog")).to_have_count(0)
        assert not [e for e in console_errors if PAGE_NOT_FOUND.search(e)], (attempt, console_errors)
        if attempt == "signed in":
            page.reload()
    assert not page.dialogs, page.dialogs


def test_a_link_to_another_roles_page_says_no_access_without_a_dialog(page, server):
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    sign_in(page, server, "steward")
    page.goto(f"{server}/funnel?region=east")  # signed in by the cookie, a manager's link
    expect(page.get_by_text(ZH["access.denied"])).to_be_visible(timeout=WAIT)
    settle(page)
    expect(page.get_by_test_id("stDialog")).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    page.get_by_test_id("stPageLink").get_by_text(ZH["nav.quality"]).click()  # the way to the user's own page
    expect(page.get_by_role("heading", name=ZH["quality.title"], level=1)).to_be_visible(timeout=WAIT)
    assert not [e for e in console_errors if PAGE_NOT_FOUND.search(e)], console_errors
