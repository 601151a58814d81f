"""The engine settings and profiles (fast: no dbt run). The marts' parity is tests/test_engine_parity.py."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
import yaml

from orchestration.dbt_args import write_profiles
from salescope import engines
from salescope.engines import postgres
from salescope.settings import Settings


def test_the_engine_defaults_to_duckdb_and_a_wrong_one_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("SALESCOPE_ENGINE", raising=False)
    assert Settings.from_env(tmp_path).engine == "duckdb"
    monkeypatch.setenv("SALESCOPE_ENGINE", "oracle")
    with pytest.raises(ValueError, match="SALESCOPE_ENGINE='oracle': use one of duckdb, postgres, spark"):
        Settings.from_env(tmp_path)


def test_postgres_needs_a_warehouse_url(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESCOPE_ENGINE", "postgres")
    monkeypatch.delenv("SALESCOPE_WAREHOUSE_URL", raising=False)
    with pytest.raises(ValueError, match="needs SALESCOPE_WAREHOUSE_URL=postgresql://"):
        Settings.from_env(tmp_path)
    for no_database in ("postgresql://etl@db:5432", "postgresql://etl@db:5432/", "postgresql:///wh"):
        monkeypatch.setenv("SALESCOPE_WAREHOUSE_URL", no_database)
        with pytest.raises(
            ValueError, match="needs SALESCOPE_WAREHOUSE_URL=postgresql://user@host:5432/database"
        ):
            Settings.from_env(tmp_path)


def test_the_postgres_profile_names_the_password_variable_never_the_password(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESCOPE_ENGINE", "postgres")
    monkeypatch.setenv(
        "SALESCOPE_WAREHOUSE_URL", "postgresql://etl:s3cr%40t@db.example:6543/wh?sslmode=verify-full"
    )
    monkeypatch.delenv("SALESCOPE_WAREHOUSE_PASSWORD", raising=False)
    s = Settings.from_env(tmp_path)
    path = write_profiles(tmp_path / "dbt", s.warehouse_path, output=engines.dbt_output(s))
    text = path.read_text()
    assert "s3cr" not in text
    out = yaml.safe_load(text)["salescope"]["outputs"]["local"]
    assert (out["type"], out["host"], out["port"], out["user"], out["dbname"]) == (
        "postgres",
        "db.example",
        6543,
        "etl",
        "wh",
    )
    assert out["password"] == "{{ env_var('SALESCOPE_WAREHOUSE_PASSWORD', '') }}"
    assert out["sslmode"] == "verify-full"
    assert s.warehouse_password == "s3cr@t"  # decoded from the URL, for the COPY connections and for dbt


def test_the_spark_profile_keeps_everything_under_the_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESCOPE_ENGINE", "spark")
    s = Settings.from_env(tmp_path)
    out = engines.dbt_output(s)
    params = out["server_side_parameters"]
    assert (out["type"], out["method"], params["spark.master"]) == ("spark", "session", "local[2]")
    assert params["spark.sql.warehouse.dir"] == str(tmp_path / "spark" / "warehouse")
    assert str(tmp_path / "spark" / "metastore_db") in params["spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert engines.dbt_vars(s) == {"spark_raw_dir": str(tmp_path / "spark" / "raw")}


def test_landing_on_postgres_copies_every_row_and_value(new_db, tmp_path):
    """NULLs, empty strings, quotes, newlines, Chinese text, decimals and timestamps survive the COPY."""
    url = new_db("postgresql")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute(
        "CREATE TABLE raw.t (id VARCHAR, name VARCHAR, amount DECIMAL(18,2), seen_at TIMESTAMP, d DATE, ok BOOLEAN,"
        " rate DOUBLE, n BIGINT)"
    )
    rows = [
        ("a", '华东 "quoted", comma', 1234.56, "2026-06-30 23:59:59", "2026-06-30", True, 0.1, 7),
        ("b", "", -0.01, None, None, False, 1 / 3, None),
        ("c", None, None, "2026-01-01 00:00:00", "2026-01-01", None, None, 0),
        ("d", "two\nlines", 0, "2026-02-28 12:00:00", "2026-02-28", True, 1e-300, -1),
    ]
    con.executemany("INSERT INTO raw.t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    assert postgres.land_tables(con, url, None, "raw", ["t"]) == {"t": 4}
    with postgres.connect(url) as pg:
        got = pg.execute(
            "SELECT id, name, amount::text, seen_at::text, d::text, ok, rate, n FROM raw.t ORDER BY id"
        ).fetchall()
    expected = con.execute(
        "SELECT id, name, amount::VARCHAR, strftime(seen_at, '%Y-%m-%d %H:%M:%S'), d::VARCHAR, ok, rate, n FROM raw.t ORDER BY id"
    ).fetchall()
    assert got == expected
    con.close()


def test_run_names_an_unreachable_warehouse_before_it_starts(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "salescope.cli",
            "run",
            "--engine",
            "postgres",
            "--warehouse-url",
            "postgresql://etl:hunter2@127.0.0.1:1/wh",
            "--home",
            str(tmp_path / "h"),
            "--source",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "cannot connect to postgresql://etl:***@127.0.0.1:1/wh" in out, out[-2000:]
    assert "hunter2" not in out
