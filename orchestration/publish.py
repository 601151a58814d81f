"""Publish: copy what readers may see from the warehouse into a new serving snapshot, then swap it in.

The snapshot is built aside as ``serving.tmp.duckdb`` and moved over ``serving.duckdb`` with
``os.replace`` (atomic on one filesystem), so a reader sees either the old or the new file, never a
half-written one, and a failed build leaves the last good snapshot untouched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

# schemas copied whole, and single tables copied from others
PUBLISHED_SCHEMAS = ("marts", "ml", "quality")
PUBLISHED_TABLES = (("ops", "load_log"), ("ops", "quarantine"))


@dataclass
class PublishResult:
    path: Path
    row_counts: dict[str, int]
    published_at: datetime


def _tables_to_publish(con) -> list[tuple[str, str]]:
    rows = con.execute(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'
             AND table_schema IN (SELECT unnest(?))
           ORDER BY 1, 2""",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    present = {(s, t) for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database()"
    ).fetchall()}
    return rows + [t for t in PUBLISHED_TABLES if t in present]


def publish_snapshot(
    warehouse_con: duckdb.DuckDBPyConnection,
    serving_path: Path,
    *,
    run_id: str,
    as_of: date,
    quality_status: str,
) -> PublishResult:
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving_path.with_name("serving.tmp.duckdb")
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)

    tables = _tables_to_publish(warehouse_con)
    warehouse_con.execute("ATTACH ? AS snapshot", [str(tmp)])
    try:
        counts: dict[str, int] = {}
        for schema in sorted({s for s, _ in tables} | {"meta"}):
            warehouse_con.execute(f"CREATE SCHEMA IF NOT EXISTS snapshot.{schema}")
        for schema, table in tables:
            warehouse_con.execute(f"CREATE TABLE snapshot.{schema}.{table} AS SELECT * FROM {schema}.{table}")
            counts[f"{schema}.{table}"] = warehouse_con.execute(
                f"SELECT count(*) FROM snapshot.{schema}.{table}"
            ).fetchone()[0]
        published_at = datetime.now()
        warehouse_con.execute(
            """CREATE TABLE snapshot.meta.publish_log (
                   published_at TIMESTAMP, run_id VARCHAR, as_of DATE, row_counts VARCHAR, quality_status VARCHAR)"""
        )
        # the snapshot carries the history of publishes, so the dashboards can show it
        warehouse_con.execute(
            """CREATE TABLE IF NOT EXISTS meta.publish_log (
                   published_at TIMESTAMP, run_id VARCHAR, as_of DATE, row_counts VARCHAR, quality_status VARCHAR)"""
        )
        row = [published_at, run_id, as_of, json.dumps(counts, sort_keys=True), quality_status]
        warehouse_con.execute("INSERT INTO meta.publish_log VALUES (?, ?, ?, ?, ?)", row)
        warehouse_con.execute("INSERT INTO snapshot.meta.publish_log SELECT * FROM meta.publish_log")
        warehouse_con.execute("CHECKPOINT snapshot")
    finally:
        warehouse_con.execute("DETACH snapshot")
    os.replace(tmp, serving_path)
    return PublishResult(serving_path, counts, published_at)
