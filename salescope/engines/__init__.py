"""Where dbt builds the warehouse: DuckDB (the default), PostgreSQL or Spark.

Ingestion always parses, validates and lands ``raw.*`` in warehouse.duckdb (the contract checks, the
quarantine and the load log live there). For another engine, ``land_raw`` copies ``raw.*`` into it before
dbt runs, and ``fetch_marts`` copies the marts dbt built there back into warehouse.duckdb afterwards, cast to
the types of their dbt contracts: the quality gate, the ML step and publish read the same tables whatever
the engine, and the dashboards never change. A plain library (no Dagster): orchestration wires it in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import duckdb

from salescope.engines.tables import table_names
from salescope.settings import WAREHOUSE_PASSWORD_ENV, Settings

# a mart and its contract: table name -> [(column, data type as the dbt contract declares it)]
MartContracts = Mapping[str, Sequence[tuple[str, str]]]
RAW_SCHEMA = "raw"
MARTS_SCHEMA = "marts"


def dbt_output(settings: Settings) -> dict:
    """The dbt profile's output (profiles.yml) for the settings' engine."""
    if settings.engine == "postgres":
        from salescope.engines import postgres

        return postgres.dbt_output(settings.warehouse_url, settings.dbt_threads, WAREHOUSE_PASSWORD_ENV)
    if settings.engine == "spark":
        from salescope.engines import spark

        return spark.dbt_output(settings.spark_dir, settings.spark_memory)
    return duckdb_output(settings.warehouse_path, settings.dbt_threads)


def duckdb_output(warehouse_path: Path, threads: int = 1) -> dict:
    """dbt-duckdb's profile output: the warehouse file at its absolute path; no extensions to download."""
    return {
        "type": "duckdb",
        "path": str(Path(warehouse_path).resolve()),
        "threads": int(threads),
        "schema": "main",
        "extensions": [],
    }


def dbt_vars(settings: Settings) -> dict:
    """Variables the engine's macros read (``dbt build --vars``)."""
    if settings.engine == "spark":
        from salescope.engines import spark

        return {"spark_raw_dir": str(spark.raw_dir(settings.spark_dir))}
    return {}


def land_raw(
    con: duckdb.DuckDBPyConnection, settings: Settings, progress: Callable[[str], None] = print
) -> dict[str, int]:
    """Copy warehouse.duckdb's raw tables into the engine (nothing for DuckDB); rows per table."""
    if settings.engine == "duckdb":
        return {}
    tables = table_names(con, RAW_SCHEMA)
    if settings.engine == "postgres":
        from salescope.engines import postgres

        counts = postgres.land_tables(
            con, settings.warehouse_url, settings.warehouse_password, RAW_SCHEMA, tables
        )
    else:
        from salescope.engines import spark

        counts = spark.land_tables(con, settings.spark_dir, RAW_SCHEMA, tables)
    progress(f"{settings.engine}: landed {len(counts)} raw tables, {sum(counts.values()):,} rows")
    return counts


def fetch_marts(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    marts: MartContracts,
    progress: Callable[[str], None] = print,
) -> dict[str, int]:
    """Replace warehouse.duckdb's marts with the engine's (nothing for DuckDB); rows per table."""
    if settings.engine == "duckdb":
        return {}
    con.begin()  # all marts or none: a failed copy leaves the previous marts for the gate to see
    try:
        if settings.engine == "postgres":
            from salescope.engines import postgres

            counts = postgres.fetch_tables(
                con, settings.warehouse_url, settings.warehouse_password, MARTS_SCHEMA, marts
            )
        else:
            from salescope.engines import spark

            counts = spark.fetch_tables(con, settings.spark_dir, MARTS_SCHEMA, marts)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    progress(f"{settings.engine}: fetched {len(counts)} marts, {sum(counts.values()):,} rows")
    return counts
