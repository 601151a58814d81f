"""`salescope quality`: the latest quality verdict per suite, top issues, the quarantine, the Data Docs;
`--fix-list OUT.csv` writes every quarantined or flagged record with the fix to ask the data owner for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command(name="quality")(quality)


def quality(
    fix_list: Annotated[
        Path | None,
        typer.Option(
            "--fix-list", help="Write every quarantined or flagged record with its fix to this CSV."
        ),
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="Runtime folder (default: $SALESCOPE_HOME or ./.salescope).")
    ] = None,
) -> None:
    """Data quality of the latest run: pass/fail per suite, top issues, quarantine, Data Docs, fix list."""
    import duckdb

    from data_quality import report
    from salescope.settings import Settings

    s = Settings.from_env(home)
    if not s.warehouse_path.exists():
        console.print(f"[bold red]error:[/] no warehouse at {s.warehouse_path}: run `salescope run` first")
        raise typer.Exit(2)
    con = duckdb.connect(str(s.warehouse_path), read_only=True)
    try:
        run = report.latest_run(con)
        if run is None:
            console.print("[bold red]error:[/] no quality run yet: run `salescope run` first")
            raise typer.Exit(2)
        run_id, status, as_of = run
        colour = {"passed": "green", "warnings": "yellow", "failed": "red"}.get(status, "white")
        console.print(f"quality run {run_id} (as of {as_of}): [bold {colour}]{status}[/]")
        table = Table(title="suites")
        for col in ("suite", "status", "expectations", "blocking failed", "warnings", "sample keys"):
            table.add_column(col)
        for suite, st, n, fb, fw, _unexpected, keys in report.suite_results(con, run_id):
            c = {"passed": "green", "warnings": "yellow", "failed": "red"}.get(st, "bright_black")
            table.add_row(
                suite, f"[{c}]{st}[/]", str(n), str(fb), str(fw), ", ".join(json.loads(keys or "[]")[:3])
            )
        console.print(table)
        issues = Table(title="top issues (this run's flags and the current quarantine)")
        for col in ("entity", "kind", "severity", "records", "example key"):
            issues.add_column(col)
        for entity, kind, severity, n, example in report.top_issues(con, run_id):
            issues.add_row(entity, kind, severity, f"{n:,}", str(example))
        console.print(issues)
        q = Table(title="quarantine by entity and kind (latest load of each entity)")
        for col in ("entity", "kind", "rows"):
            q.add_column(col)
        for entity, kind, n in report.quarantine_counts(con):
            q.add_row(entity, kind, f"{n:,}")
        console.print(q)
        docs = s.quality_docs_dir / "index.html"
        console.print(f"Data Docs: {docs}" + ("" if docs.exists() else " (not built yet)"))
        if fix_list is not None:
            n = report.write_fix_list(con, fix_list)
            console.print(f"fix list: {n:,} records written to {fix_list}")
    finally:
        con.close()
    if status == "failed":
        raise typer.Exit(1)
