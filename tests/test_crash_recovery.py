"""Crash safety with real processes and real kills: a run killed at any point never takes the published
snapshot with it, and the next run recovers by itself (dead Dagster runs, their pool slots, orphaned dbt).

The full drill, a kill at every step followed by a normal run, is ``bench/crash_drill.py``; these tests
cover each mechanism once, sharing the session's pipeline home.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from mart_diff import differences, tables

from salescope.settings import REPO_ROOT, Settings

SALESCOPE = str(Path(sys.executable).parent / "salescope")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SALESCOPE_FAILPOINT", "SALESCOPE_RUN_TOKEN"}}
    return env | extra


# --- the writer lock --------------------------------------------------------------------------------

HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from orchestration.run_guard import WriterLock
    lock = WriterLock(sys.argv[1], command="test holder")
    lock.acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


@pytest.fixture
def lock_holder(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=_env(),
    )
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait()


def test_second_run_on_a_busy_home_exits_2_at_once_naming_the_holder(tmp_path, lock_holder):
    drop = tmp_path / "drop"
    drop.mkdir()
    t0 = time.monotonic()
    res = subprocess.run(
        [SALESCOPE, "run", "--home", str(tmp_path), "--source", str(drop)],
        capture_output=True,
        text=True,
        env=_env(COLUMNS="200"),
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert f"pid {lock_holder.pid}" in res.stderr and "holds the warehouse" in res.stderr
    assert "salescope stop" in res.stderr  # says what to do
    assert time.monotonic() - t0 < 30  # never hangs: no waiting without --wait

    t0 = time.monotonic()
    res = subprocess.run(
        [SALESCOPE, "run", "--home", str(tmp_path), "--source", str(drop), "--wait", "3"],
        capture_output=True,
        text=True,
        env=_env(COLUMNS="200"),
        timeout=120,
    )
    assert res.returncode == 2
    assert "waiting" in res.stdout + res.stderr and f"pid {lock_holder.pid}" in res.stderr
    assert time.monotonic() - t0 >= 3


def test_sigterm_while_waiting_for_the_warehouse_stops_cleanly(tmp_path, lock_holder):
    """SIGTERM before the Dagster run begins (here: waiting for the lock) is a clean stop, not a kill."""
    drop = tmp_path / "drop"
    drop.mkdir()
    proc = subprocess.Popen(
        [SALESCOPE, "run", "--home", str(tmp_path), "--source", str(drop), "--wait", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(COLUMNS="200"),
    )
    for line in proc.stdout:  # wait until it is really waiting
        if "waiting" in line:
            break
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out = proc.stdout.read()
    assert proc.wait(timeout=30) == 130, out
    assert time.monotonic() - t0 < 10
    assert "stopped" in out and "still serving" in out


def test_lock_is_free_again_after_its_holder_is_killed(tmp_path, lock_holder):
    from orchestration.run_guard import WriterLock

    lock = WriterLock(tmp_path)
    assert not lock.try_acquire()
    assert lock.read_holder().pid == lock_holder.pid
    lock_holder.send_signal(signal.SIGKILL)
    lock_holder.wait()
    assert lock.try_acquire()  # the kernel dropped the flock with the process
    assert lock.previous.pid == lock_holder.pid  # and the dead holder is known, for its leftovers
    lock.release()


def test_leftover_children_of_a_dead_holder_are_ended(tmp_path):
    """A child that outlived its killed parent (an orphaned dbt) carries the run token and is ended."""
    from orchestration.run_guard import WriterLock, end_leftovers, processes_with_token

    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import subprocess, sys, time
            from orchestration.run_guard import WriterLock
            lock = WriterLock(sys.argv[1]); lock.acquire()
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            print(child.pid, flush=True)
            time.sleep(120)
        """),
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=_env(),
    )
    child_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    lock = WriterLock(tmp_path)
    assert lock.try_acquire()
    assert processes_with_token(lock.previous.token) == [child_pid]
    assert end_leftovers(lock.previous) == [child_pid]
    assert processes_with_token(lock.previous.token) == []
    lock.release()


# --- dead Dagster runs and pool slots -------------------------------------------------------------

POOL_JOB = textwrap.dedent("""
    import os, signal, sys, time
    from dagster import DagsterInstance, asset, materialize
    from orchestration.recovery import process_tags

    @asset(pool="warehouse")
    def writer():
        if sys.argv[2] == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        if sys.argv[2] == "hold":
            print("holding", flush=True)
            time.sleep(60)

    result = materialize([writer], instance=DagsterInstance.from_config(sys.argv[1]), tags=process_tags())
    print("success" if result.success else "failed", flush=True)
""")


