"""SALESCOPE_DAGSTER_STORAGE=postgresql://... puts Dagster's runs, event log and schedules in PostgreSQL.

Needs the PostgreSQL of DESIGN.md (127.0.0.1:5432, user postgres, trust); each test makes its own database
and drops it. No pipeline: one trivial asset is materialized, and a dead run is made by hand.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
import pytest

from salescope.settings import Settings

SECRET = "Dg-Pg-Secret-5521"  # trust auth: accepted and ignored by the server, so it must never show up


def _admin(sql: str) -> None:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
        con.execute(sql)


@pytest.fixture
def pg_home(tmp_path, monkeypatch):
    db = f"dagster_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{db}"')
    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SALESCOPE_DAGSTER_STORAGE", f"postgresql://postgres:{SECRET}@127.0.0.1:5432/{db}")
    yield Settings.from_env(), db
    _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _runs_in(db: str) -> dict[str, str]:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}") as con:
        return dict(con.execute("SELECT run_id, status FROM runs").fetchall())


def test_the_instance_of_the_settings_keeps_runs_in_postgresql_and_recovers_dead_runs(pg_home):
    from dagster import DagsterRun, DagsterRunStatus, asset, materialize
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from orchestration import recovery
    from orchestration.runner import open_instance

    s, db = pg_home
    assert s.dagster_storage_label == f"postgresql://postgres:***@127.0.0.1:5432/{db}"
    instance = open_instance(s)
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)

    @asset
    def trivial() -> int:
        return 1

    result = materialize([trivial], instance=instance, tags=recovery.process_tags())
    assert _runs_in(db)[result.run_id] == "SUCCESS"  # the record is in PostgreSQL, not in a SQLite file
    assert not list(s.dagster_home.glob("**/*.db"))

    # a run killed with SIGKILL: STARTED, holding the warehouse slot, its process gone
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tags = {**recovery.process_tags(), "salescope/pid": str(dead.pid), "salescope/pid_start": ""}
    run_id = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(job_name="full_build", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags)
    )
    instance.event_log_storage.set_concurrency_slots("warehouse", 1)
    assert instance.event_log_storage.claim_concurrency_slot("warehouse", run_id, "crm_raw").is_claimed
    assert [h.run_id for h in recovery.pool_holders(instance)] == [run_id]
    assert [r.run_id for r in recovery.recover_dead_runs(instance)] == [run_id]
    assert _runs_in(db)[run_id] == "FAILURE"
    assert recovery.pool_holders(instance) == []
    instance.dispose()

    # the password is nowhere in the home: dagster.yaml names the variable, not its value
    yaml = (s.dagster_home / "dagster.yaml").read_text()
    assert "env: SALESCOPE_DAGSTER_PG_URL" in yaml
    for path in s.home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_an_unusable_storage_is_named_with_its_password_masked(tmp_path, monkeypatch):
    from orchestration.runner import DagsterStorageError, open_instance

    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path / "home"))
    # a port that is not a number fails at once (a missing database too, after dagster-postgres's ~10 s of
    # connection retries: not worth the test time, same code path)
    monkeypatch.setenv("SALESCOPE_DAGSTER_STORAGE", f"postgresql://postgres:{SECRET}@127.0.0.1:54x2/dagster")
    with pytest.raises(DagsterStorageError) as err:
        open_instance(Settings.from_env())
    text = str(err.value)
    assert SECRET not in text and "postgresql://postgres:***@127.0.0.1:54x2/dagster" in text
    assert "SALESCOPE_DAGSTER_STORAGE" in text
    monkeypatch.setenv("SALESCOPE_DAGSTER_STORAGE", f"mysql://root:{SECRET}@db/x")
    with pytest.raises(ValueError) as bad:
        Settings.from_env()
    assert SECRET not in str(bad.value) and "not a PostgreSQL URL" in str(bad.value)
