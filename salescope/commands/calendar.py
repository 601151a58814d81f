"""``salescope calendar --for USER --out FILE.ics`` and ``salescope calendar token|revoke --for USER``.

The feed (``dashboards/ical.py``) holds the user's expected deal closes, project milestones and invoice due
dates within their row scope; ``calendar token`` gives the user a subscription URL that ``salescope serve``
answers (``dashboards/calendar_routes.py``). Tokens and event sequences live in
``Settings.calendar_db_path``; users are read from the dashboard user database, never changed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from salescope.commands.common import fail
from salescope.settings import Settings

console = Console(stderr=True)
calendar_app = typer.Typer(
    help="Calendar feed (.ics) of a user's deals, projects and invoices: export it, or give the user a "
    "subscription URL (token) and revoke it.",
    invoke_without_command=True,
    epilog="Examples: salescope calendar --for rep --out rep.ics | salescope calendar token --for rep | "
    "salescope calendar revoke --for rep",
)

HomeOpt = Annotated[
    Path | None, typer.Option("--home", help="Runtime folder (default: $SALESCOPE_HOME or ./.salescope).")
]
ForOpt = Annotated[str | None, typer.Option("--for", help="Dashboard user name (salescope users list).")]


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")


def _calendar_user(s: Settings, username: str):
    """The active dashboard user ``username`` whose role has business rows, or an error that says what to do."""
    from dashboards.auth_store import AuthStore
    from dashboards.ical import has_calendar

    user = AuthStore(s.auth_db_path).get_user(username)
    if user is None:
        fail(f"no dashboard user {username!r}: see `salescope users list`")
    if not user.is_active:
        fail(f"user {username} is disabled: `salescope users enable {username}` first")
    if not has_calendar(user.role):
        fail(
            f"user {username} is {user.role}: that role sees no deals, projects or invoices, so it has no "
            "calendar (calendars are for sales_rep, sales_manager, finance and executive users)"
        )
    return user


@calendar_app.callback()
def calendar(
    ctx: typer.Context,
    for_user: ForOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="The .ics file to write ('-' for standard output).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Export USER's calendar (.ics) from the published snapshot: `salescope calendar --for rep --out rep.ics`."""
    if ctx.invoked_subcommand is not None:
        if for_user or out:
            fail(f"--for and --out go after `calendar {ctx.invoked_subcommand}`, or without a sub-command")
        return
    if not for_user:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    if out is None:
        fail("say where to write the calendar: --out FILE.ics (or --out - for standard output)")
    from dashboards.calendar_tokens import CalendarStore
    from dashboards.db import open_readonly
    from dashboards.ical import user_calendar

    s = Settings.from_env(home)
    user = _calendar_user(s, for_user)
    if not s.serving_path.exists():
        fail(f"no published snapshot in {s.home}: run `salescope run` first")
    con = open_readonly(str(s.serving_path))
    try:
        cal = user_calendar(con, user, CalendarStore(s.calendar_db_path), s.public_url)
    finally:
        con.close()
    data = cal.to_ical()
    events = len(cal.walk("VEVENT"))
    if str(out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        console.print(f"[green]wrote[/] {events:,} events for {user.username} ({user.role}) to {out}")


@calendar_app.command("token")
def token(for_user: ForOpt = None, home: HomeOpt = None) -> None:
    """Create (or rotate) USER's subscription token and print the URL once; an earlier URL stops working."""
    from dashboards.calendar_tokens import CalendarStore

    if not for_user:
        fail("name the user: salescope calendar token --for USER")
    s = Settings.from_env(home)
    user = _calendar_user(s, for_user)
    store = CalendarStore(s.calendar_db_path)
    rotated = store.has_token(user.username)
    secret = store.issue(user.username)
    console.print(
        f"[green]{'new' if rotated else 'subscription'} URL for {user.username}[/] (shown once; "
        f"{'the previous URL no longer works; ' if rotated else ''}"
        f"`salescope calendar revoke --for {user.username}` turns it off):"
    )
    print(f"{s.public_url}/calendar/{secret}.ics")


@calendar_app.command("revoke")
def revoke(for_user: ForOpt = None, home: HomeOpt = None) -> None:
    """Turn USER's subscription URL off (subscribed calendars stop updating)."""
    from dashboards.auth_store import AuthStore
    from dashboards.calendar_tokens import CalendarStore

    if not for_user:
        fail("name the user: salescope calendar revoke --for USER")
    s = Settings.from_env(home)
    if AuthStore(s.auth_db_path).get_user(for_user) is None:
        fail(f"no dashboard user {for_user!r}: see `salescope users list`")
    if CalendarStore(s.calendar_db_path).revoke(for_user):
        console.print(f"[yellow]revoked[/] {for_user}'s calendar URL")
    else:
        console.print(f"{for_user} had no calendar URL: nothing to revoke")
