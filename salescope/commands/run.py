"""`salescope run` (the whole graph, crash-safe, one progress display), `salescope status` and `salescope stop`.

The terminal shows one progress display and a summary; everything dbt and Dagster print goes to a log
file under ``SALESCOPE_HOME/logs/`` (and to the Dagster event log); ``--verbose`` streams it as well.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table

from salescope.commands.common import fail, parse_date
from salescope.settings import DEFAULT_AS_OF, Settings, select_engine

console = Console(stderr=True)
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = 120  # a pipe or CI log: rich's default of 80 columns would break paths mid-line
KEEP_LOGS = 30  # run logs kept under SALESCOPE_HOME/logs


def register(app: typer.Typer) -> None:
    app.command(name="run")(run)
    app.command(name="status")(status)
    app.command(name="stop")(stop)


HomeOpt = Annotated[
    Path | None, typer.Option("--home", help="Runtime folder (default: $SALESCOPE_HOME or ./.salescope).")
]


def run(
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Folder of export files, or a CRM database URL (postgresql://user@host:5432/db, "
            "mysql+pymysql://user@host:3306/db) read incrementally. Omit for demo data.",
        ),
    ] = None,
    scale: Annotated[float, typer.Option(help="Demo data scale (without --source).")] = 0.2,
    seed: Annotated[int, typer.Option(help="Demo data seed (without --source).")] = 7,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Metrics as of this date (default: the demo's export date, or the data's latest event)."
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            help="Seconds to wait while another run holds the warehouse (default 0: exit 2 at once)."
        ),
    ] = 0.0,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Stream dbt and Dagster logs to the terminal too.")
    ] = False,
    key_check: Annotated[
        bool,
        typer.Option(
            "--key-check/--no-key-check",
            help="With a database source: compare every key of the source with raw to find hard deletes "
            "(default: every run).",
        ),
    ] = True,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="Where dbt builds the warehouse: duckdb (default), postgres (needs --warehouse-url) or spark "
            "(a local Spark session: pip install 'salescope[spark]', Java 17+). Default: $SALESCOPE_ENGINE.",
        ),
    ] = None,
    warehouse_url: Annotated[
        str | None,
        typer.Option(
            "--warehouse-url",
            help="With --engine postgres: postgresql://user@host:5432/database (default: "
            "$SALESCOPE_WAREHOUSE_URL; the password there or in $SALESCOPE_WAREHOUSE_PASSWORD).",
        ),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Ingest -> dbt build -> quality gate -> ML -> publish. Exits 0 only when a snapshot was published.

    Exit codes: 0 published, 1 not published (a step failed or the quality gate blocked), 2 another run
    holds the warehouse (or bad arguments), 130 stopped by Ctrl-C or SIGTERM (`salescope stop`).
    """
    from salescope.commands import users as users_command

    select_engine(engine, warehouse_url)
    try:
        s = Settings.from_env(home)
    except ValueError as exc:
        fail(str(exc))
    check_engine(s)
    s.ensure_dirs()
    given = parse_date(as_of)
    if source is not None and "://" in source:
        raise typer.Exit(
            execute_with_display(
                s, database_source(s, source), given, wait=wait, verbose=verbose, compare_keys=key_check
            )
        )
    if source is None:
        folder = demo_source(s, scale, seed)
        users_command.ensure_demo_users(s, folder)
        given = given or date.fromisoformat(DEFAULT_AS_OF)
    else:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            fail(
                f"--source {source} is not a folder: pass the folder that holds your export files, "
                "or a database URL such as postgresql://user@host:5432/crm"
            )
    raise typer.Exit(execute_with_display(s, folder.resolve(), given, wait=wait, verbose=verbose))


def check_engine(s: Settings) -> None:
    """Fail before the run when the engine cannot start: no PySpark, no Java, PostgreSQL not answering."""
    if s.engine == "spark":
        if (
            importlib.util.find_spec("pyspark") is None
            or importlib.util.find_spec("dbt.adapters.spark") is None
        ):
            fail(
                "--engine spark needs PySpark and dbt-spark: pip install 'salescope[spark]' (or make install)"
            )
        if not shutil.which("java"):
            fail(
                "--engine spark needs Java 17 or newer on PATH (e.g. apt-get install openjdk-17-jre-headless)"
            )
    if s.engine == "postgres":
        from salescope.engines import postgres
        from salescope.settings import mask_password

        try:
            postgres.connect(s.warehouse_url, s.warehouse_password).close()
        except Exception as exc:
            fail(f"--engine postgres: cannot connect to {mask_password(s.warehouse_url)}: {str(exc).strip()}")


