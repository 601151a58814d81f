"""`salescope crm-db seed|advance`: a CRM database (PostgreSQL or MariaDB/MySQL) holding the demo world,
moved forward day by day. The password of a URL is never printed."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from salescope.commands.common import fail, parse_date

console = Console(stderr=True)
app = typer.Typer(help="A CRM database for demos and tests: seed the generator's world, play more days.")

UrlOpt = Annotated[
    str,
    typer.Option(
        "--url",
        help="postgresql://user@host:5432/db or mysql+pymysql://user@host:3306/db (password masked in output).",
    ),
]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="crm-db")


@app.command()
def seed(
    url: UrlOpt,
    scale: Annotated[float, typer.Option(help="1 ≈ 5,000 accounts, 20,000 deals (by --until).")] = 0.05,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same world.")] = 42,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The world's date, YYYY-MM-DD.")] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="End of the simulated frame (default: as-of + 365 days); advance stops there."
        ),
    ] = None,
    create: Annotated[bool, typer.Option("--create", help="Create the database when it is missing.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Drop and recreate the database first.")] = False,
) -> None:
    """Write the demo world as of --as-of into an empty database: one table per contract entity."""
    from salescope.crm_db import CrmDbError
    from salescope.crm_db import seed as do_seed

    day = parse_date(as_of) or date(2026, 6, 30)
    end = parse_date(until, "--until")
    try:
        with _progress() as bar:
            tasks: dict[str, int] = {}

            def step(entity: str, done: int, total: int) -> None:
                if not entity:
                    tasks[""] = bar.add_task("simulating the world", total=None)
                    return
                if "" in tasks:
                    bar.update(tasks.pop(""), total=1, completed=1)
                if entity not in tasks:
                    tasks[entity] = bar.add_task(entity, total=max(total, 1))
                bar.update(tasks[entity], completed=done if total else 1)

            result = do_seed(
                url,
                scale=scale,
                seed=seed,
                as_of=day,
                until=end,
                create=create,
                replace=replace,
                progress=step,
            )
    except CrmDbError as exc:
        fail(str(exc))
    from salescope.crm_db.url import parse_url

    total = sum(result.rows.values())
    console.print(
        f"seeded {parse_url(url).masked}: {total:,} rows in {len(result.rows)} tables as of {result.as_of} "
        f"(frame to {result.until}); simulate {result.seconds_simulate:.1f} s, write {result.seconds_write:.1f} s"
    )


@app.command()
def advance(
    url: UrlOpt,
    days: Annotated[int, typer.Option(help="Days of business to play.")] = 1,
    seed: Annotated[
        int | None, typer.Option(help="Seed for the deletions (default: the world's seed).")
    ] = None,
) -> None:
    """Play --days more days into a seeded database: inserts, updates, soft and hard deletes."""
    from salescope.crm_db import CrmDbError
    from salescope.crm_db import advance as do_advance
    from salescope.crm_db.advance import COUNTS

    try:
        with console.status("advancing") as status:
            result = do_advance(url, days=days, seed=seed, progress=lambda m: status.update(m))
    except CrmDbError as exc:
        fail(str(exc))
    table = Table(title=f"advance {result.advance_no}: {result.from_as_of} → {result.to_as_of}")
    table.add_column("table")
    for k in COUNTS:
        table.add_column(k.replace("_", " "), justify="right")
    sums = dict.fromkeys(COUNTS, 0)
    for name, c in result.counts.items():
        if any(c.values()):
            table.add_row(name, *(f"{c[k]:,}" for k in COUNTS))
        for k in COUNTS:
            sums[k] += c[k]
    table.add_row("[bold]total[/]", *(f"[bold]{sums[k]:,}[/]" for k in COUNTS))
    console.print(table)
    console.print(
        f"{result.total_changes:,} changes on {result.live_rows_before:,} rows: "
        f"{result.change_rate_per_day:.3%} per day; simulate {result.seconds_simulate:.1f} s, "
        f"apply {result.seconds_apply:.1f} s"
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
