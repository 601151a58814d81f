"""The calendar subscription route beside the Streamlit app (``server.py`` mounts it):
``GET /calendar/{token}.ics`` -> the token's user's feed (``dashboards/ical.py``) as ``text/calendar``.

- The token is the credential (calendar clients send no cookie): only its SHA-256 is stored
  (``calendar_tokens.CalendarStore``); ``salescope calendar token`` makes or rotates it, ``revoke`` removes it.
- 404, with one body for every case, when the token is unknown, revoked or rotated, or its user no longer
  exists or is disabled: the answer never says whether a user exists.
- A live token whose user's role has no business rows any more (set to data_steward or admin after the token
  was made) gets a valid, empty calendar, so subscribed clients drop the old events.
- 503 while no snapshot is published yet (clients retry later).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from dashboards import db
from dashboards.auth_store import AuthStore
from dashboards.calendar_tokens import CalendarStore
from dashboards.ical import user_calendar
from salescope.settings import get_settings

log = logging.getLogger("salescope.dashboards.calendar_routes")

CALENDAR_PATH = "/calendar/{token}.ics"
NOT_FOUND = "no such calendar"


@lru_cache(maxsize=4)
def _auth(path: str) -> AuthStore:
    return AuthStore(path)


@lru_cache(maxsize=4)
def _calendars(path: str) -> CalendarStore:
    return CalendarStore(path)


def _not_found() -> Response:
    return PlainTextResponse(NOT_FOUND, status_code=404, headers={"Cache-Control": "no-store"})


def calendar_bytes(token: str) -> bytes | None:
    """The feed of the token's user, or None when the token does not open one (unknown, revoked, disabled)."""
    s = get_settings()
    username = _calendars(str(s.calendar_db_path)).username_for(token)
    if username is None:
        return None
    user = _auth(str(s.auth_db_path)).get_user(username)
    if user is None or not user.is_active:
        return None
    snap = db.open_snapshot(s.serving_path)
    if snap is None:
        raise FileNotFoundError(s.serving_path)
    with db.reading(snap) as cur:
        cal = user_calendar(cur, user, _calendars(str(s.calendar_db_path)), s.public_url)
    return cal.to_ical()


async def calendar_feed(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        data = await run_in_threadpool(calendar_bytes, token)
    except FileNotFoundError:
        return PlainTextResponse(
            "no snapshot published yet: try again later",
            status_code=503,
            headers={"Retry-After": "3600", "Cache-Control": "no-store"},
        )
    if data is None:
        log.info("calendar feed refused: unknown, revoked or disabled token")
        return _not_found()
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": 'inline; filename="salescope.ics"',
            "X-Robots-Tag": "noindex",
        },
    )


def routes() -> list[Route]:
    return [Route(CALENDAR_PATH, calendar_feed, methods=["GET"])]