def _pool_job(home: Path, mode: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", POOL_JOB, str(home), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO_ROOT,
        env=_env(),
        **kw,
    )


def test_dead_run_is_marked_failed_and_its_pool_slot_freed(tmp_path):
    from dagster import DagsterInstance, DagsterRunStatus

    from orchestration import recovery
    from orchestration.runner import dagster_home

    home = dagster_home(Settings.from_env(tmp_path))
    dead = _pool_job(home, "die")
    dead.wait(timeout=120)
    assert dead.returncode == -signal.SIGKILL
    instance = DagsterInstance.from_config(str(home))
    [info] = recovery.unfinished_runs(instance)
    assert info.status == "STARTED" and info.alive is False
    assert [h.run_id for h in recovery.pool_holders(instance)] == [info.run_id]

    # the failure mode being fixed: without recovery the next run waits for the dead run's slot
    blocked = _pool_job(home, "ok")
    with pytest.raises(subprocess.TimeoutExpired):
        blocked.wait(timeout=8)
    blocked.kill()
    blocked.wait()
    recovery.recover_dead_runs(instance)  # the killed waiter is dead too

    assert instance.get_run_by_id(info.run_id).status == DagsterRunStatus.FAILURE
    assert recovery.pool_holders(instance) == []
    assert recovery.unfinished_runs(instance) == []
    nxt = _pool_job(home, "ok")
    out, _ = nxt.communicate(timeout=120)
    assert out.strip().endswith("success")


def test_a_live_run_holding_the_pool_is_named_and_waited_for_within_bounds(tmp_path):
    from dagster import DagsterInstance

    from orchestration import recovery
    from orchestration.run_guard import WarehouseBusy
    from orchestration.runner import dagster_home, execute

    s = Settings.from_env(tmp_path)
    s.ensure_dirs()
    home = dagster_home(s)
    holder = _pool_job(home, "hold")
    try:
        assert holder.stdout.readline().strip() == "holding"
        instance = DagsterInstance.from_config(str(home))
        assert recovery.recover_dead_runs(instance) == []  # alive: left alone
        t0 = time.monotonic()
        with pytest.raises(WarehouseBusy, match=f"pid {holder.pid} .*holds the warehouse"):
            execute(s, tmp_path, None, wait=2)
        assert 2 <= time.monotonic() - t0 < 20
    finally:
        holder.kill()
        holder.wait()


# --- ingest killed mid-transaction ----------------------------------------------------------------


def test_ingest_killed_before_a_commit_then_rerun_loads_every_row_once(tmp_path, drop_factory):
    drop, manifest = drop_factory(scale=0.05, seed=7)
    home = tmp_path / "home"
    args = [SALESCOPE, "ingest", str(drop), "--home", str(home), "--as-of", "2026-06-30"]
    killed = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(SALESCOPE_FAILPOINT="ingest.before_commit:4"),
    )
    assert killed.returncode == -signal.SIGKILL
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300, env=_env())
    assert rerun.returncode == 0, rerun.stderr
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        loaded_by_entity = dict(
            con.execute(
                "SELECT entity, sum(rows_loaded) FROM ops.load_log WHERE status = 'loaded' GROUP BY 1"
            ).fetchall()
        )
        assert (
            con.execute(
                "SELECT count(*) FROM ops.load_log WHERE rows_read <> rows_loaded + rows_quarantined"
            ).fetchone()[0]
            == 0
        )
        for entity, rows in manifest["rows"].items():
            raw = con.execute(f"SELECT count(*), count(DISTINCT _record_key) FROM raw.{entity}").fetchone()
            assert raw == (rows, rows), entity  # every row once: none lost with the kill, none twice
            assert loaded_by_entity[entity] == rows, entity
    finally:
        con.close()


# --- publish: killed before the rename, mid-copy, and the disk filling up --------------------------


def _small_warehouse(path: Path, n: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE OR REPLACE TABLE marts.fct_opportunities AS SELECT range AS id, range * 1.5 AS amount "
        "FROM range(?)",
        [n],
    )
    con.execute("CREATE OR REPLACE TABLE marts.mart_bookings_monthly AS SELECT range AS m FROM range(12)")
    con.close()


