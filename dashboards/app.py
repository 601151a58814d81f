"""Salescope dashboards: ``streamlit run dashboards/app.py`` (what ``salescope serve`` runs)."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts only this folder on sys.path; the project root is needed for `dashboards.*` and
# `salescope.settings` when the package is not installed
_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboards.i18n import language_selector, t  # noqa: E402

# Page scripts live in views/, not pages/: Streamlit still auto-discovers a pages/ folder beside the entry
# script, and when a page's url_path equals its file name there, a rerun runs that file alone, skipping this
# script (so no sidebar, no language switch). Seen with AppTest in Streamlit 1.67.
VIEWS_DIR = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="Salescope", page_icon=":material/insights:", layout="wide")

lang = language_selector()
page = st.navigation(
    [
        st.Page(
            VIEWS_DIR / "overview.py",
            title=t("nav.overview", lang),
            icon=":material/dashboard:",
            url_path="overview",
            default=True,
        ),
    ]
)
page.run()
