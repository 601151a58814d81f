"""Engine spark: dbt-spark in a local Spark session (``method: session``, PySpark from the ``spark`` extra).

Raw tables go to Parquet files under ``SALESCOPE_HOME/spark/raw/<table>/``, which the ``register_raw_tables``
macro (dbt on-run-start) declares as tables of schema ``raw``; dbt builds the marts as Parquet tables of the
Spark warehouse ``SALESCOPE_HOME/spark/warehouse`` (metastore: Derby, beside it), which DuckDB reads back.
A cluster takes the ``thrift`` profile of docs/deploy.md instead, with the raw files on storage it can read.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from salescope.engines.tables import replace_table_from, row_count

SPARK_MASTER = "local[2]"


def raw_dir(spark_dir: Path) -> Path:
    return spark_dir / "raw"


def warehouse_dir(spark_dir: Path) -> Path:
    return spark_dir / "warehouse"


def dbt_output(spark_dir: Path, driver_memory: str) -> dict:
    """dbt-spark's profile output: a Spark session in the dbt process, its files under ``spark_dir``."""
    spark_dir = spark_dir.resolve()
    return {
        "type": "spark",
        "method": "session",
        "host": "localhost",  # required by dbt-spark, unused by the session method
        "schema": "main",
        "threads": 1,  # one Spark session serves every model; its own parallelism is local[2]
        "server_side_parameters": {
            "spark.master": SPARK_MASTER,
            "spark.driver.memory": driver_memory,
            "spark.sql.warehouse.dir": str(warehouse_dir(spark_dir)),
            "spark.hadoop.javax.jdo.option.ConnectionURL": (
                f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true"
            ),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
            # timestamps are wall-clock times of the business time zone everywhere: no shift on the way
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.parquet.inferTimestampNTZ.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.ui.enabled": "false",
            # no progress bar on the console: it would cut into dbt's JSON log lines, which Dagster parses
            "spark.ui.showConsoleProgress": "false",
        },
    }


def land_tables(
    con: duckdb.DuckDBPyConnection, spark_dir: Path, schema: str, tables: Sequence[str]
) -> dict[str, int]:
    """Write each DuckDB table of ``schema`` as ``raw/<table>/data.parquet`` (replacing the last run's)."""
    counts: dict[str, int] = {}
    root = raw_dir(spark_dir)
    for table in tables:
        folder = root / table
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        con.execute(f'COPY "{schema}"."{table}" TO \'{folder / "data.parquet"}\' (FORMAT parquet)')
        counts[table] = row_count(con, schema, table)
    return counts


def fetch_tables(
    con: duckdb.DuckDBPyConnection,
    spark_dir: Path,
    schema: str,
    tables: Mapping[str, Sequence[tuple[str, str]]],
) -> dict[str, int]:
    """Read the Parquet files of those Spark tables of ``schema`` into DuckDB's, as their contracts type them."""
    counts: dict[str, int] = {}
    for table, columns in tables.items():
        folder = warehouse_dir(spark_dir) / f"{schema}.db" / table
        if not folder.is_dir():
            raise FileNotFoundError(f"Spark built no table {schema}.{table} (no folder {folder})")
        if any(folder.rglob("*.parquet")):
            reader = f"read_parquet('{folder}/**/*.parquet')"
        else:  # an empty table: Spark may write no data file at all
            nulls = ", ".join(f'NULL AS "{name}"' for name, _ in columns)
            reader = f"(SELECT {nulls}) AS empty WHERE false"
        counts[table] = replace_table_from(con, schema, table, columns, reader)
    return counts