PUBLISH = textwrap.dedent("""
    import sys, duckdb
    from datetime import date
    from orchestration.publish import publish_snapshot
    con = duckdb.connect(sys.argv[1])
    publish_snapshot(con, __import__("pathlib").Path(sys.argv[2]), run_id=sys.argv[3], as_of=date(2026, 6, 30),
                     quality_status="passed")
""")


def _publish(warehouse: Path, serving: Path, run_id: str, failpoint: str = "") -> int:
    env = _env(SALESCOPE_FAILPOINT=failpoint) if failpoint else _env()
    return subprocess.run(
        [sys.executable, "-c", PUBLISH, str(warehouse), str(serving), run_id],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    ).returncode


@pytest.mark.parametrize("failpoint", ["publish.copy:1", "publish.before_rename"])
def test_publish_killed_keeps_the_last_snapshot_and_the_next_publish_completes(tmp_path, failpoint):
    warehouse, serving = tmp_path / "w.duckdb", tmp_path / "serving" / "serving.duckdb"
    _small_warehouse(warehouse, 100)
    assert _publish(warehouse, serving, "good") == 0
    before = sha(serving)
    _small_warehouse(warehouse, 200)
    assert _publish(warehouse, serving, "killed", failpoint) == -signal.SIGKILL
    assert sha(serving) == before  # byte-identical: never absent, never half
    assert (serving.parent / "serving.tmp.duckdb").exists()  # the kill left its temp file
    assert _publish(warehouse, serving, "next") == 0
    assert not (serving.parent / "serving.tmp.duckdb").exists()
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("SELECT count(*) FROM marts.fct_opportunities").fetchone()[0] == 200
    assert [
        r[0] for r in con.execute("SELECT run_id FROM meta.publish_log ORDER BY published_at").fetchall()
    ] == ["good", "next"]  # the killed publish left no entry
    con.close()


def test_disk_full_during_publish_says_so_and_keeps_the_old_snapshot(tmp_path, monkeypatch):
    from orchestration.publish import PublishError, publish_snapshot

    warehouse, serving = tmp_path / "w.duckdb", tmp_path / "serving" / "serving.duckdb"
    _small_warehouse(warehouse, 100)
    con = duckdb.connect(str(warehouse))
    publish_snapshot(con, serving, run_id="good", as_of=date(2026, 6, 30), quality_status="passed")
    before = sha(serving)
    monkeypatch.setenv("SALESCOPE_FAILPOINT", "publish.copy:1=enospc")
    with pytest.raises(PublishError, match=r"is full .* still serving"):
        publish_snapshot(con, serving, run_id="full", as_of=date(2026, 6, 30), quality_status="passed")
    con.close()
    assert sha(serving) == before
    assert sorted(p.name for p in serving.parent.iterdir()) == ["serving.duckdb"]  # temp files removed


def test_a_really_full_disk_during_publish(tmp_path):
    """The same on a real size-limited filesystem (a 3 MiB tmpfs), where mounting is allowed."""
    from orchestration.publish import PublishError, publish_snapshot

    mount = tmp_path / "small"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({res.stderr.decode().strip()}); the injected ENOSPC test covers it"
        )
    try:
        warehouse, serving = tmp_path / "w.duckdb", mount / "serving.duckdb"
        _small_warehouse(warehouse, 1000)
        con = duckdb.connect(str(warehouse))
        publish_snapshot(con, serving, run_id="good", as_of=date(2026, 6, 30), quality_status="passed")
        before = sha(serving)
        # random doubles do not compress: far more than the 3 MiB left
        con.execute(
            "CREATE OR REPLACE TABLE marts.fct_opportunities AS SELECT range AS id, random() AS amount "
            "FROM range(2000000)"
        )
        with pytest.raises(PublishError, match="is full"):
            publish_snapshot(con, serving, run_id="big", as_of=date(2026, 6, 30), quality_status="passed")
        con.close()
        assert sha(serving) == before
        assert sorted(p.name for p in mount.iterdir()) == ["serving.duckdb"]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_enospc_is_recognised_from_duckdb_and_os_errors():
    from orchestration.publish import _disk_full

    assert _disk_full(OSError(errno.ENOSPC, "x"))
    assert _disk_full(duckdb.IOException('Could not write file "s.duckdb": No space left on device'))
    assert not _disk_full(OSError(errno.EACCES, "Permission denied"))


# --- the whole run: stopped with SIGTERM, killed with SIGKILL in dbt, then a normal run ------------


