"""Salescope dashboards, the Streamlit script. ``salescope serve`` runs it through ``server.py``, which adds the
routes that set and clear the session cookie (``streamlit run dashboards/server.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts only this folder on sys.path; the project root is needed for `dashboards.*` and
# `salescope.settings` when the package is not installed
_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import logging  # noqa: E402
from functools import partial  # noqa: E402

import streamlit as st  # noqa: E402

from dashboards import session  # noqa: E402
from dashboards.access import PAGES, pages_for  # noqa: E402
from dashboards.i18n import language_selector, t  # noqa: E402

# Page scripts live in views/, not pages/: Streamlit still auto-discovers a pages/ folder beside the entry
# script, and when a page's url_path equals its file name there, a rerun runs that file alone, skipping this
# script (so no sidebar, no language switch). Seen with AppTest in Streamlit 1.67.

log = logging.getLogger("salescope.dashboards.app")

st.set_page_config(page_title="Salescope", page_icon=":material/insights:", layout="wide")


def _pages(specs, lang: str, *, hidden: bool = False) -> list:
    # never the default page: Streamlit serves the default at "/" only, and its own address (a bookmark or a
    # shared link to /overview) then opens with a "Page not found" dialog
    return [
        st.Page(
            spec.path,
            title=t(f"nav.{spec.key}", lang),
            icon=spec.icon,
            url_path=spec.key,
            visibility="hidden" if hidden else "visible",
        )
        for spec in specs
    ]


def _open_own_first_page() -> None:
    """Never run: "/" opens the user's first page at that page's own address (app.py switches to it)."""


def _home() -> object:
    # the hidden default page behind "/"; the real pages are never the default (see _pages)
    return st.Page(
        _open_own_first_page, title="Salescope", url_path="home", default=True, visibility="hidden"
    )


def _no_access(key: str, lang: str) -> None:
    st.title(t(f"nav.{key}", lang))
    session.require_page(key, lang)  # refuses, with the way to the user's own first page


def _no_access_pages(specs, lang: str) -> list:
    # hidden stand-ins under the URLs of the pages this role may not open: a link to one of them says "no
    # access" instead of showing Streamlit's "Page not found" dialog; the real page scripts stay out of this
    # role's navigation
    return [
        st.Page(
            partial(_no_access, spec.key, lang),
            title=t(f"nav.{spec.key}", lang),
            icon=spec.icon,
            url_path=spec.key,
            visibility="hidden",
        )
        for spec in specs
    ]


def _sign_in_page() -> None:
    """Never run: signed out, this script shows the form itself whatever page the URL names."""


def _signed_out_pages(lang: str) -> list:
    # "/" resolves to this placeholder, not to a real page: after signing in, Streamlit does not find it
    # and opens the user's own first page (a real page here would be opened, and refuse a role without it)
    home = st.Page(_sign_in_page, title=t("login.title", lang), url_path="signin", default=True)
    return [home, *_pages(PAGES, lang, hidden=True)]


lang = language_selector()
try:
    user = session.authenticate()
except Exception:  # the auth database unreadable: say so, never a stack trace
    log.exception("authentication failed")
    st.error(t("error.generic", lang), icon=":material/error:")
    st.stop()

if user is None:
    # every page registered but hidden, so the URL (page and filters) survives the sign-in without a
    # "Page not found" dialog
    st.navigation(_signed_out_pages(lang), position="hidden")
    session.login_form(lang)
    session.sync_cookie()
    # the form is on screen already: load the charting library while the user types, so the first page
    # after signing in does not wait for the import (about a second on a cold server)
    import plotly.graph_objects  # noqa: F401
else:
    session.sidebar_user(user, lang)
    allowed = pages_for(user.role)
    if not allowed:
        session.sync_cookie()
        st.warning(t("access.no_pages", lang), icon=":material/lock:")
        st.stop()
    others = [p for p in PAGES if p not in allowed]
    home, own = _home(), _pages(allowed, lang)
    current = st.navigation([home, *own, *_no_access_pages(others, lang)])
    if current is home:
        # switch before sync_cookie: a switch ends this run, and the page it opens sends the login's ticket
        st.switch_page(own[0], query_params=st.query_params.to_dict())  # a link's filters and language stay
    session.sync_cookie()
    current.run()
