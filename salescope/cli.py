"""The ``salescope`` command line: generate demo data, ingest, run the whole graph, serve dashboards.

``salescope run`` materialises the same Dagster asset graph the UI shows, in-process, so the CLI and
the Dagster UI never disagree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from salescope.commands import calendar as calendar_command
from salescope.commands import crm_db as crm_db_command
from salescope.commands import ltv as ltv_command
from salescope.commands import notify as notify_command
from salescope.commands import quality as quality_command
from salescope.commands import run as run_command
from salescope.commands import users as users_command
from salescope.commands import whatif as whatif_command
from salescope.commands.common import fail, parse_date
from salescope.commands.run import run_pipeline  # noqa: F401  (the programmatic entry tests and benches use)
from salescope.settings import DEFAULT_AS_OF, REPO_ROOT, Settings

app = typer.Typer(
    help="Salescope: the analytics stack for B2B project sales (customer -> opportunity -> project -> revenue).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

HomeOpt = Annotated[
    Path | None, typer.Option("--home", help="Runtime folder (default: $SALESCOPE_HOME or ./.salescope).")
]


def _settings(home: Path | None) -> Settings:
    s = Settings.from_env(home)
    s.ensure_dirs()
    return s


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the drop into.")],
    scale: Annotated[
        float, typer.Option(help="1 ≈ 200 users, 5,000 accounts, 20,000 deals, 400,000 touchpoints.")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, byte-identical files.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or xlsx.")] = "csv",
    encoding: Annotated[str, typer.Option(help="utf-8 or gb18030 (csv only; Chinese headers).")] = "utf-8",
    defect_rate: Annotated[
        float, typer.Option(help="Share of rows per entity given one defect (0 = clean).")
    ] = 0.0,
    as_of: Annotated[
        str, typer.Option(help="Export date: nothing after it is in the files.")
    ] = DEFAULT_AS_OF,
) -> None:
    """Write a realistic, coherent CRM export (18 entity files, _manifest.json, _truth/)."""
    from salescope.generator import generate as run_generator

    started = time.perf_counter()
    try:
        with console.status("generating…") as status:
            manifest = run_generator(
                out,
                scale=scale,
                seed=seed,
                fmt=fmt,
                encoding=encoding,
                defect_rate=defect_rate,
                as_of=parse_date(as_of, "--as-of"),
                progress=lambda m: status.update(f"generating: {m}"),
            )
    except ValueError as exc:
        fail(str(exc))
    rows = sum(manifest["rows"].values())
    console.print(
        f"[green]wrote[/] {len(manifest['rows'])} files, {rows:,} rows, {len(manifest['defects']):,} injected defects "
        f"to {out} in {time.perf_counter() - started:.1f}s"
    )


@app.command()
def ingest(
    source: Annotated[Path, typer.Argument(help="Folder holding <entity>.csv|xlsx|parquet|jsonl files.")],
    as_of: Annotated[
        str | None, typer.Option(help="Dates after this are future_date defects (default: today).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Load a drop into the warehouse's raw tables only (no dbt, no publish)."""
    import uuid

    import duckdb

    from ingestion import ingest_directory, run_cross_checks
    from orchestration.run_context import today_in_business_tz

    s = _settings(home)
    if not source.is_dir():
        fail(f"{source} is not a folder: pass the folder that holds your export files")
    run_id = f"ingest-{uuid.uuid4().hex[:12]}"
    con = duckdb.connect(str(s.warehouse_path))
    try:
        result = ingest_directory(
            con,
            source,
            as_of=parse_date(as_of, "--as-of") or today_in_business_tz(),
            run_id=run_id,
            progress=lambda m: console.print(f"  {m}"),
        )
        flagged = run_cross_checks(con, run_id=run_id)
    finally:
        con.close()
    _print_load_table(result.files)
    console.print(f"{flagged:,} rows flagged by cross-entity checks (orphan references)")
    if result.errors:
        for err in result.errors:
            console.print(f"[red]error:[/] {err.message}")
        raise typer.Exit(1)


def _print_load_table(files) -> None:
    table = Table(title="files loaded", show_lines=False)
    for col in ("entity", "file", "status", "read", "loaded", "quarantined"):
        table.add_column(col, justify="right" if col in {"read", "loaded", "quarantined"} else "left")
    for f in files:
        table.add_row(
            f.entity or "?",
            Path(f.file).name,
            f.status,
            f"{f.rows_read:,}",
            f"{f.rows_loaded:,}",
            f"{f.rows_quarantined:,}",
        )
    console.print(table)


@app.command()
def prepare(home: HomeOpt = None) -> None:
    """Parse the dbt project (manifest.json) and write the dbt profile. run/ui do this when needed."""
    from orchestration.dbt_prepare import ensure_manifest

    path = ensure_manifest(_settings(home), force=True)
    console.print(f"dbt manifest: {path}")


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port for the dashboard.")] = 8501,
    home: HomeOpt = None,
) -> None:
    """Serve the Streamlit dashboards on the published snapshot."""
    s = _settings(home)
    if not s.serving_path.exists():
        console.print("[yellow]no snapshot published yet[/]: the pages will say how to run `salescope run`")
    # server.py: the app plus the routes that set and clear the HttpOnly session cookie
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(REPO_ROOT / "dashboards" / "server.py"),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "viewer",
    ]
    console.print(f"dashboard on http://localhost:{port}  (Ctrl+C to stop)")
    raise typer.Exit(subprocess.call(cmd, env=_child_env(s)))


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port for the Dagster UI.")] = 3000,
    home: HomeOpt = None,
) -> None:
    """Start the Dagster UI on the same asset graph `salescope run` executes."""
    from orchestration.dbt_prepare import ensure_manifest
    from orchestration.runner import dagster_home

    s = _settings(home)
    ensure_manifest(s)
    home_dir = dagster_home(s)  # first: it puts Dagster's storage URL in the environment the UI inherits
    env = _child_env(s) | {"DAGSTER_HOME": str(home_dir)}
    cmd = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-m",
        "orchestration.definitions",
        "-p",
        str(port),
    ]
    console.print(f"Dagster UI on http://localhost:{port}  (Ctrl+C to stop)")
    raise typer.Exit(subprocess.call(cmd, env=env, cwd=REPO_ROOT))


def _child_env(s: Settings) -> dict[str, str]:
    import os

    return {**os.environ, "SALESCOPE_HOME": str(s.home)}


@app.command()
def contract(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the data dictionary as Markdown.")
    ] = False,
    dbt_sources: Annotated[
        Path | None, typer.Option("--dbt-sources", help="Regenerate the dbt sources YAML at this path.")
    ] = None,
) -> None:
    """Show the source contract: entities, columns, types, allowed values."""
    from contract import ENTITIES, export

    if dbt_sources:
        export.write_dbt_sources(dbt_sources)
        console.print(f"wrote {dbt_sources}")
        return
    if markdown:
        print(export.contract_markdown())
        return
    print(json.dumps({e.name: e.column_names for e in ENTITIES}, indent=1, ensure_ascii=False))


# sub-commands owned by one area each (runs, dashboard users, data quality, LTV, the demo CRM database, the
# bottleneck simulator, the calendar feed, reaching people)
for _command in (
    run_command,
    users_command,
    quality_command,
    ltv_command,
    crm_db_command,
    whatif_command,
    calendar_command,
    notify_command,
):
    _command.register(app)

if __name__ == "__main__":
    app()