def _wait_for_log(home: Path, pid: int, text: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in (home / "logs").glob(f"run-*-{pid}.log"):
            if text in log.read_text(errors="replace"):
                return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended ({proc.returncode}) before {text!r} appeared")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in the run log after {timeout}s")


def test_stop_then_kill_in_dbt_then_the_next_run_recovers_and_publishes(
    pipeline_home, drop_factory, tmp_path
):
    from dagster import DagsterInstance, DagsterRunStatus

    from orchestration.run_guard import processes_with_token
    from orchestration.runner import dagster_home
    from salescope.cli import run_pipeline

    drop, _ = drop_factory(scale=0.05, seed=7)
    home = tmp_path / "home"
    shutil.copytree(pipeline_home, home, ignore=shutil.ignore_patterns("logs", "run.lock"))
    serving = home / "serving" / "serving.duckdb"
    before = sha(serving)
    args = [SALESCOPE, "run", "--home", str(home), "--source", str(drop)]

    # 1. SIGTERM (`salescope stop`) while dbt runs: stops within 10 s, releases everything
    run = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    _wait_for_log(home, run.pid, "Running dbt command", run)
    token = json.loads((home / "run.lock").read_text())["token"]
    t0 = time.monotonic()
    stop = subprocess.run(
        [SALESCOPE, "stop", "--home", str(home)], capture_output=True, text=True, env=_env()
    )
    run.wait(timeout=30)
    assert time.monotonic() - t0 < 10, "SIGTERM must stop a run within 10 s"
    assert stop.returncode == 0 and run.returncode == 130, run.stdout.read()[-2000:]
    # dbt did not outlive the run: its children are gone within seconds (a loaded machine reaps them late;
    # what is still there after 10 s is a leak)
    deadline = time.monotonic() + 10
    while processes_with_token(token) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with_token(token) == []
    assert sha(serving) == before
    instance = DagsterInstance.from_config(str(dagster_home(Settings.from_env(home))))
    assert all(r.is_finished for r in instance.get_runs())

    # 2. SIGKILL in the middle of dbt (a failpoint kills the process there)
    killed = subprocess.run(
        args, capture_output=True, text=True, timeout=600, env=_env(SALESCOPE_FAILPOINT="dbt.event:20")
    )
    assert killed.returncode == -signal.SIGKILL
    dead = json.loads((home / "run.lock").read_text())  # the dead holder, as it left the lock file
    assert sha(serving) == before
    dead_run = instance.get_run_by_id(dead["run_id"])
    assert dead_run.status == DagsterRunStatus.STARTED  # what used to block every later run

    # 3. the next run recovers by itself and publishes a complete snapshot
    assert run_pipeline(Settings.from_env(home), drop, None)
    assert instance.get_run_by_id(dead["run_id"]).status == DagsterRunStatus.FAILURE
    assert processes_with_token(dead["token"]) == []
    assert sha(serving) != before
    # ... and it is a rerun of pipeline_home's drop: nothing new loaded, identical marts, one more publish
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS first (READ_ONLY)", [str(pipeline_home / "serving" / "serving.duckdb")])
        con.execute("ATTACH ? AS second (READ_ONLY)", [str(serving)])
        runs = con.execute(
            "SELECT count(DISTINCT run_id), count(DISTINCT as_of) FROM second.meta.publish_log"
        ).fetchone()
        assert runs == (2, 1)
        last = con.execute(
            "SELECT run_id FROM second.meta.publish_log ORDER BY published_at DESC LIMIT 1"
        ).fetchone()
        assert con.execute(
            "SELECT DISTINCT status FROM second.ops.load_log WHERE run_id = ?", last
        ).fetchall() == [("unchanged",)]
        for schema in ("marts", "ml", "quality", "meta", "ops"):
            assert tables(con, "first", schema) == tables(con, "second", schema), schema
        marts = tables(con, "first", "marts")
        assert len(marts) >= 26
        differing = {t: d for t in marts if (d := differences(con, t))}
        assert differing == {}, "two runs of the same drop and as-of published different marts"
        # the rerun scored with the first run's model and its practice rates: the same scores and actions
        for table in ("deal_scores", "next_actions", "practice_rates"):
            assert differences(con, table, schema="ml") == {}, table
        # not vacuous: the forecast has rows, and the rerun had deal scores of this as-of date to read
        assert con.execute("SELECT count(*) FROM second.marts.mart_forecast").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM second.ml.deal_scores").fetchone()[0] > 0
    finally:
        con.close()
