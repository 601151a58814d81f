"""Runs whose process is gone: mark them failed and free their pool slots, so the next run never waits.

A Dagster run killed with SIGKILL stays STARTED in the instance and keeps its slot in pool ``warehouse``;
the next in-process run then waits for that slot forever. Every run records the process executing it as
run tags (``salescope/pid``, host, boot id, process start time; see ``tag_run``), so a later run can tell a
dead run from a live one and clean up after the dead one alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from orchestration.pools import WAREHOUSE_POOL
from orchestration.run_guard import process_alive, this_process

TAG_PREFIX = "salescope/"
UNFINISHED = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
    DagsterRunStatus.QUEUED,
]


def process_tags() -> dict[str, str]:
    """Run tags naming the process that executes the run."""
    return {f"{TAG_PREFIX}{k}": v for k, v in this_process().items()}


def tag_run(instance: DagsterInstance, run_id: str) -> None:
    """Record this process on the run (runs the daemon launches get it from the resource's setup)."""
    run = instance.get_run_by_id(run_id)
    if run is not None and run.tags.get(f"{TAG_PREFIX}pid") != str(process_tags()[f"{TAG_PREFIX}pid"]):
        instance.add_run_tags(run_id, process_tags())


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    status: str
    pid: int | None
    host: str
    started_at: str
    alive: bool | None  # None: no process recorded with the run

    def describe(self) -> str:
        who = f"pid {self.pid} on {self.host}" if self.pid else "no process recorded"
        return f"run {self.run_id[:8]} ({self.status.lower()}, {who}, started {self.started_at})"


def _info(instance: DagsterInstance, run) -> RunInfo:
    tags = run.tags
    pid = int(tags[f"{TAG_PREFIX}pid"]) if tags.get(f"{TAG_PREFIX}pid", "").isdigit() else None
    alive = None
    if pid is not None:
        alive = process_alive(
            pid,
            tags.get(f"{TAG_PREFIX}host", ""),
            tags.get(f"{TAG_PREFIX}boot_id", ""),
            tags.get(f"{TAG_PREFIX}pid_start", ""),
        )
    record = instance.get_run_record_by_id(run.run_id)
    started = (
        record.start_time
        if record and record.start_time
        else (record.create_timestamp.timestamp() if record else 0)
    )
    when = datetime.fromtimestamp(started).astimezone().isoformat(timespec="seconds") if started else "?"
    return RunInfo(run.run_id, run.status.value, pid, tags.get(f"{TAG_PREFIX}host", ""), when, alive)


def unfinished_runs(instance: DagsterInstance) -> list[RunInfo]:
    """Runs of this instance not in a final state, with whether their process still lives."""
    return [_info(instance, r) for r in instance.get_runs(filters=RunsFilter(statuses=UNFINISHED))]


def recover_dead_runs(instance: DagsterInstance, *, exclude: str | None = None) -> list[RunInfo]:
    """Mark every unfinished run whose recorded process is gone as failed, and free the slots it holds.

    Also frees pool slots still claimed by runs that already ended. Returns the runs it marked failed.
    """
    recovered = []
    for info in unfinished_runs(instance):
        if info.run_id == exclude or info.alive is not False:
            continue
        run = instance.get_run_by_id(info.run_id)
        assert run is not None  # unfinished_runs just listed it
        message = (
            f"The process running this run (pid {info.pid} on {info.host}) is gone — killed, out of memory "
            f"or the machine stopped. Marked failed by the next Salescope run at "
            f"{datetime.now().astimezone().isoformat(timespec='seconds')}; its pool slots were freed."
        )
        instance.report_run_failed(run, message)
        instance.event_log_storage.free_concurrency_slots_for_run(info.run_id)
        recovered.append(info)
    for run_id in instance.event_log_storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        if run_id != exclude and (run is None or run.is_finished):
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return recovered


def pool_holders(instance: DagsterInstance, pool: str = WAREHOUSE_POOL) -> list[RunInfo]:
    """The runs that hold (or were assigned) a slot of ``pool`` now."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    run_ids = info.active_run_ids | info.assigned_run_ids
    runs = [instance.get_run_by_id(r) for r in sorted(run_ids)]
    return [_info(instance, r) for r in runs if r is not None]


def finish_own_run(instance: DagsterInstance, run_id: str, message: str) -> None:
    """After an interrupt: this run must not stay unfinished nor keep its slot."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        instance.report_run_canceled(run, message)
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)
