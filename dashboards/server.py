"""Salescope dashboards with their cookie-session routes: ``streamlit run dashboards/server.py`` (what
``salescope serve`` runs).

``streamlit run`` sees the ``st.App`` below and serves it with uvicorn: the Streamlit app (``app.py``) plus
``/_auth/session`` and ``/_auth/logout`` (``auth_routes.py``) and the calendar subscription feed
``/calendar/{token}.ics`` (``calendar_routes.py``). ``streamlit run dashboards/app.py`` still
works, but without those routes a sign-in lasts only as long as the browser tab's websocket session.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts only this folder on sys.path (and imports this file as `server`); the project root is
# needed for `dashboards.*` and `salescope.settings` when the package is not installed
_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboards import auth_routes, calendar_routes  # noqa: E402

app = st.App(
    Path(__file__).resolve().with_name("app.py"), routes=auth_routes.routes() + calendar_routes.routes()
)
