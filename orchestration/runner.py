"""Execute the whole asset graph in this process, the way ``salescope run`` does, crash-safely.

Before it starts: take the home's writer lock, end what a crashed run left running, mark dead runs failed
and free their pool slots, and wait (visibly, bounded) while a live run holds the warehouse. While it
runs: every Dagster event reaches an observer (the CLI's progress display); SIGTERM stops it like Ctrl-C.
Afterwards, whatever happened: the run is finished in the instance, its slot is free, its children are
gone and the lock is released.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, Definitions, in_process_executor

from orchestration import recovery
from orchestration.run_guard import (
    WarehouseBusy,
    WriterLock,
    end_leftovers,
    end_processes,
    is_resource_tracker,
    processes_with_token,
)
from salescope.settings import DAGSTER_PG_URL_ENV, Settings

# the steps of the graph in the order they run, with what a person calls them
STEP_LABELS = {
    "crm_raw": "ingest",
    "dbt_models": "dbt build",
    "quality_gate": "quality gate",
    "ml_deal_scores": "ML deal scores",
    "ml_customer_ltv": "ML customer LTV",
    "ml_next_actions": "ML next actions",
    "ml_forecast_weighted": "ML weighted pipeline",
    "ml_bookings_forecast": "ML bookings forecast",
    "serving_snapshot": "publish",
}
DAGSTER_YAML = (
    "concurrency:\n  pools:\n    default_limit: 1\n"
    "run_monitoring:\n  enabled: true\n"
    "telemetry:\n  enabled: false\n"
)
# SALESCOPE_DAGSTER_STORAGE set: runs, event log (with the pool slots) and schedules in PostgreSQL. The file
# names the variable, not its value: the password is never written to SALESCOPE_HOME
DAGSTER_YAML_POSTGRES = (
    DAGSTER_YAML + f"storage:\n  postgres:\n    postgres_url:\n      env: {DAGSTER_PG_URL_ENV}\n"
)


class DagsterStorageError(RuntimeError):
    """Dagster's storage (PostgreSQL by SALESCOPE_DAGSTER_STORAGE) cannot be opened; no password in it."""


class RunInterrupted(RuntimeError):
    """The run was stopped by SIGINT or SIGTERM; everything was released."""

    def __init__(self, run_id: str | None):
        self.run_id = run_id
        what = f"run {run_id[:8]}" if run_id else "the run"
        super().__init__(
            f"{what} was stopped (Ctrl-C or SIGTERM); the last published snapshot is still serving"
        )


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (`salescope stop`, systemd, kill) stops a run the way Ctrl-C does, at any moment of it.

    Without this, a SIGTERM before Dagster installs its own handler (while waiting for the lock or the
    pool, while parsing the dbt project) killed the process on the spot, leaving a NOT_STARTED run behind.
    Dagster installs its handler for the execution itself and restores this one afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class RunObserver:
    """What a run reports while it runs. The CLI's progress display overrides these; the default is silent."""

    def preparing(self, message: str) -> None: ...
    def waiting(self, message: str, seconds_left: float) -> None: ...
    def recovered(self, message: str) -> None: ...
    def started(self, run_id: str) -> None: ...
    def step_started(self, step: str) -> None: ...
    def step_progress(self, step: str, done: int, total: int) -> None: ...
    def step_finished(self, step: str, status: str, seconds: float, summary: str) -> None: ...


@dataclass
class StepResult:
    status: str = "running"  # running, done, failed, skipped
    started: float = 0.0
    seconds: float = 0.0
    materialized: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    metadata: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)  # how many of the step's assets ended in each status
    error: str = ""


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    published: bool
    seconds: float
    steps: dict[str, StepResult]
    recovered: list[str] = field(default_factory=list)

    def failures(self) -> list[tuple[str, str]]:
        return [(k, s.error) for k, s in self.steps.items() if s.status == "failed"]


def dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME inside SALESCOPE_HOME: one warehouse writer at a time, dead runs detected by the daemon.

    Storage: SQLite files in this folder by default; with ``SALESCOPE_DAGSTER_STORAGE=postgresql://...``
    dagster-postgres (run, event log and schedule storage): the file names the variable
    ``SALESCOPE_DAGSTER_PG_URL`` (set here from the settings, inherited by ``dagster dev``, the daemon and its
    runs), never the URL, so the password stays off the disk."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    settings.configure_dagster()
    cfg = home / "dagster.yaml"
    text = DAGSTER_YAML_POSTGRES if settings.dagster_storage else DAGSTER_YAML
    if not cfg.exists() or cfg.read_text() != text:
        cfg.write_text(text)
    return home


