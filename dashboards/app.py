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

import streamlit as st  # noqa: E402

from dashboards import session  # noqa: E402
from dashboards.access import PAGES, pages_for  # noqa: E402
from dashboards.i18n import language_selector, t  # noqa: E402

# Page scripts live in views/, not pages/: Streamlit still auto-discovers a pages/ folder beside the entry
# script, and when a page's url_path equals its file name there, a rerun runs that file alone, skipping this
# script (so no sidebar, no language switch). Seen with AppTest in Streamlit 1.67.

log = logging.getLogger("salescope.dashboards.app")

st.set_page_config(page_title="Salescope", page_icon=":material/insights:", layout="wide")


def _pages(specs, lang: str) -> list:
    return [
        st.Page(spec.path, title=t(f"nav.{spec.key}", lang), icon=spec.icon, url_path=spec.key, default=i == 0)
        for i, spec in enumerate(specs)
    ]


lang = language_selector()
try:
    user = session.authenticate()
except Exception:  # the auth database unreadable: say so, never a stack trace
    log.exception("authentication failed")
    st.error(t("error.generic", lang), icon=":material/error:")
    st.stop()

if user is None:
    # every page registered but hidden, so the URL (page and filters) survives the sign-in
    st.navigation(_pages(PAGES, lang), position="hidden")
    session.login_form(lang)
    session.sync_cookie()
    # the form is on screen already: load the charting library while the user types, so the first page
    # after signing in does not wait for the import (about a second on a cold server)
    import plotly.graph_objects  # noqa: F401
else:
    session.sidebar_user(user, lang)
    session.sync_cookie()
    allowed = pages_for(user.role)
    if not allowed:
        st.warning(t("access.no_pages", lang), icon=":material/lock:")
        st.stop()
    st.navigation(_pages(allowed, lang)).run()
