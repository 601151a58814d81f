"""Dagster runs Salescope by itself (issue 12, part 4): a daily schedule per source, freshness checks that
fail after 26 h without a load, and step retries for a locked warehouse only.

No pipeline run: schedules are evaluated with ``build_schedule_context``, the freshness checks run on a
hand-made warehouse, and the retries on the ingest step alone over a tiny folder.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from contract import ENTITIES
from ingestion.load import now_local
from ingestion.raw_schema import ensure_warehouse_schema
from salescope.settings import Settings

SECRET = "Sched-Secret-4417"
DB_URL = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/crm"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SALESCOPE_SOURCE_URL", raising=False)
    s = Settings.from_env()
    s.ensure_dirs()
    return s


def _probe_defs(seen: dict):
    """A one-asset Definitions with Salescope's resource and job names: what a schedule's run config reaches."""
    from dagster import AssetSpec, Definitions, asset

    from orchestration.freshness import crm_freshness
    from orchestration.jobs import full_build
    from orchestration.keys import crm_key
    from orchestration.resources import default_resource

    @asset(required_resource_keys={"salescope"})
    def probe(context) -> None:
        res = context.resources.salescope
        seen.update(source_url=res.source_url, source_dir=res.source_dir)

    # full_build leaves the freshness checks out by name: they must be defined, as in the real definitions
    return Definitions(
        assets=[probe, *(AssetSpec(crm_key(e.name)) for e in ENTITIES)],
        asset_checks=[crm_freshness],
        jobs=[full_build],
        resources={"salescope": default_resource()},
    )


def test_database_schedule_is_named_after_the_source_and_points_the_ingest_at_it(home, monkeypatch):
    from dagster import DagsterInstance, build_schedule_context

    from orchestration.sensors import schedules

    monkeypatch.setenv("SALESCOPE_SOURCE_URL", DB_URL)
    s = Settings.from_env()
    by_name = {sch.name: sch for sch in schedules(s)}
    name = "daily_postgresql_127_0_0_1_5432_crm"
    assert set(by_name) == {"daily_build", "freshness_hourly", name}
    db = by_name[name]
    assert (db.cron_schedule, db.execution_timezone) == ("0 6 * * *", "Asia/Shanghai")
    assert by_name["daily_build"].execution_timezone == "Asia/Shanghai"
    with DagsterInstance.ephemeral() as instance:
        request = db.evaluate_tick(build_schedule_context(instance=instance)).run_requests[0]
    assert SECRET not in repr(request) and SECRET not in repr(db) and SECRET not in (db.description or "")
    assert request.tags["salescope/source"] == "postgresql://127.0.0.1:5432/crm"
    # the password taken off the URL stays in this process's memory for the ingest step
    assert s.source_password("postgresql://127.0.0.1:5432/crm") == SECRET
    # the run config reaches the resource: the job reads the database (without the password)
    seen: dict = {}
    job = _probe_defs(seen).resolve_job_def("full_build")
    assert job.execute_in_process(run_config=request.run_config).success
    assert seen["source_url"] == "postgresql://postgres@127.0.0.1:5432/crm"


def test_files_keep_daily_build_and_the_sensor_and_never_read_the_database(home, monkeypatch):
    from dagster import DagsterInstance, build_schedule_context, build_sensor_context

    from orchestration.sensors import daily_build, landing_files_changed, schedules

    assert [sch.name for sch in schedules(home)] == ["daily_build", "freshness_hourly"]
    folder = home.landing_dir / "current"
    with DagsterInstance.ephemeral() as instance:
        skipped = daily_build.evaluate_tick(build_schedule_context(instance=instance))
        assert not skipped.run_requests and "no export files" in (skipped.skip_message or "")
        folder.mkdir(parents=True)
        (folder / "accounts.csv").write_text("account_id\nA1\n")
        request = daily_build.evaluate_tick(build_schedule_context(instance=instance)).run_requests[0]
        sensed = landing_files_changed.evaluate_tick(build_sensor_context(instance=instance)).run_requests[0]
    # the UI's default may be a database (SALESCOPE_SOURCE_URL), files runs still read the folder
    monkeypatch.setenv("SALESCOPE_SOURCE_URL", DB_URL)
    for run_config in (request.run_config, sensed.run_config):
        seen: dict = {}
        assert (
            _probe_defs(seen).resolve_job_def("full_build").execute_in_process(run_config=run_config).success
        )
        assert seen == {"source_url": "", "source_dir": str(folder)}


def _warehouse_with_loads(s: Settings, loads: list[tuple[str, str, timedelta]]) -> None:
    """ops.load_log rows (entity, status, age) in a fresh warehouse, as ingestion writes them."""
    s.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(s.warehouse_path))
    ensure_warehouse_schema(con)
    for entity, status, age in loads:
        con.execute(
            "INSERT INTO ops.load_log (load_id, run_id, entity, file, status, loaded_at) VALUES (?, 'r', ?, ?, ?, ?)",
            [f"{entity}-{status}-{age}", entity, f"/drop/{entity}.csv", status, now_local() - age],
        )
    con.close()


def _run_freshness(s: Settings):
    from dagster import AssetSpec, DagsterInstance, Definitions

    from orchestration.freshness import crm_freshness
    from orchestration.jobs import freshness_checks
    from orchestration.keys import crm_key
    from orchestration.resources import SalescopeResource

    defs = Definitions(
        assets=[AssetSpec(crm_key(e.name)) for e in ENTITIES],
        asset_checks=[crm_freshness],
        jobs=[freshness_checks],
        resources={"salescope": SalescopeResource(home=str(s.home), source_dir="")},
    )
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("freshness_checks").execute_in_process(instance=instance)
    assert result.success  # a failed check is a result, not a failed run
    return {ev.asset_key.path[-1]: ev for ev in result.get_asset_check_evaluations()}


def test_freshness_passes_at_25_hours_fails_at_27_and_without_any_load(home):
    from dagster import AssetCheckSeverity

    from orchestration.freshness import FRESHNESS_CHECK, FRESHNESS_MAX_AGE

    assert timedelta(hours=26) == FRESHNESS_MAX_AGE
    none = _run_freshness(home)  # no warehouse at all
    assert len(none) == len(ENTITIES) and not any(ev.passed for ev in none.values())
    _warehouse_with_loads(
        home,
        [
            ("opportunities", "loaded", timedelta(hours=25)),
            ("accounts", "unchanged", timedelta(hours=25)),  # read again unchanged: the source delivered
            ("contacts", "loaded", timedelta(hours=27)),
            ("contacts", "error", timedelta(hours=1)),  # a failed load does not count
            ("users", "error", timedelta(hours=1)),
        ],
    )
    ev = _run_freshness(home)
    assert {e.check_name for e in ev.values()} == {FRESHNESS_CHECK}
    assert ev["opportunities"].passed and ev["accounts"].passed
    assert not ev["contacts"].passed and not ev["users"].passed and not ev["invoices"].passed
    assert ev["contacts"].severity == AssetCheckSeverity.WARN
    assert "has not loaded for 27 h (limit 26 h)" in ev["contacts"].description
    assert "/drop/contacts.csv" in ev["contacts"].description
    assert ev["users"].description.startswith("users has never loaded")
    assert "salescope run" in ev["invoices"].description
    assert ev["opportunities"].metadata["age_hours"].value == 25.0


def _hold_warehouse(path: Path, seconds: float) -> subprocess.Popen:
    """A second DuckDB writer process holding ``path`` for ``seconds``."""
    code = f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep({seconds})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _ingest_alone(s: Settings, source_dir: Path):
    """The ingest step (crm_raw) alone, in-process, as the job runs it (the dbt manifest is prepared)."""
    from dagster import DagsterEventType, DagsterInstance, Definitions, define_asset_job

    from orchestration.assets import crm_raw
    from orchestration.resources import SalescopeResource

    defs = Definitions(
        assets=[crm_raw],
        jobs=[define_asset_job("ingest", selection=[crm_raw])],
        resources={
            "salescope": SalescopeResource(home=str(s.home), source_dir=str(source_dir), as_of="2026-06-30")
        },
    )
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("ingest").execute_in_process(instance=instance, raise_on_error=False)
        retries = [
            e
            for e in instance.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event.event_type == DagsterEventType.STEP_UP_FOR_RETRY
        ]
    return result, retries


def test_a_locked_warehouse_is_retried_and_a_data_error_is_not(home, monkeypatch):
    import orchestration.retries as retries
    from orchestration.run_guard import WarehouseBusy

    assert retries.is_lock_error(WarehouseBusy(None))
    assert not retries.is_lock_error(ValueError("Could not parse 'x'"))
    assert not retries.is_lock_error(duckdb.ConstraintException("Duplicate key"))
    monkeypatch.setattr(retries, "LOCK_RETRY_SECONDS", 1.0)
    drop = home.landing_dir / "current"
    drop.mkdir(parents=True)
    (drop / "users.csv").write_text(
        "user_id,name,role,is_active\nU1,Li Wei,rep,true\nU2,Wang Fang,manager,true\n"
    )
    from orchestration.dbt_prepare import ensure_manifest

    ensure_manifest(home)  # before the lock is taken: the step itself must meet the lock
    import orchestration.assets  # noqa: F401  (imported before too: dbt's manifest, GX, dlt)

    holder = _hold_warehouse(home.warehouse_path, 1.5)  # a second writer holds the file: the first try fails
    try:
        t0 = time.monotonic()
        result, up = _ingest_alone(home, drop)
    finally:
        holder.wait(10)
    assert result.success, result.all_events
    assert 1 <= len(up) <= retries.LOCK_RETRIES
    assert "Could not set lock" in str(up[0].dagster_event.event_specific_data.error.cause)
    assert time.monotonic() - t0 >= 1.0
    loaded = duckdb.connect(str(home.warehouse_path), read_only=True)
    assert loaded.execute("SELECT count(*) FROM raw.users").fetchone()[0] > 0
    loaded.close()
    # a data error (here: the folder is not there) fails at once, without a retry
    result, up = _ingest_alone(home, home.landing_dir / "absent")
    assert not result.success and up == []