def open_instance(settings: Settings) -> DagsterInstance:
    """The Dagster instance of this home (SQLite, or PostgreSQL by SALESCOPE_DAGSTER_STORAGE).

    A storage that cannot be opened raises DagsterStorageError naming the storage with its password masked."""
    home = dagster_home(settings)
    try:
        return DagsterInstance.from_config(str(home))
    except Exception as exc:
        if not settings.dagster_storage:
            raise
        text = f"{type(exc).__name__}: {_first_line(exc)}"
        secret = _password_of(settings.dagster_storage)
        if secret:
            text = text.replace(secret, "***")
        raise DagsterStorageError(
            f"cannot open Dagster's storage {settings.dagster_storage_label} (SALESCOPE_DAGSTER_STORAGE): "
            f"{text}. Check that the server runs and the database exists, or unset SALESCOPE_DAGSTER_STORAGE "
            "to keep Dagster's records in SQLite under SALESCOPE_HOME."
        ) from None


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _password_of(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return ""
    return unquote(password) if password else ""


def _meta_value(v):
    return getattr(v, "value", v)


class _EventTracker:
    """Turns the run's Dagster events into step results and observer calls."""

    def __init__(self, observer: RunObserver, dbt_nodes: int):
        self.observer = observer
        self.dbt_nodes = dbt_nodes
        self.steps: dict[str, StepResult] = {}

    def __call__(self, entry) -> None:
        try:
            self._track(entry)
        except Exception as err:  # a display problem must never fail the run
            print(f"salescope: progress display error: {type(err).__name__}: {err}", file=sys.stderr)

    def _track(self, entry) -> None:
        ev = entry.dagster_event if entry.is_dagster_event else None
        if ev is None or not ev.step_key:
            return
        step = ev.step_key
        kind = ev.event_type
        if kind == DagsterEventType.STEP_START:
            self.steps[step] = StepResult(started=time.monotonic())
            self.observer.step_started(step)
            return
        res = self.steps.setdefault(step, StepResult(started=time.monotonic()))
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            res.materialized += 1
            status = _meta_value(ev.event_specific_data.materialization.metadata.get("status"))
            if isinstance(status, str):
                res.statuses[status] = res.statuses.get(status, 0) + 1
            for k, v in ev.event_specific_data.materialization.metadata.items():
                v = _meta_value(v)
                if isinstance(v, int | float) and not isinstance(v, bool):
                    res.metadata[k] = res.metadata.get(k, 0) + v
                else:
                    res.metadata[k] = v
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            if ev.event_specific_data.passed:
                res.checks_passed += 1
            else:
                res.checks_failed += 1
        if step == "dbt_models" and kind in (
            DagsterEventType.ASSET_MATERIALIZATION,
            DagsterEventType.ASSET_CHECK_EVALUATION,
            DagsterEventType.ASSET_OBSERVATION,
        ):
            self.observer.step_progress(
                step, res.materialized + res.checks_passed + res.checks_failed, self.dbt_nodes
            )
        if kind in (
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.STEP_SKIPPED,
        ):
            res.seconds = time.monotonic() - res.started
            res.status = {
                DagsterEventType.STEP_SUCCESS: "done",
                DagsterEventType.STEP_FAILURE: "failed",
                DagsterEventType.STEP_SKIPPED: "skipped",
            }[kind]
            if kind == DagsterEventType.STEP_FAILURE:
                err = ev.step_failure_data.error
                res.error = (err.message if err else "failed").strip()
            self.observer.step_finished(step, res.status, res.seconds, step_summary(step, res))


def step_summary(step: str, res: StepResult) -> str:
    """One line a person reads: what the step did."""
    m = res.metadata
    if res.status == "failed":
        if "Interrupted" in res.error:
            return "interrupted"
        return res.error.splitlines()[0][:160] if res.error else "failed"
    if step == "crm_raw":
        unchanged = res.statuses.get("unchanged", 0)
        files = sum(n for k, n in res.statuses.items() if k != "absent")
        if files and unchanged == files:
            return f"{files} files unchanged since the last load: nothing new to read"
        deleted = int(m.get("rows_deleted", 0)) + int(m.get("keys_removed", 0))
        return (
            f"{int(m.get('rows_read', 0)):,} rows read, {int(m.get('rows_loaded', 0)):,} loaded, "
            f"{int(m.get('rows_quarantined', 0)):,} quarantined"
            + (f", {deleted:,} deleted" if deleted else "")
            + (f" ({unchanged} files unchanged)" if unchanged else "")
        )
    if step == "dbt_models":
        failed = f", {res.checks_failed} failed" if res.checks_failed else ""
        return f"{res.materialized} models, {res.checks_passed} tests passed{failed}"
    if step == "quality_gate":
        warnings = int(m.get("warnings", 0))
        return "passed" if not warnings else f"passed with {warnings} warning{'s' * (warnings != 1)}"
    if step.startswith("ml_"):
        return str(m.get("message") or m.get("status") or "")[:160]
    if step == "serving_snapshot":
        return f"{int(m.get('tables', 0))} tables, as of {m.get('as_of', '?')}"
    return ""


def _wait_for_pool(instance: DagsterInstance, observer: RunObserver, wait: float) -> None:
    """Return once no live run holds the warehouse pool; raise WarehouseBusy after ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        holders = [h for h in recovery.pool_holders(instance) if h.alive is not False]
        if not holders:
            return
        left = deadline - time.monotonic()
        message = "; ".join(h.describe() for h in holders) + " holds the warehouse"
        if left <= 0:
            raise WarehouseBusy(None, wait, message)
        observer.waiting(message, left)
        time.sleep(min(1.0, left))
        recovery.recover_dead_runs(instance)


def execute(
    settings: Settings,
    source: Path | str,
    as_of: date | None,
    *,
    observer: RunObserver | None = None,
    wait: float = 0.0,
    prepare: Callable[[], object] | None = None,
    compare_keys: bool = True,
) -> RunOutcome:
    """Run ingest → dbt → quality gate → ML → publish once. Raises WarehouseBusy or RunInterrupted.

    ``source`` is a folder of export files, or (a ``str``) a CRM database URL without its password.
    ``prepare`` runs once the warehouse is ours (the CLI parses the dbt project there). ``compare_keys``:
    a database source is checked for hard deletes (every key) in this run.
    """
    observer = observer or RunObserver()
    with _sigterm_as_interrupt():
        try:
            return _execute_locked(settings, source, as_of, observer, wait, prepare, compare_keys)
        except KeyboardInterrupt:
            raise RunInterrupted(None) from None  # stopped before the Dagster run began: nothing to cancel


def _execute_locked(settings, source, as_of, observer, wait, prepare, compare_keys=True) -> RunOutcome:
    started = time.perf_counter()
    lock = WriterLock(settings.home)
    lock.acquire(wait=wait, on_wait=lambda h, left: observer.waiting(str(WarehouseBusy(h)), left))
    run_id = str(uuid.uuid4())
    try:
        ended = end_leftovers(lock.previous)
        recovered_notes = []
        if ended:
            recovered_notes.append(
                f"ended {len(ended)} process(es) a crashed run left running (pids {ended})"
            )
        instance = open_instance(settings)
        for info in recovery.recover_dead_runs(instance):
            recovered_notes.append(f"{info.describe()} had died: marked failed, its warehouse slot freed")
        for note in recovered_notes:
            observer.recovered(note)
        _wait_for_pool(instance, observer, wait)
        if prepare is not None:
            prepare()
        lock.set_run_id(run_id)
        outcome = _execute_graph(settings, source, as_of, instance, observer, run_id, compare_keys)
        outcome.recovered = recovered_notes
        outcome.seconds = time.perf_counter() - started
        return outcome
    except (RunInterrupted, KeyboardInterrupt):
        # dbt (or dbt parse) was asked to stop; whatever of this run still works must not outlive it
        assert lock.holder is not None  # acquired before the run started
        end_processes([p for p in processes_with_token(lock.holder.token) if not is_resource_tracker(p)])
        raise
    finally:
        lock.release()


def _execute_graph(settings, source, as_of, instance, observer, run_id, compare_keys=True) -> RunOutcome:
    from orchestration.assets import dbt_models, dbt_project
    from orchestration.graph import ALL_ASSETS, ALL_CHECKS
    from orchestration.jobs import full_build
    from orchestration.resources import SalescopeResource, dbt_resource

    resources = {
        "salescope": SalescopeResource(
            home=str(settings.home),
            source_dir="" if isinstance(source, str) else str(source),
            source_url=source if isinstance(source, str) else "",
            compare_keys=compare_keys,
            as_of=as_of.isoformat() if as_of else "",
        ),
        "dbt": dbt_resource(dbt_project, settings),
    }
    defs = Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[full_build],
        resources=resources,
        executor=in_process_executor,
    )
    job = defs.resolve_job_def(full_build.name)
    tracker = _EventTracker(observer, len(dbt_models.keys) + len(dbt_models.check_keys))
    instance.add_event_listener(run_id, tracker)
    observer.started(run_id)
    t0 = time.perf_counter()
    # Dagster turns SIGINT into a clean interrupt of the running step (dbt is told to stop) and maps
    # SIGTERM to the same handler, so Ctrl-C and `salescope stop` end the run the same way
    try:
        result = job.execute_in_process(
            instance=instance,
            resources=resources,
            raise_on_error=False,
            run_id=run_id,
            tags=recovery.process_tags(),
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        interrupted = _was_interrupted(instance, run_id)
    except KeyboardInterrupt:
        interrupted = True
    if interrupted:
        recovery.finish_own_run(instance, run_id, "stopped by Ctrl-C or SIGTERM")
        raise RunInterrupted(run_id)
    steps = tracker.steps
    published = bool(result.success) and steps.get("serving_snapshot", StepResult()).status == "done"
    return RunOutcome(run_id, bool(result.success), published, time.perf_counter() - t0, steps)


def _was_interrupted(instance: DagsterInstance, run_id: str) -> bool:
    """Dagster ends an interrupted in-process run as failed/canceled with an interrupt error."""
    records = instance.get_records_for_run(
        run_id,
        of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED},
    ).records
    for rec in records:
        ev = rec.event_log_entry.dagster_event
        assert ev is not None  # records filtered by event type carry their Dagster event
        text = ev.message or ""
        data = (
            getattr(ev, "step_failure_data", None) if ev.event_type == DagsterEventType.STEP_FAILURE else None
        )
        if data and data.error:
            text += data.error.cls_name + data.error.message
        if "Interrupt" in text or "interrupt" in text or ev.event_type == DagsterEventType.RUN_CANCELED:
            return True
    return False
