"""Publish: copy what readers may see from the warehouse into a new serving snapshot, then swap it in.

The snapshot is built aside as ``serving.tmp.duckdb`` and moved over ``serving.duckdb`` with
``os.replace`` (atomic on one filesystem), so a reader sees either the old or the new file, never a
half-written one, and a failed build leaves the last good snapshot untouched.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from salescope.failpoints import failpoint

# schemas copied whole, and single tables copied from others
PUBLISHED_SCHEMAS = ("marts", "ml", "quality")
PUBLISHED_TABLES = (("ops", "load_log"), ("ops", "quarantine"))


class PublishError(RuntimeError):
    """The new snapshot could not be written; the previous one is still serving."""


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
    present = {
        (s, t)
        for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        ).fetchall()
    }
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
    _remove(tmp)  # left by a run that died while publishing

    tables = _tables_to_publish(warehouse_con)
    try:
        counts, row = _write_snapshot(warehouse_con, tmp, tables, run_id, as_of, quality_status)
        failpoint("publish.before_rename")
        os.replace(tmp, serving_path)
    except (OSError, duckdb.Error) as err:
        _remove(tmp)
        if _disk_full(err):
            free = shutil.disk_usage(serving_path.parent).free
            raise PublishError(
                f"the disk holding {serving_path.parent} is full ({free / 2**20:,.0f} MiB free) while writing the "
                f"new snapshot: free space there (the last snapshot is {_size_mib(serving_path)} MiB) and run again. "
                "The previous snapshot is still serving; the partial file was removed."
            ) from err
        raise
    # the warehouse's history records what was published, once it is
    warehouse_con.execute("INSERT INTO meta.publish_log VALUES (?, ?, ?, ?, ?)", row)
    return PublishResult(serving_path, counts, row[0])


def _write_snapshot(warehouse_con, tmp: Path, tables, run_id: str, as_of: date, quality_status: str):
    """Write the complete snapshot into ``tmp``; returns the row counts and the publish_log row."""
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
            failpoint("publish.copy")
        published_at = datetime.now()
        warehouse_con.execute(
            """CREATE TABLE snapshot.meta.publish_log (
                   published_at TIMESTAMP, run_id VARCHAR, as_of DATE, row_counts VARCHAR, quality_status VARCHAR)"""
        )
        # the snapshot carries the history of publishes, so the dashboards can show it
        warehouse_con.execute("CREATE SCHEMA IF NOT EXISTS meta")
        warehouse_con.execute(
            """CREATE TABLE IF NOT EXISTS meta.publish_log (
                   published_at TIMESTAMP, run_id VARCHAR, as_of DATE, row_counts VARCHAR, quality_status VARCHAR)"""
        )
        row = [published_at, run_id, as_of, json.dumps(counts, sort_keys=True), quality_status]
        warehouse_con.execute("INSERT INTO snapshot.meta.publish_log SELECT * FROM meta.publish_log")
        warehouse_con.execute("INSERT INTO snapshot.meta.publish_log VALUES (?, ?, ?, ?, ?)", row)
        warehouse_con.execute("CHECKPOINT snapshot")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # the original error is the one to report
            warehouse_con.execute("DETACH snapshot")
        raise
    warehouse_con.execute("DETACH snapshot")
    return counts, row


def _remove(tmp: Path) -> None:
    for path in (tmp, tmp.with_name(tmp.name + ".wal")):
        path.unlink(missing_ok=True)


def _disk_full(err: BaseException) -> bool:
    return getattr(err, "errno", None) == errno.ENOSPC or "No space left on device" in str(err)


def _size_mib(path: Path) -> str:
    try:
        return f"{path.stat().st_size / 2**20:,.1f}"
    except OSError:
        return "?"