def database_source(s: Settings, text: str) -> str:
    """Check a ``--source`` database URL before the run (a clear error naming host:port, the password
    masked); return it without its password, which stays in this process's memory only."""
    from ingestion.sql_source import SourceError, check_source, open_source, without_password
    from salescope.settings import remember_source_password

    try:
        bare, password = without_password(text)
        probe = open_source(bare)
        if password:
            remember_source_password(probe.label, password)
        check_source(open_source(bare, s.source_password(probe.label)))
    except SourceError as exc:
        fail(str(exc))
    except Exception as exc:  # parse errors of the URL (CrmDbError): already masked
        from salescope.crm_db.url import mask

        fail(mask(str(exc), None, text))
    return bare


def run_pipeline(s: Settings, source: Path, as_of: date | None, *, wait: float = 0.0) -> bool:
    """Run the whole graph quietly (logs to the log file) with the summary printed; True when published."""
    return execute_with_display(s, source, as_of, wait=wait) == 0


def execute_with_display(
    s: Settings,
    source: Path | str,
    as_of: date | None,
    *,
    wait: float = 0.0,
    verbose: bool = False,
    compare_keys: bool = True,
) -> int:
    """Run the graph with the progress display; print the summary; return the exit code."""
    from orchestration.dbt_prepare import ensure_manifest
    from orchestration.run_guard import WarehouseBusy
    from orchestration.runner import DagsterStorageError, RunInterrupted, execute

    log_path = new_log_path(s)
    started = time.perf_counter()
    try:
        with captured_output(log_path, tee=verbose) as terminal:
            out = Console(
                file=terminal, stderr=False, force_terminal=console.is_terminal, width=console.width
            )
            display = RunDisplay(out)
            with display.live():
                outcome = execute(
                    s,
                    source,
                    as_of,
                    observer=display,
                    wait=wait,
                    prepare=lambda: (display.preparing("preparing the dbt project"), ensure_manifest(s)),
                    compare_keys=compare_keys,
                )
    except WarehouseBusy as busy:
        console.print(
            f"[bold red]busy:[/] {busy}.\n  Wait for it (`salescope run --wait 600`), see it "
            "(`salescope status`) or stop it (`salescope stop`)."
        )
        return 2
    except RunInterrupted as stop_:
        console.print(f"[yellow]stopped:[/] {stop_}. Everything was released; log: {log_path}")
        return 130
    except DagsterStorageError as err:
        console.print(f"[bold red]error:[/] {err}")
        return 2
    _print_summary(s, outcome, time.perf_counter() - started, log_path)
    if not outcome.published:
        alert_stewards(s, outcome.run_id, outcome.failures())
    return 0 if outcome.published else 1


def alert_stewards(s: Settings, run_id: str, failures: list[tuple[str, str]]) -> None:
    """Tell data stewards and admins that the run published nothing (salescope.notify), once per run; a
    notification that fails is reported here and never changes the run's exit code."""
    try:
        from salescope.notify.service import report_run

        outcomes = report_run(s, run_id, failures)
    except Exception as exc:  # noqa: BLE001 (the run's outcome stands whatever the notification does)
        console.print(f"[yellow]could not alert the data stewards:[/] {type(exc).__name__}")
        return
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        console.print(
            f"[yellow]the alert to data stewards failed for {len(failed)} target(s)[/]: `salescope notify log`"
        )


def demo_source(s: Settings, scale: float, seed: int) -> Path:
    """Generate the demo drop into SALESCOPE_HOME/landing once per (scale, seed)."""
    from salescope.generator import generate as run_generator

    out = s.landing_dir / f"demo-scale{scale:g}-seed{seed}"
    if (out / "_manifest.json").exists():
        console.print(f"using demo data in {out}")
        return out
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    with console.status("generating demo data…") as status:
        run_generator(
            out, scale=scale, seed=seed, progress=lambda m: status.update(f"generating demo data: {m}")
        )
    console.print(
        f"generated demo data (scale {scale:g}, seed {seed}) in {time.perf_counter() - started:.1f}s: {out}"
    )
    return out


# --- logs -----------------------------------------------------------------------------------------------


def new_log_path(s: Settings) -> Path:
    s.logs_dir.mkdir(parents=True, exist_ok=True)
    logs = sorted(s.logs_dir.glob("run-*.log"))
    for old in logs[: max(0, len(logs) - KEEP_LOGS + 1)]:
        old.unlink(missing_ok=True)
    return s.logs_dir / f"run-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"


