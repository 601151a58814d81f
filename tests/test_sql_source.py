"""`salescope run --source <database URL>`: incremental extraction with dlt from PostgreSQL and MariaDB.

Needs the servers of DESIGN.md (PostgreSQL 127.0.0.1:5432 user postgres trust, MariaDB 127.0.0.1:3306 root);
a test fails (it does not skip) when one is unreachable. Each test makes its own databases and drops them.
Two full pipeline runs in all (the database run and the same world as files); the rest calls the library,
and `dbt build` in its own process where the marts of an incremental run are compared with a full build.
"""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from mart_diff import differences, tables
from typer.testing import CliRunner

from contract import ENTITIES
from ingestion.load import ingest_directory
from ingestion.raw_schema import LINEAGE_COLUMNS
from ingestion.sql_source import SourceError, ingest_sql_source, open_source
from orchestration.dbt_args import build_args, common_flags, write_profiles
from salescope.crm_db import advance, parse_url, seed
from salescope.crm_db.schema import DELETED_TABLE, q
from salescope.crm_db.url import connect
from salescope.settings import DBT_PROJECT_DIR, Settings

SCALE, SEED, AS_OF = 0.02, 5, date(2026, 3, 30)
UNTIL = AS_OF + timedelta(days=365)
LAG = 300
SECRET = "Pw-Dlt-Secret-7731"
LINEAGE = {name for name, _ in LINEAGE_COLUMNS}


def _home(path: Path) -> Settings:
    s = Settings.from_env(path)
    s.ensure_dirs()
    s.configure_dlt()
    return s


def _extract(url: str, home: Path, run_id: str, as_of: date):
    """One incremental extraction into the home's warehouse (the library, no Dagster, no dbt)."""
    s = _home(home)
    con = duckdb.connect(str(s.warehouse_path))
    try:
        result = ingest_sql_source(
            con,
            open_source(url),
            landing_dir=s.landing_dir,
            pipelines_dir=s.dlt_dir / "pipelines",
            as_of=as_of,
            run_id=run_id,
            lag_seconds=LAG,
        )
        log = {
            r[0]: r[1:]
            for r in con.execute(
                """SELECT entity, rows_read, rows_loaded, rows_quarantined, rows_deleted, keys_removed,
                          cursor_from, cursor_to, source, status FROM ops.load_log WHERE run_id = ?""",
                [run_id],
            ).fetchall()
        }
    finally:
        con.close()
    return result, log


def _build_marts(home: Path, as_of: date) -> None:
    """``dbt build`` of the home's warehouse at ``as_of`` as the run's dbt step does, without the dbt tests (the
    marts are what is compared), in its own process (dbt-duckdb keeps its connection open in the process that
    ran it)."""
    s = Settings.from_env(home)
    profiles = home / "dbt-profile"
    write_profiles(profiles, s.warehouse_path)
    flags = common_flags(DBT_PROJECT_DIR, profiles, home / "dbt-target") + [
        "--log-path",
        str(home / "dbt-logs"),
    ]
    dbt = Path(sys.executable).parent / "dbt"
    args = [str(dbt), *build_args(as_of), "--exclude-resource-type", "test", *flags]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def _raw(home: Path, entity: str) -> list[tuple]:
    con = duckdb.connect(str(Settings.from_env(home).warehouse_path), read_only=True)
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE raw.{entity}").fetchall() if r[0] not in LINEAGE]
        return sorted(con.execute(f"SELECT {', '.join(cols)} FROM raw.{entity}").fetchall(), key=repr)
    finally:
        con.close()


