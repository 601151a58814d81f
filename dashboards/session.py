"""Sign-in for the dashboards: a server-side session, carried by an HttpOnly cookie.

A successful password login creates a random session token; the auth database keeps only its SHA-256 with
its user, times and end. The token lives in two places:

- ``st.session_state`` (server memory of this tab's websocket session), so this tab is signed in at once;
- an HttpOnly, SameSite=Strict cookie (``Secure`` with ``SALESCOPE_COOKIE_SECURE``), so a reload or a new
  tab stays signed in. A Streamlit script cannot set an HttpOnly cookie, so it issues a one-time ticket
  (60 s; the database keeps its SHA-256) and the page posts it to ``/_auth/session`` (``auth_routes.py``,
  served by ``server.py``), whose response sets the cookie. Page JavaScript never sees the token.
  Without ``server.py`` (``streamlit run dashboards/app.py``) that post fails and the sign-in lasts as long
  as the tab.

Each run takes the token from the session state, else from the cookie the browser sent when it opened the
websocket (``st.context.cookies``), and re-validates it (logout, 30 min idle, 12 h absolute, disabled user,
password reset) and re-reads the role, so an ended token is useless even if it were copied. Logout ends the
session on the server at once, then ``/_auth/logout`` clears the cookie.
The user is never taken from the URL or from a widget value.
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from dashboards import cookie_bridge
from dashboards.access import may_open, pages_for
from dashboards.auth_store import LOCK_MINUTES, AuthStore, User
from dashboards.formatting import plain
from dashboards.i18n import t
from salescope.settings import get_settings

log = logging.getLogger("salescope.dashboards.session")

TOKEN_KEY = "_salescope_session_token"  # no widget uses these keys, so no client can write them
USER_KEY = "_salescope_user"
TICKET_KEY = "_salescope_cookie_ticket"
LOGGED_OUT_KEY = "_salescope_logged_out"
LOGIN_FORM = "login"


@st.cache_resource(show_spinner=False)
def _store(path: str) -> AuthStore:
    return AuthStore(path)


def store() -> AuthStore:
    return _store(str(get_settings().auth_db_path))


def authenticate() -> User | None:
    """Validate this session's token, else the cookie's, against the auth database; remember the user."""
    # the tab's own token first (a sign-in in this tab is newer than the cookie the websocket opened with)
    for token in dict.fromkeys((st.session_state.get(TOKEN_KEY), cookie_bridge.cookie_token())):
        user = store().session_user(token)
        if user is not None:
            st.session_state[TOKEN_KEY] = token
            st.session_state[USER_KEY] = user
            return user
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state.pop(USER_KEY, None)
    return None


def sync_cookie() -> None:
    """Right after a login, have the page fetch the session cookie; right after a logout, have it cleared."""
    ticket = st.session_state.pop(TICKET_KEY, None)
    logged_out = st.session_state.pop(LOGGED_OUT_KEY, False)
    with st.sidebar:  # scripts only, nothing visible: out of the page's own layout
        if logged_out:
            cookie_bridge.end_cookie()
        if ticket:
            cookie_bridge.send_ticket(ticket)


def current_user() -> User | None:
    """The user ``authenticate`` validated at the start of this run (app.py always runs it first)."""
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, User) else None


def _submit_login() -> None:
    username = st.session_state.get("login_username", "")
    password = st.session_state.get("login_password", "")
    st.session_state["login_password"] = ""
    result = store().login(username, password)
    st.session_state["_login_reason"] = result.reason
    if result.token:
        st.session_state[TOKEN_KEY] = result.token
        st.session_state[TICKET_KEY] = store().issue_ticket(result.token)
        st.session_state.pop("login_username", None)


def login_form(lang: str) -> None:
    st.title(t("login.title", lang))
    reason = st.session_state.pop("_login_reason", None)
    if reason == "invalid":
        st.error(t("login.invalid", lang), icon=":material/error:")
    elif reason == "locked":
        st.error(t("login.locked", lang, minutes=LOCK_MINUTES), icon=":material/lock:")
    elif reason == "disabled":
        st.error(t("login.disabled", lang), icon=":material/block:")
    with st.form(LOGIN_FORM, border=True):
        st.text_input(t("login.username", lang), key="login_username", autocomplete="username")
        st.text_input(
            t("login.password", lang), type="password", key="login_password", autocomplete="current-password"
        )
        st.form_submit_button(t("login.submit", lang), type="primary", on_click=_submit_login)
    st.caption(t("login.help", lang))


def _logout() -> None:
    store().logout(st.session_state.get(TOKEN_KEY))  # ended here and now, whatever the page does next
    lang = st.session_state.get("lang")
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if lang:
        st.session_state["lang"] = lang
    st.session_state[LOGGED_OUT_KEY] = True  # the next run has the page clear the cookie


def sidebar_user(user: User, lang: str) -> None:
    with st.sidebar:
        st.caption(
            t("login.signed_in_as", lang, name=plain(user.display_name), role=t(f"role.{user.role}", lang))
        )
        st.button(t("login.logout", lang), icon=":material/logout:", on_click=_logout, key="logout")


def require_page(key: str, lang: str) -> User | None:
    """The user when they may open page ``key``; otherwise shows why and returns None."""
    user = current_user()
    if user is None or not may_open(user.role, key):
        st.warning(t("access.denied", lang), icon=":material/lock:")
        home = pages_for(user.role) if user else []
        if home:  # came by a link meant for another role: the way to the user's own first page
            st.page_link(home[0].path, label=t(f"nav.{home[0].key}", lang), icon=home[0].icon)
        return None
    return user


def download_csv(df: pd.DataFrame, what: str, file_name: str, lang: str, *, key: str | None = None) -> None:
    """A CSV download of ``df`` (already scoped and masked by the query layer); each export is audited."""
    user = current_user()

    def _audit() -> None:
        store().audit(user.username if user else None, "export", f"{what}: {len(df)} rows")

    st.download_button(
        t("download.csv", lang),
        data=df.to_csv(index=False).encode("utf-8-sig"),  # BOM: Excel opens Chinese headers correctly
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        on_click=_audit,
        key=key,
    )
