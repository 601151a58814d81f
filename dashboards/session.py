"""Sign-in for the dashboards: a server-side session per browser tab.

Streamlit has no HttpOnly cookie API. The equivalent used here: after a successful login the server keeps
a random session token in ``st.session_state``, which lives in server memory for the websocket session
and is never sent to the browser; the auth database keeps only the token's SHA-256 with its user, times
and end. Every script run re-validates the token (logout, idle and absolute expiry, disabled user) and
re-reads the role, so a logged-out or expired token is useless even if it were copied. Reloading the tab
starts a new websocket session, so the user signs in again (there is no cookie to steal).
The user is never taken from the URL or from a widget value.
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from dashboards.access import may_open
from dashboards.auth_store import LOCK_MINUTES, AuthStore, User
from dashboards.formatting import plain
from dashboards.i18n import t
from salescope.settings import get_settings

log = logging.getLogger("salescope.dashboards.session")

TOKEN_KEY = "_salescope_session_token"  # no widget uses these keys, so no client can write them
USER_KEY = "_salescope_user"
LOGIN_FORM = "login"


@st.cache_resource(show_spinner=False)
def _store(path: str) -> AuthStore:
    return AuthStore(path)


def store() -> AuthStore:
    return _store(str(get_settings().auth_db_path))


def authenticate() -> User | None:
    """Validate this session's token against the auth database; remember the user for this run."""
    user = store().session_user(st.session_state.get(TOKEN_KEY))
    if user is None:
        st.session_state.pop(TOKEN_KEY, None)
        st.session_state.pop(USER_KEY, None)
    else:
        st.session_state[USER_KEY] = user
    return user


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
        st.text_input(t("login.password", lang), type="password", key="login_password",
                      autocomplete="current-password")
        st.form_submit_button(t("login.submit", lang), type="primary", on_click=_submit_login)
    st.caption(t("login.help", lang))


def _logout() -> None:
    store().logout(st.session_state.get(TOKEN_KEY))
    lang = st.session_state.get("lang")
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if lang:
        st.session_state["lang"] = lang


def sidebar_user(user: User, lang: str) -> None:
    with st.sidebar:
        st.caption(t("login.signed_in_as", lang, name=plain(user.display_name), role=t(f"role.{user.role}", lang)))
        st.button(t("login.logout", lang), icon=":material/logout:", on_click=_logout, key="logout")


def require_page(key: str, lang: str) -> User | None:
    """The user when they may open page ``key``; otherwise shows why and returns None."""
    user = current_user()
    if user is None or not may_open(user.role, key):
        st.warning(t("access.denied", lang), icon=":material/lock:")
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