def _source_count(url: str, entity: str, since: datetime | None, deleted: bool | None = None) -> int:
    """Rows of the source table with updated_at >= since (a Shanghai wall time), by direct SQL."""
    u = parse_url(url)
    con = connect(u)
    try:
        cur = con.cursor()
        where, params = [], []
        if since is not None:
            stamp = (
                "CAST(%s AS TIMESTAMP) AT TIME ZONE 'Asia/Shanghai'" if u.dialect == "postgresql" else "%s"
            )
            where.append(f"updated_at >= {stamp}")
            params.append(since)
        if deleted is not None:
            where.append("is_deleted" if deleted else "NOT is_deleted")
        sql = f"SELECT count(*) FROM {q(u.dialect, entity)}" + (
            f" WHERE {' AND '.join(where)}" if where else ""
        )
        cur.execute(sql, params)
        return int(cur.fetchone()[0])
    finally:
        con.close()


def _hard_deleted(url: str) -> dict[str, int]:
    u = parse_url(url)
    con = connect(u)
    try:
        cur = con.cursor()
        cur.execute(
            f"SELECT entity, count(*) FROM {q(u.dialect, DELETED_TABLE)} WHERE kind = 'hard' GROUP BY entity"
        )
        return {e: int(n) for e, n in cur.fetchall()}
    finally:
        con.close()


# ---- 2 and 3: incremental == full, on both servers ---------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_incremental_extraction_equals_a_full_one(dialect, new_db, tmp_path):
    url = new_db(dialect)
    seed(url, scale=SCALE, seed=SEED, as_of=AS_OF, until=UNTIL)
    first, log1 = _extract(url, tmp_path / "inc", "r1", AS_OF)
    assert not first.errors and first.rows_quarantined == 0
    for e in ENTITIES:
        read, loaded, quarantined, deleted, removed, c_from, c_to, source, _ = log1[e.name]
        assert read == loaded == _source_count(url, e.name, None), e.name
        assert (quarantined, deleted, removed, c_from) == (0, 0, 0, None), e.name
        assert source == f"{dialect}://127.0.0.1:{parse_url(url).port}/{parse_url(url).database}"
        assert c_to is not None and c_to <= datetime.combine(AS_OF + timedelta(days=1), datetime.min.time())

    days = 2
    adv = advance(url, days=days)
    assert sum(c["soft_deleted"] for c in adv.counts.values()) > 0
    assert sum(c["hard_deleted"] for c in adv.counts.values()) > 0
    _build_marts(tmp_path / "inc", AS_OF)  # yesterday's marts: the incremental models start from them
    second, log2 = _extract(url, tmp_path / "inc", "r2", AS_OF + timedelta(days=days))
    assert not second.errors
    hard = _hard_deleted(url)
    for e in ENTITIES:
        read, loaded, quarantined, deleted, removed, c_from, c_to, _, _ = log2[e.name]
        since = log1[e.name][6] - timedelta(seconds=LAG)
        assert c_from == since, e.name
        # only the changed rows (and those inside the lag) were read: counted on the source directly
        assert read == _source_count(url, e.name, since), e.name
        assert read < _source_count(url, e.name, None) or read == 0, e.name
        assert deleted == _source_count(url, e.name, since, deleted=True), e.name
        assert read == loaded + quarantined + deleted, e.name
        assert removed == hard.get(e.name, 0), e.name
    assert sum(v[3] for v in log2.values()) == sum(c["soft_deleted"] for c in adv.counts.values())

    # a fresh full extraction of the end state (another home: its own landing file and cursor)
    full, _ = _extract(url, tmp_path / "full", "f1", AS_OF + timedelta(days=days))
    assert not full.errors
    for e in ENTITIES:
        inc_rows, full_rows = _raw(tmp_path / "inc", e.name), _raw(tmp_path / "full", e.name)
        assert inc_rows == full_rows, e.name
        assert len(full_rows) == _source_count(url, e.name, None, deleted=False), e.name

    # ... and the marts built from them: incrementally (on yesterday's) equal to a full build of the end state
    for home in ("inc", "full"):
        _build_marts(tmp_path / home, AS_OF + timedelta(days=days))
    con = duckdb.connect()
    try:
        for name, home in (("first", "inc"), ("second", "full")):
            con.execute(f"ATTACH '{Settings.from_env(tmp_path / home).warehouse_path}' AS {name} (READ_ONLY)")
        marts = tables(con, "first", "marts")
        assert marts == tables(con, "second", "marts") and len(marts) >= 26
        assert {t: d for t in marts if (d := differences(con, t))} == {}
        assert con.execute("SELECT count(*) FROM first.marts.fct_pipeline_snapshots").fetchone()[0] > 0
    finally:
        con.close()


