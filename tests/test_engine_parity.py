"""One dbt project, three engines: the marts built on PostgreSQL and on Spark equal DuckDB's.

The DuckDB marts are those of ``pipeline_home`` (the shared clean drop, scale 0.05). PostgreSQL runs the
whole graph (``run_pipeline`` with engine postgres: ingestion, raw landed by COPY, dbt build with its tests,
marts fetched back, quality gate, ML, publish) on the same drop, in a fresh database of the machine's server.
Spark builds on a copy of pipeline_home's raw tables: land_raw (Parquet) -> ``dbt build`` without the dbt
tests in a local Spark session (local[2]) -> fetch_marts, the path the run's dbt step takes.
Every mart must match: money (DECIMAL) and every other exact value to the last digit, doubles to 1e-9.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from mart_diff import differences

from orchestration.dbt_args import build_args, common_flags, write_profiles
from orchestration.dbt_prepare import mart_contracts
from salescope import engines
from salescope.settings import DBT_PROJECT_DIR, Settings


def _mart_differences(reference: Path, other: Path) -> dict[str, dict]:
    con = duckdb.connect()
    con.execute(f"ATTACH '{reference}' AS first (READ_ONLY)")
    con.execute(f"ATTACH '{other}' AS second (READ_ONLY)")
    try:
        return {t: d for t in mart_contracts() if (d := differences(con, t))}
    finally:
        con.close()


def _as_of(warehouse: Path):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT as_of FROM meta.run_context ORDER BY decided_at DESC LIMIT 1").fetchone()[
            0
        ]


def _mart_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return sum(con.execute(f"SELECT count(*) FROM marts.{t}").fetchone()[0] for t in mart_contracts())


def test_the_comparison_sees_a_cent_and_a_ratio(pipeline_home, tmp_path):
    """The check itself can fail: one cent off in a mart, or a ratio off by 1e-6, is a difference."""
    reference = pipeline_home / "warehouse" / "warehouse.duckdb"
    changed = tmp_path / "changed.duckdb"
    shutil.copy(reference, changed)
    with duckdb.connect(str(changed)) as con:
        con.execute(
            "UPDATE marts.fct_opportunities SET amount_cny = amount_cny + 0.01"
            " WHERE opportunity_id = (SELECT min(opportunity_id) FROM marts.fct_opportunities)"
        )
        con.execute(
            "UPDATE marts.mart_funnel SET passing_conversion = passing_conversion * (1 + 1e-6)"
            " WHERE passing_conversion > 0 AND rowid = (SELECT min(rowid) FROM marts.mart_funnel WHERE passing_conversion > 0)"
        )
    found = _mart_differences(reference, changed)
    assert set(found) == {"fct_opportunities", "mart_funnel"}, found
    assert found["mart_funnel"] == {"passing_conversion": 1}


def test_postgres_builds_the_same_marts_and_publishes(
    pipeline_home, drop_factory, new_db, tmp_path, monkeypatch
):
    from salescope.cli import run_pipeline

    url = new_db("postgresql")
    monkeypatch.setenv("SALESCOPE_ENGINE", "postgres")
    monkeypatch.setenv("SALESCOPE_WAREHOUSE_URL", url)
    s = Settings.from_env(tmp_path / "home")
    s.ensure_dirs()
    drop, _ = drop_factory(scale=0.05, seed=7, defect_rate=0.0)
    assert run_pipeline(s, drop, None), "the run on PostgreSQL did not publish"

    # the marts were built in PostgreSQL (and only fetched into warehouse.duckdb)
    from salescope.engines import postgres

    with postgres.connect(url) as pg:
        built = {
            r[0]
            for r in pg.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            )
        }
        opportunities = pg.execute("SELECT count(*), sum(amount_cny) FROM marts.fct_opportunities").fetchone()
    assert set(mart_contracts()) <= built
    reference = pipeline_home / "warehouse" / "warehouse.duckdb"
    with duckdb.connect(str(reference), read_only=True) as con:
        assert (
            con.execute("SELECT count(*), sum(amount_cny) FROM marts.fct_opportunities").fetchone()
            == opportunities
        )

    assert _mart_rows(s.warehouse_path) > 10_000
    assert _mart_differences(reference, s.warehouse_path) == {}
    assert s.serving_path.exists()


def test_spark_builds_the_same_marts(pipeline_home, tmp_path):
    assert shutil.which("java"), "Spark needs a Java 17+ runtime on PATH (the python-svc machines have one)"
    reference = pipeline_home / "warehouse" / "warehouse.duckdb"
    s = dataclasses.replace(Settings.from_env(tmp_path / "home"), engine="spark")
    s.ensure_dirs()
    shutil.copy(reference, s.warehouse_path)
    with duckdb.connect(str(s.warehouse_path)) as con:
        con.execute(
            "DROP SCHEMA marts CASCADE"
        )  # nothing of DuckDB's build is left to be mistaken for Spark's
        landed = engines.land_raw(con, s, progress=lambda _: None)
    assert len(landed) == 18 and all(list((s.spark_dir / "raw" / t).glob("*.parquet")) for t in landed)

    profiles = tmp_path / "profiles"
    write_profiles(profiles, s.warehouse_path, output=engines.dbt_output(s))
    args = [
        str(Path(sys.executable).parent / "dbt"),
        *build_args(_as_of(reference), engine_vars=engines.dbt_vars(s)),
        "--exclude-resource-type",
        "test",
        *common_flags(DBT_PROJECT_DIR, profiles, tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    ]
    done = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:]

    with duckdb.connect(str(s.warehouse_path)) as con:
        fetched = engines.fetch_marts(con, s, mart_contracts(), progress=lambda _: None)
    assert set(fetched) == set(mart_contracts()) and sum(fetched.values()) > 10_000
    assert _mart_differences(reference, s.warehouse_path) == {}
