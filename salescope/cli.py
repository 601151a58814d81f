"""The ``salescope`` command line: generate demo data, ingest, run the whole graph, serve dashboards.

``salescope run`` materialises the same Dagster asset graph the UI shows, in-process, so the CLI and
the Dagster UI never disagree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from salescope.commands import ltv as ltv_command
from salescope.commands import quality as quality_command
from salescope.commands import users as users_command
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


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _parse_date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-06-30")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the drop into.")],
    scale: Annotated[float, typer.Option(help="1 ≈ 200 users, 5,000 accounts, 20,000 deals, 400,000 touchpoints.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, byte-identical files.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or xlsx.")] = "csv",
    encoding: Annotated[str, typer.Option(help="utf-8 or gb18030 (csv only; Chinese headers).")] = "utf-8",
    defect_rate: Annotated[float, typer.Option(help="Share of rows per entity given one defect (0 = clean).")] = 0.0,
    as_of: Annotated[str, typer.Option(help="Export date: nothing after it is in the files.")] = DEFAULT_AS_OF,
) -> None:
    """Write a realistic, coherent CRM export (18 entity files, _manifest.json, _truth/)."""
    from salescope.generator import generate as run_generator

    started = time.perf_counter()
    try:
        with console.status("generating…") as status:
            manifest = run_generator(
                out, scale=scale, seed=seed, fmt=fmt, encoding=encoding, defect_rate=defect_rate,
                as_of=_parse_date(as_of, "--as-of"), progress=lambda m: status.update(f"generating: {m}"),
            )
    except ValueError as exc:
        _fail(str(exc))
    rows = sum(manifest["rows"].values())
    console.print(
        f"[green]wrote[/] {len(manifest['rows'])} files, {rows:,} rows, {len(manifest['defects']):,} injected defects "
        f"to {out} in {time.perf_counter() - started:.1f}s"
    )


@app.command()
def ingest(
    source: Annotated[Path, typer.Argument(help="Folder holding <entity>.csv|xlsx|parquet|jsonl files.")],
    as_of: Annotated[str | None, typer.Option(help="Dates after this are future_date defects (default: today).")] = None,
    home: HomeOpt = None,
) -> None:
    """Load a drop into the warehouse's raw tables only (no dbt, no publish)."""
    import uuid

    import duckdb

    from ingestion import ingest_directory, run_cross_checks
    from orchestration.run_context import today_in_business_tz

    s = _settings(home)
    if not source.is_dir():
        _fail(f"{source} is not a folder: pass the folder that holds your export files")
    run_id = f"ingest-{uuid.uuid4().hex[:12]}"
    con = duckdb.connect(str(s.warehouse_path))
    try:
        result = ingest_directory(
            con, source, as_of=_parse_date(as_of, "--as-of") or today_in_business_tz(), run_id=run_id,
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
        table.add_row(f.entity or "?", Path(f.file).name, f.status, f"{f.rows_read:,}", f"{f.rows_loaded:,}",
                      f"{f.rows_quarantined:,}")
    console.print(table)


def _demo_source(s: Settings, scale: float, seed: int) -> Path:
    """Generate the demo drop into SALESCOPE_HOME/landing once per (scale, seed)."""
    from salescope.generator import generate as run_generator

    out = s.landing_dir / f"demo-scale{scale:g}-seed{seed}"
    if (out / "_manifest.json").exists():
        console.print(f"using demo data in {out}")
        return out
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    with console.status("generating demo data…") as status:
        run_generator(out, scale=scale, seed=seed, progress=lambda m: status.update(f"generating demo data: {m}"))
    console.print(f"generated demo data (scale {scale:g}, seed {seed}) in {time.perf_counter() - started:.1f}s: {out}")
    return out


@app.command()
def run(
    source: Annotated[Path | None, typer.Option("--source", help="Folder of export files. Omit for demo data.")] = None,
    scale: Annotated[float, typer.Option(help="Demo data scale (without --source).")] = 0.2,
    seed: Annotated[int, typer.Option(help="Demo data seed (without --source).")] = 7,
    as_of: Annotated[
        str | None, typer.Option(help="Metrics as of this date (default: the demo's export date, or the data's latest event).")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Ingest -> dbt build -> quality gate -> publish. Exits 0 only when a snapshot was published."""
    s = _settings(home)
    given = _parse_date(as_of, "--as-of")
    if source is None:
        source = _demo_source(s, scale, seed)
        users_command.ensure_demo_users(s, source)
        given = given or date.fromisoformat(DEFAULT_AS_OF)
    elif not source.is_dir():
        _fail(f"--source {source} is not a folder: pass the folder that holds your export files")
    result = run_pipeline(s, source.resolve(), given)
    raise typer.Exit(0 if result else 1)


def run_pipeline(s: Settings, source: Path, as_of: date | None) -> bool:
    """Materialise the whole asset graph in-process; print a summary. True when a snapshot was published."""
    from orchestration.dbt_prepare import ensure_manifest

    started = time.perf_counter()
    with console.status("preparing the dbt project (dbt parse)…"):
        ensure_manifest(s)
    from dagster import DagsterInstance, materialize

    from orchestration.assets import ALL_ASSETS, dbt_project
    from orchestration.resources import SalescopeResource, dbt_resource

    resources = {
        "salescope": SalescopeResource(home=str(s.home), source_dir=str(source), as_of=as_of.isoformat() if as_of else ""),
        "dbt": dbt_resource(dbt_project, s),
    }
    instance = DagsterInstance.from_config(str(_dagster_home(s)))
    with console.status("running ingest → dbt build → quality gate → publish…"):
        result = materialize(
            ALL_ASSETS, resources=resources, instance=instance, raise_on_error=False,
            # step logs go to the Dagster event log (salescope ui); the terminal gets the summary below
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    elapsed = time.perf_counter() - started
    steps = {ev.step_key: ev.event_type_value for ev in result.all_events if ev.is_step_event and ev.step_key}
    published = result.success and any("serving_snapshot" in (k or "") for k in steps)
    timings = {st.step_key: (st.end_time or 0) - (st.start_time or 0) for st in instance.get_run_step_stats(result.run_id)}
    _print_run_summary(s, result.run_id, published, elapsed, timings)
    if not result.success:
        for ev in result.all_events:
            if ev.is_step_failure:
                console.print(f"[red]step {ev.step_key} failed:[/] {ev.step_failure_data.error.message.strip()}")
    return published


def _dagster_home(s: Settings) -> Path:
    """DAGSTER_HOME inside SALESCOPE_HOME, with one warehouse writer at a time."""
    home = s.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    text = (
        "concurrency:\n  pools:\n    default_limit: 1\n"
        "telemetry:\n  enabled: false\n"
    )
    if not cfg.exists() or cfg.read_text() != text:
        cfg.write_text(text)
    return home


def _print_run_summary(s: Settings, run_id: str, published: bool, elapsed: float, timings: dict[str, float]) -> None:
    import duckdb

    if not s.warehouse_path.exists():
        return
    con = duckdb.connect(str(s.warehouse_path), read_only=True)
    try:
        files = con.execute(
            """SELECT entity, file, status, rows_read, rows_loaded, rows_quarantined FROM ops.load_log
               WHERE run_id = ? ORDER BY entity""",
            [run_id],
        ).fetchall()
        issues = con.execute(
            "SELECT kind, action, count(*) FROM quality.issues WHERE run_id = ? GROUP BY 1, 2 ORDER BY 3 DESC",
            [run_id],
        ).fetchall()
    finally:
        con.close()
    table = Table(title=f"run {run_id[:8]}")
    for col in ("entity", "status", "read", "loaded", "quarantined"):
        table.add_column(col, justify="left" if col in {"entity", "status"} else "right")
    for entity, _file, status, read, loaded, quarantined in files:
        table.add_row(entity or "?", status, f"{read:,}", f"{loaded:,}", f"{quarantined:,}")
    tot = [sum(f[i] for f in files) for i in (3, 4, 5)]
    table.add_row("[b]total", "", *(f"[b]{t:,}" for t in tot))
    console.print(table)
    if issues:
        console.print("data issues: " + ", ".join(f"{k} ({a}) {n:,}" for k, a, n in issues))
    if timings:
        console.print("steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    verdict = "[green]published[/]" if published else "[red]NOT published[/] (the previous snapshot, if any, is unchanged)"
    console.print(f"{verdict} in {elapsed:.1f}s")
    console.print(f"  serving snapshot: {s.serving_path}")
    console.print(f"  warehouse:        {s.warehouse_path}")
    console.print("  dashboard:        salescope serve   (then open http://localhost:8501)")
    console.print("  dagster UI:       salescope ui")


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
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboards" / "app.py"),
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.showErrorDetails", "none",
           "--client.toolbarMode", "viewer"]
    console.print(f"dashboard on http://localhost:{port}  (Ctrl+C to stop)")
    raise typer.Exit(subprocess.call(cmd, env=_child_env(s)))


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port for the Dagster UI.")] = 3000,
    home: HomeOpt = None,
) -> None:
    """Start the Dagster UI on the same asset graph `salescope run` executes."""
    from orchestration.dbt_prepare import ensure_manifest

    s = _settings(home)
    ensure_manifest(s)
    env = _child_env(s) | {"DAGSTER_HOME": str(_dagster_home(s))}
    cmd = [str(Path(sys.executable).parent / "dagster"), "dev", "-m", "orchestration.definitions", "-p", str(port)]
    console.print(f"Dagster UI on http://localhost:{port}  (Ctrl+C to stop)")
    raise typer.Exit(subprocess.call(cmd, env=env, cwd=REPO_ROOT))


def _child_env(s: Settings) -> dict[str, str]:
    import os

    return {**os.environ, "SALESCOPE_HOME": str(s.home)}


@app.command()
def contract(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the data dictionary as Markdown.")] = False,
    dbt_sources: Annotated[
        Path | None, typer.Option("--dbt-sources", help="Regenerate the dbt sources YAML at this path.")
    ] = None,
) -> None:
    """Show the source contract: entities, columns, types, allowed values."""
    from ingestion import contract_export
    from ingestion.contract import ENTITIES

    if dbt_sources:
        contract_export.write_dbt_sources(dbt_sources)
        console.print(f"wrote {dbt_sources}")
        return
    if markdown:
        print(contract_export.contract_markdown())
        return
    print(json.dumps({e.name: e.column_names for e in ENTITIES}, indent=1, ensure_ascii=False))


# sub-commands owned by one area each (dashboard users, data quality, LTV)
for _command in (users_command, quality_command, ltv_command):
    _command.register(app)

if __name__ == "__main__":
    app()