# ---- time zones ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_timestamps_near_midnight_come_out_in_shanghai(dialect, new_db, tmp_path):
    """PostgreSQL timestamptz (an instant) and MariaDB DATETIME (Shanghai wall time) both land as the
    Shanghai wall time; the cursor works across runs with either kind of updated_at."""
    url = new_db(dialect)
    seed(url, scale=0.01, seed=3, as_of=AS_OF, until=AS_OF + timedelta(days=30))
    u = parse_url(url)
    con = connect(u)
    cur = con.cursor()
    cur.execute("SELECT activity_id FROM activities ORDER BY activity_id LIMIT 2")
    a, b = (r[0] for r in cur.fetchall())
    if dialect == "postgresql":
        cur.execute(
            "ALTER TABLE activities ALTER COLUMN occurred_at TYPE timestamptz "
            "USING occurred_at AT TIME ZONE 'Asia/Shanghai'"
        )
        # 23:30 Shanghai is 15:30 UTC; 07:30 Shanghai is 23:30 UTC of the day before
        cur.execute(
            "UPDATE activities SET occurred_at = '2026-03-29 23:30:00+08' WHERE activity_id = %s", (a,)
        )
        cur.execute(
            "UPDATE activities SET occurred_at = '2026-03-29 23:30:00+00' WHERE activity_id = %s", (b,)
        )
    else:
        cur.execute("UPDATE activities SET occurred_at = '2026-03-29 23:30:00' WHERE activity_id = %s", (a,))
        cur.execute("UPDATE activities SET occurred_at = '2026-03-30 07:30:00' WHERE activity_id = %s", (b,))
    con.commit()
    _, log1 = _extract(url, tmp_path, "t1", AS_OF)

    def occurred(key):
        w = duckdb.connect(str(Settings.from_env(tmp_path).warehouse_path), read_only=True)
        try:
            return w.execute(
                "SELECT occurred_at FROM raw.activities WHERE activity_id = ?", [key]
            ).fetchone()[0]
        finally:
            w.close()

    assert occurred(a) == datetime(2026, 3, 29, 23, 30)
    assert occurred(b) == datetime(2026, 3, 30, 7, 30)
    # a change stamped just after midnight Shanghai (16:05 UTC the day before): read by the next run
    cursor = log1["activities"][6]
    stamp = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time()) + timedelta(minutes=5)
    if dialect == "postgresql":
        cur.execute(
            "UPDATE activities SET subject = 'midnight', updated_at = CAST(%s AS TIMESTAMP) AT TIME ZONE "
            "'Asia/Shanghai' WHERE activity_id = %s",
            (stamp, a),
        )
    else:
        cur.execute(
            "UPDATE activities SET subject = 'midnight', updated_at = %s WHERE activity_id = %s", (stamp, a)
        )
    con.commit()
    con.close()
    _, log2 = _extract(url, tmp_path, "t2", AS_OF + timedelta(days=2))
    assert log2["activities"][6] == stamp  # the cursor, in Shanghai wall time
    assert log2["activities"][0] == _source_count(url, "activities", cursor - timedelta(seconds=LAG)) >= 1
    w = duckdb.connect(str(Settings.from_env(tmp_path).warehouse_path), read_only=True)
    assert (
        w.execute("SELECT subject FROM raw.activities WHERE activity_id = ?", [a]).fetchone()[0] == "midnight"
    )
    w.close()


# ---- 1 and 4: the whole graph, marts equal to the files run; the password nowhere -----------------------


