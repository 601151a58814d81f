"""The HTTP half of the cookie session: two POST routes beside the Streamlit app (``server.py`` mounts them).

- ``/_auth/session``: body = a one-time ticket from the signed-in script (``AuthStore.issue_ticket``); answers
  204 with the session token in an HttpOnly, SameSite=Strict cookie (``Secure`` when
  ``SALESCOPE_COOKIE_SECURE`` is on) that lives no longer than the session's absolute limit.
- ``/_auth/logout``: ends the session in the cookie and clears the cookie.

Both accept only same-origin calls (the ``Origin`` header names this host), so another site cannot sign a
browser into someone else's session or out of its own.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from dashboards.auth_store import AuthStore
from dashboards.cookie_bridge import COOKIE_NAME, LOGOUT_PATH, SESSION_PATH
from salescope.settings import get_settings

log = logging.getLogger("salescope.dashboards.auth_routes")

MAX_BODY = 256  # a ticket is 43 characters


@lru_cache(maxsize=4)
def _store(path: str) -> AuthStore:
    return AuthStore(path)


def _refuse(status: int, why: str, *, warn: bool = False) -> Response:
    (log.warning if warn else log.info)("auth route refused (%s): %s", status, why)
    return PlainTextResponse(why, status_code=status, headers={"Cache-Control": "no-store"})


def _cross_origin(request: Request) -> str | None:
    """Why the request is not from a page of this server, or None when it is."""
    origin = request.headers.get("origin")
    if not origin:
        return "no Origin header: only the dashboard page may call this"
    if urlsplit(origin).netloc != request.headers.get("host"):
        return (
            f"cross-origin call from {origin} to host {request.headers.get('host')} refused "
            "(behind a reverse proxy, pass the Host header through)"
        )
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return "cross-site call refused"
    return None


def _cookie_flags() -> dict:
    return {"path": "/", "httponly": True, "samesite": "strict", "secure": get_settings().cookie_secure}


async def exchange_ticket(request: Request) -> Response:
    if why := _cross_origin(request):
        return _refuse(403, why, warn=True)
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_BODY:
        return _refuse(400, f"send the sign-in ticket as the request body (at most {MAX_BODY} bytes)")
    ticket = (await request.body()).decode("ascii", "replace").strip()
    store = _store(str(get_settings().auth_db_path))
    session = await run_in_threadpool(store.redeem_ticket, ticket)
    if session is None:
        return _refuse(403, "the sign-in ticket is unknown, used or expired: sign in again")
    max_age = int((session.ends_at - datetime.now(UTC)).total_seconds())
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE_NAME, session.token, max_age=max(max_age, 0), **_cookie_flags())
    return response


async def logout(request: Request) -> Response:
    if why := _cross_origin(request):
        return _refuse(403, why, warn=True)
    store = _store(str(get_settings().auth_db_path))
    await run_in_threadpool(store.logout, request.cookies.get(COOKIE_NAME))
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE_NAME, **_cookie_flags())
    return response


def routes() -> list[Route]:
    return [
        Route(SESSION_PATH, exchange_ticket, methods=["POST"]),
        Route(LOGOUT_PATH, logout, methods=["POST"]),
    ]
