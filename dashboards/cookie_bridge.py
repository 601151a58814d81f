"""The page's half of the cookie session: read the cookie the websocket brought, ask the routes to set or end it.

Only an HTTP response can set an HttpOnly cookie, and a Streamlit script answers over the websocket, so the
script puts a tiny script on the page that calls the routes in ``auth_routes.py`` (served by ``server.py``).
The page never sees the session token: it posts a one-time ticket, and the route answers with the cookie.
"""

from __future__ import annotations

import json

import streamlit as st

COOKIE_NAME = "salescope_session"
SESSION_PATH = "/_auth/session"
LOGOUT_PATH = "/_auth/logout"

# Calls are chained on one promise per page, so a logout's "clear the cookie" answer can never arrive after
# (and wipe) the cookie of the next sign-in.
_CALL = """<script>
(() => {{
  const previous = window.__salescopeAuth || Promise.resolve();
  window.__salescopeAuth = previous.catch(() => null).then(() => fetch({path}, {{
    method: "POST", body: {body}, credentials: "same-origin", cache: "no-store",
    headers: {{"Content-Type": "text/plain"}},
  }})).then(r => {{ if (!r.ok) console.warn("salescope: " + {path} + " answered " + r.status); }});
}})();
</script>"""


def cookie_token() -> str | None:
    """The session token in the cookie of the request that opened this websocket (None outside a server)."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except RuntimeError:  # no server runtime: no request either
        return None
    return value if isinstance(value, str) and value else None  # AppTest's stand-in client answers with mocks


def _call(path: str, body: str) -> None:
    # our own constants and a URL-safe ticket only: nothing a user typed goes into this script
    st.html(_CALL.format(path=json.dumps(path), body=json.dumps(body)), unsafe_allow_javascript=True)


def send_ticket(ticket: str) -> None:
    """Exchange the one-time ticket for the HttpOnly session cookie."""
    _call(SESSION_PATH, ticket)


def end_cookie() -> None:
    """End the session in the browser's cookie and clear the cookie."""
    _call(LOGOUT_PATH, "")