def _raw_with_types(warehouse: Path) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """entity -> (column names and types, sorted rows) of every raw table, lineage columns left out."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for e in ENTITIES:
            cols = [
                (r[0], r[1]) for r in con.execute(f"DESCRIBE raw.{e.name}").fetchall() if r[0] not in LINEAGE
            ]
            names = ", ".join(c for c, _ in cols)
            out[e.name] = (
                cols,
                sorted(con.execute(f"SELECT {names} FROM raw.{e.name}").fetchall(), key=repr),
            )
        return out
    finally:
        con.close()


@pytest.mark.slow  # one whole pipeline run (make test-fast skips it)
def test_run_from_postgresql_publishes_and_loads_what_the_same_world_as_files_loads(new_db, tmp_path):
    """The database run publishes; its raw tables equal, value for value and type for type, what the file
    ingestion loads from the same world exported to files. dbt, the gate and ML are the same code on the
    same raw tables from there on (two runs on equal raw publish equal marts: test_crash_recovery), so this
    runs one pipeline, not two."""
    from salescope.cli import app
    from salescope.generator import generate

    url = new_db("postgresql")
    seed(url, scale=SCALE, seed=SEED, as_of=AS_OF, until=UNTIL)
    u = parse_url(url)
    with_pw = f"postgresql://postgres:{SECRET}@{u.host}:{u.port}/{u.database}"  # trust auth ignores it
    db_home = tmp_path / "db-home"
    res = CliRunner().invoke(
        app, ["run", "--source", with_pw, "--as-of", AS_OF.isoformat(), "--home", str(db_home)]
    )
    out = res.output
    assert res.exit_code == 0, out
    assert "published" in out and "cursor" in out and f"postgresql://{u.host}:{u.port}/{u.database}" in out
    assert SECRET not in out
    db = Settings.from_env(db_home)
    con = duckdb.connect(str(db.serving_path), read_only=True)
    assert con.execute("SELECT count(*) FROM marts.fct_opportunities").fetchone()[0] > 0
    con.close()

    drop = tmp_path / "drop"
    generate(drop, scale=SCALE, seed=SEED, as_of=AS_OF, until=UNTIL)
    files = Settings.from_env(tmp_path / "file-home")
    files.ensure_dirs()
    con = duckdb.connect(str(files.warehouse_path))
    result = ingest_directory(con, drop, as_of=AS_OF, run_id="files")
    con.close()
    assert all(f.rows_quarantined == 0 and f.rows_loaded > 0 for f in result.files), result.files

    from_db, from_files = _raw_with_types(db.warehouse_path), _raw_with_types(files.warehouse_path)
    for entity, (cols, rows) in from_files.items():
        assert from_db[entity][0] == cols, entity
        assert len(from_db[entity][1]) == len(rows), entity
        for x, y in zip(rows, from_db[entity][1], strict=True):
            assert all(_same(p, q_) for p, q_ in zip(x, y, strict=True)), (entity, x, y)

    # the password is nowhere in the home: warehouse, serving snapshot, landing file, dlt state, logs, Dagster
    found = [p for p in db_home.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert found == []
    con = duckdb.connect(str(db.warehouse_path), read_only=True)
    sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM ops.load_log").fetchall()}
    con.close()
    assert sources == {f"postgresql://{u.host}:{u.port}/{u.database}"}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_unreachable_server_and_wrong_password_name_the_host_never_the_password(tmp_path):
    from salescope.cli import app

    runner = CliRunner()
    for bad, where in (
        (f"mysql+pymysql://root:{SECRET}@127.0.0.1:3306/mysql", "127.0.0.1:3306"),
        (f"postgresql://postgres:{SECRET}@127.0.0.1:1/crm", "127.0.0.1:1"),
    ):
        res = runner.invoke(app, ["run", "--source", bad, "--home", str(tmp_path / "h")])
        assert res.exit_code == 2, res.output
        assert SECRET not in res.output and where in res.output and "error" in res.output, res.output
    with pytest.raises(SourceError, match="127.0.0.1:1") as err:
        _extract(f"postgresql://postgres:{SECRET}@127.0.0.1:1/crm", tmp_path / "lib", "x", AS_OF)
    assert SECRET not in str(err.value)