@contextlib.contextmanager
def captured_output(log_path: Path, *, tee: bool = False):
    """Send this process's stdout and stderr (and its children's: dbt) to ``log_path``; yield the terminal.

    Redirected at the file-descriptor level, so Python loggers holding the old stream, C libraries and
    subprocesses all land in the log. With ``tee`` a thread also copies everything to the terminal.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log = open(log_path, "ab", buffering=0)  # noqa: SIM115 (closed below, after the fds are restored)
    pump = None
    if tee:
        read_end, write_end = os.pipe()
        pump = threading.Thread(target=_tee, args=(read_end, log, saved_err), daemon=True)
        pump.start()
        target = write_end
    else:
        target = log.fileno()
    os.dup2(target, 1)
    os.dup2(target, 2)
    terminal = os.fdopen(os.dup(saved_err), "w", buffering=1)
    try:
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        if pump is not None:
            os.close(write_end)
            pump.join(timeout=5)
        terminal.close()
        os.close(saved_out)
        os.close(saved_err)
        log.close()


def _tee(read_end: int, log, terminal_fd: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as src:
        while chunk := src.read(65536):
            log.write(chunk)
            with contextlib.suppress(OSError):
                os.write(terminal_fd, chunk)


# --- the progress display -------------------------------------------------------------------------------


class RunDisplay:  # implements orchestration.runner.RunObserver
    """One table: the current step with its elapsed time, and each finished step's result.

    On a terminal it redraws in place; elsewhere (CI, a pipe) it prints one line per finished step.
    """

    def __init__(self, out: Console):
        from orchestration.runner import STEP_LABELS

        self.out = out
        self.labels = STEP_LABELS
        self.rows: dict[str, list[str]] = {}
        self.note = ""
        self.started_at = time.monotonic()
        self.step_started_at: dict[str, float] = {}
        self._live: Live | None = None

    @contextlib.contextmanager
    def live(self):
        if not self.out.is_terminal:
            yield
            return
        with Live(
            self._render(),
            console=self.out,
            refresh_per_second=4,
            transient=False,
            get_renderable=self._render,
        ) as live:
            self._live = live
            yield
        self._live = None

    def _render(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
        table.add_column("step")
        table.add_column("", justify="left")
        table.add_column("time", justify="right")
        table.add_column("result", overflow="ellipsis", no_wrap=True, max_width=max(30, self.out.width - 40))
        for step, label in self.labels.items():
            status, secs, result = self.rows.get(step, ["waiting", "", ""])
            if status == "running":
                secs = f"{time.monotonic() - self.step_started_at[step]:.0f}s"
            table.add_row(label, _STATUS_MARK[status], secs, result)
        if self.note:
            table.caption = self.note
        return table

    def _line(self, text: str) -> None:
        if not self.out.is_terminal:
            self.out.print(text, highlight=False)

    # RunObserver
    def preparing(self, message: str) -> None:
        self.note = message

    def waiting(self, message: str, seconds_left: float) -> None:
        first = not self.note.startswith(message)
        self.note = f"{message} — waiting, {seconds_left:.0f}s left"
        if not self.out.is_terminal and (first or round(seconds_left) % 10 == 0):
            self._line(self.note)

    def recovered(self, message: str) -> None:
        self.out.print(f"[yellow]recovered:[/] {message}")

    def started(self, run_id: str) -> None:
        self.note = f"run {run_id[:8]}"

    def step_started(self, step: str) -> None:
        self.step_started_at[step] = time.monotonic()
        self.rows[step] = ["running", "", ""]

    def step_progress(self, step: str, done: int, total: int) -> None:
        self.rows[step] = ["running", "", f"{min(done, total)}/{total} models and tests"]

    def step_finished(self, step: str, status: str, seconds: float, summary: str) -> None:
        self.rows[step] = [status, f"{seconds:.1f}s", summary]
        short = summary if len(summary) <= 72 else summary[:71] + "…"
        self._line(f"{_STATUS_MARK[status]} {self.labels.get(step, step):<20} {seconds:6.1f}s  {short}")


_STATUS_MARK = {"waiting": "·", "running": "…", "done": "✓", "failed": "✗", "skipped": "-"}


def _print_summary(s: Settings, outcome, elapsed: float, log_path: Path) -> None:
    import duckdb

    if s.warehouse_path.exists():
        con = duckdb.connect(str(s.warehouse_path), read_only=True)
        try:
            files = con.execute(
                """SELECT entity, status, rows_read, rows_loaded, rows_quarantined,
                          coalesce(rows_deleted, 0) + coalesce(keys_removed, 0), source, cursor_from, cursor_to
                   FROM ops.load_log WHERE run_id = ? ORDER BY entity""",
                [outcome.run_id],
            ).fetchall()
            issues = con.execute(
                "SELECT kind, action, count(*) FROM quality.issues WHERE run_id = ? GROUP BY 1, 2 ORDER BY 3 DESC",
                [outcome.run_id],
            ).fetchall()
        except duckdb.Error:
            files, issues = [], []
        finally:
            con.close()
        if files and all(f[1] == "unchanged" for f in files):
            console.print(f"{len(files)} files unchanged since the last load")
        elif files:
            database = next((f[6] for f in files if f[6]), None)
            title = f"run {outcome.run_id[:8]}: " + (
                f"tables read from {database}" if database else "files loaded"
            )
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, title=title)
            cols = ["entity", "status", "read", "loaded", "quarantined"]
            if database:
                cols += ["deleted", "cursor (updated_at, Asia/Shanghai)"]
            for col in cols:
                table.add_column(
                    col,
                    justify="left" if col in {"entity", "status"} or col.startswith("cursor") else "right",
                )
            for entity, status_, read, loaded, quarantined, deleted, _src, c_from, c_to in files:
                row = [entity or "?", status_, f"{read:,}", f"{loaded:,}", f"{quarantined:,}"]
                if database:
                    row += [
                        f"{deleted:,}",
                        f"{_stamp(c_from) if c_from else 'full'} → {_stamp(c_to) if c_to else '-'}",
                    ]
                table.add_row(*row)
            tot = [sum(f[i] for f in files) for i in ((2, 3, 4, 5) if database else (2, 3, 4))]
            table.add_row("[b]total", "", *(f"[b]{t:,}" for t in tot), *([""] if database else []))
            console.print(table)
        if issues:
            console.print("data issues: " + ", ".join(f"{k} ({a}) {n:,}" for k, a, n in issues))
    for step, error in outcome.failures():
        console.print(f"[red]step {step} failed:[/] {error}")
    verdict = (
        "[green]published[/]"
        if outcome.published
        else "[red]NOT published[/] (the previous snapshot, if any, is unchanged)"
    )
    console.print(f"{verdict} in {elapsed:.1f}s")
    console.print(f"  serving snapshot: {s.serving_path}")
    if s.engine != "duckdb":
        from salescope.settings import mask_password

        where = mask_password(s.warehouse_url) if s.engine == "postgres" else f"local Spark, {s.spark_dir}"
        console.print(f"  dbt engine:       {s.engine} ({where})")
    console.print(f"  log:              {log_path}")
    console.print("  dashboard:        salescope serve   (then open http://localhost:8501)")
    console.print("  dagster UI:       salescope ui")


def _stamp(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


# --- status and stop ------------------------------------------------------------------------------------


def status(home: HomeOpt = None) -> None:
    """Who holds the warehouse now, unfinished runs (and whether their process lives), the latest log."""
    from orchestration import recovery
    from orchestration.run_guard import WriterLock, describe_holder
    from orchestration.runner import open_instance

    s = Settings.from_env(home)
    lock = WriterLock(s.home)
    if lock.try_acquire():
        lock.release()
        console.print("warehouse: free (no run in progress)")
    else:
        console.print(f"warehouse: {describe_holder(lock.read_holder())}")
    if s.dagster_home.exists():
        instance = open_instance(s)
        for info in recovery.unfinished_runs(instance):
            state = {True: "alive", False: "DEAD (the next run cleans it up)", None: "no process recorded"}[
                info.alive
            ]
            console.print(f"  {info.describe()}: {state}")
    logs = sorted(s.logs_dir.glob("run-*.log")) if s.logs_dir.exists() else []
    if logs:
        console.print(f"latest log: {logs[-1]}")
    if s.serving_path.exists():
        when = (
            datetime.fromtimestamp(s.serving_path.stat().st_mtime).astimezone().isoformat(timespec="seconds")
        )
        console.print(f"serving snapshot: {s.serving_path} (published {when})")


def stop(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the run to stop.")] = 20.0,
    home: HomeOpt = None,
) -> None:
    """Stop the run in progress (SIGTERM, like Ctrl-C in its terminal); the last snapshot keeps serving."""
    import signal
    import socket

    from orchestration.run_guard import WriterLock, describe_holder, process_alive

    s = Settings.from_env(home)
    lock = WriterLock(s.home)
    if lock.try_acquire():
        lock.release()
        console.print("no run in progress")
        return
    holder = lock.read_holder()
    if holder is None or holder.host != socket.gethostname():
        fail(f"{describe_holder(holder)}: it runs on another machine; stop it there")
    console.print(f"stopping: {describe_holder(holder)}")
    os.kill(holder.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process_alive(holder.pid):
        time.sleep(0.2)
    if process_alive(holder.pid):
        fail(
            f"pid {holder.pid} did not stop within {timeout:.0f}s; `kill -9 {holder.pid}` is safe "
            "(the next run recovers), then run again",
            code=1,
        )
    console.print("stopped; the last published snapshot is still serving")
