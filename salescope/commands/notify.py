"""``salescope notify targets|test|log``, ``salescope digest`` and ``salescope alerts``: reaching people.

Targets are ``SALESCOPE_HOME/notify.yml`` (apprise YAML, tagged by user name, team id and role); secrets in
them are never printed: targets show redacted. The library is ``salescope.notify``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from salescope.commands.common import fail
from salescope.settings import Settings

console = Console(stderr=True)
notify_app = typer.Typer(help="Notification targets (notify.yml): list, test, the log.", no_args_is_help=True)

HomeOpt = Annotated[
    Path | None, typer.Option("--home", help="Runtime folder (default: $SALESCOPE_HOME or ./.salescope).")
]
SendOpt = Annotated[
    bool,
    typer.Option("--send/--dry-run", help="Send (each message once), or print what would be sent (default)."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
    app.command(name="digest")(digest)
    app.command(name="alerts")(alerts)


def _targets(s: Settings):
    from salescope.notify.targets import NotifyConfigError, load

    try:
        return load(s.notify_config_path)
    except NotifyConfigError as exc:
        fail(str(exc), code=1)


def _report(outcomes) -> int:
    """Print each delivery (targets redacted); the number that failed."""
    failed = 0
    for o in outcomes:
        if o.status == "no_target":
            continue
        mark = {"delivered": "[green]sent[/]", "skipped": "already sent", "failed": "[red]FAILED[/]"}[
            o.status
        ]
        console.print(
            f"{mark}  {o.key}  → {o.target}" + (f"  ({o.error})" if o.error else ""), highlight=False
        )
        failed += o.status == "failed"
    return failed


@notify_app.command("targets")
def list_targets(home: HomeOpt = None) -> None:
    """The targets of notify.yml and their tags (URLs redacted: tokens and passwords never shown)."""
    table = Table(title="notification targets")
    for col in ("target (redacted)", "tags", "format"):
        table.add_column(col)
    for t in _targets(Settings.from_env(home)):
        table.add_row(t.label, ", ".join(t.tags), "html" if t.html else "text")
    Console().print(table)


@notify_app.command("test")
def test(
    tag: Annotated[str, typer.Argument(help="A user name, team id or role that targets are tagged with.")],
    home: HomeOpt = None,
) -> None:
    """Send a test message to every target tagged TAG; exit 1 when none is tagged so or a send fails."""
    from salescope.notify.service import test_message
    from salescope.notify.targets import matching

    s = Settings.from_env(home)
    if not matching(_targets(s), [tag]):
        fail(f"no target in {s.notify_config_path} is tagged {tag!r}: add `tag: {tag}` to one", code=1)
    if _report(test_message(s, tag)):
        fail("a target did not accept the test message (the error above is redacted): check its URL", code=1)


@notify_app.command("log")
def show_log(
    limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50, home: HomeOpt = None
) -> None:
    """ops.notification_log: when, to which tag and target (redacted), what, the dedupe key, the status."""
    from salescope.notify.log import NotifyLog

    table = Table(title="notification log (status unknown: interrupted after sending, not resent)")
    for col in ("claimed (UTC)", "tag", "target", "title", "dedupe key", "status", "error"):
        table.add_column(col)
    for r in NotifyLog(Settings.from_env(home).notify_dir).rows(limit):
        table.add_row(r.created_at[:19], r.tag, r.target, r.title, r.dedupe_key, r.status, r.error or "")
    Console().print(table)


def digest(
    user: Annotated[str | None, typer.Option("--for", help="One dashboard user, e.g. rep.")] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="Every user of a role: sales_rep, sales_manager, finance.")
    ] = None,
    send: SendOpt = False,
    home: HomeOpt = None,
) -> None:
    """Digests from the published snapshot, each in its user's row scope and language (dry run: print them).

    Reps and finance get a daily digest, managers a weekly one; the sensor after each publish sends only the
    ones due (managers on Mondays), this command builds every one asked for."""
    from salescope.notify.service import NothingToRead, digests

    if user and role:
        fail("use --for USER or --role ROLE, not both")
    s = Settings.from_env(home)
    try:
        result = digests(s, username=user, role=role, send_them=send)
    except (NothingToRead, LookupError) as exc:
        fail(str(exc), code=1)
    if not result.digests:
        console.print("no digest: only sales_rep, sales_manager and finance users get one")
        return
    if not send:
        for d in result.digests:
            print(f"===== {d.recipient.username} ({d.recipient.role}, {d.recipient.language}) =====")
            print(d.message.text)
        return
    for d in result.digests:
        if not any(o.key == d.key and o.status != "no_target" for o in result.outcomes):
            console.print(
                f"no target tagged {', '.join(d.recipient.tags)}: {d.recipient.username}'s digest not sent"
            )
    if _report(result.outcomes):
        raise typer.Exit(1)


def alerts(send: SendOpt = False, home: HomeOpt = None) -> None:
    """Alerts on events in the published snapshot (stalled deals, large deals lost or pushed twice, invoices
    30 days overdue), each sent once; dry run (default) prints them."""
    from salescope.notify.service import NothingToRead, alert_notes, send_notes

    s = Settings.from_env(home)
    try:
        notes = alert_notes(s)
    except NothingToRead as exc:
        fail(str(exc), code=1)
    if not send:
        for n in notes:
            print(f"----- {n.key} → {', '.join(n.tags)}")
            print(n.title)
            print(n.text)
        console.print(f"{len(notes)} alerts (dry run: nothing sent)")
        return
    _targets(s)
    if _report(send_notes(s, notes)):
        raise typer.Exit(1)
