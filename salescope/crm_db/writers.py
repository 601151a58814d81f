"""Bulk writes by dialect: PostgreSQL COPY (CSV), MariaDB/MySQL multi-row INSERT (PyMySQL batches
``executemany`` into multi-row statements); upserts by primary key; soft and hard deletes by key."""

from __future__ import annotations

import io
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from contract import Entity
from salescope.crm_db.schema import q

COPY_CHUNK_ROWS = 100_000
MYSQL_BATCH_ROWS = 5_000


def _pg_text(table: pa.Table) -> pa.Table:
    cols = []
    for name in table.column_names:
        a = table.column(name)
        if name == "updated_at":
            a = pc.binary_join_element_wise(pc.strftime(a, format="%Y-%m-%d %H:%M:%S"), "+08", "")
        elif pa.types.is_timestamp(a.type):
            a = pc.strftime(a, format="%Y-%m-%d %H:%M:%S")
        elif not pa.types.is_string(a.type):
            a = pc.cast(a, pa.string())
        cols.append(a)
    return pa.table(cols, names=table.column_names)


def copy_pg(con, target: str, table: pa.Table, progress: Callable[[int], None] | None = None) -> None:
    cols = ", ".join(q("postgresql", c) for c in table.column_names)
    text = _pg_text(table)
    with con.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN (FORMAT csv)") as cp:
        for start in range(0, text.num_rows, COPY_CHUNK_ROWS):
            chunk = text.slice(start, COPY_CHUNK_ROWS)
            buf = io.BytesIO()
            pacsv.write_csv(chunk, buf, pacsv.WriteOptions(include_header=False))
            cp.write(buf.getvalue())
            if progress:
                progress(chunk.num_rows)


def _mysql_rows(table: pa.Table, start: int, n: int) -> list[tuple]:
    chunk = table.slice(start, n)
    cols = [chunk.column(c).to_pylist() for c in chunk.column_names]
    return list(zip(*cols, strict=True))


def insert_mysql(
    con, target: str, table: pa.Table, on_duplicate: str = "", progress: Callable[[int], None] | None = None
) -> None:
    cols = ", ".join(q("mysql", c) for c in table.column_names)
    marks = ", ".join(["%s"] * table.num_columns)
    sql = f"INSERT INTO {target} ({cols}) VALUES ({marks}){on_duplicate}"
    with con.cursor() as cur:
        for start in range(0, table.num_rows, MYSQL_BATCH_ROWS):
            rows = _mysql_rows(table, start, MYSQL_BATCH_ROWS)
            cur.executemany(sql, rows)
            if progress:
                progress(len(rows))


def insert(
    con, dialect: str, name: str, table: pa.Table, progress: Callable[[int], None] | None = None
) -> None:
    """Append rows (``is_deleted`` takes its default)."""
    if dialect == "postgresql":
        copy_pg(con, q(dialect, name), table, progress)
    else:
        insert_mysql(con, q(dialect, name), table, "", progress)


def upsert(con, dialect: str, e: Entity, table: pa.Table) -> None:
    """Insert or replace rows by primary key (``is_deleted`` stays as it is, false for new rows)."""
    if table.num_rows == 0:
        return
    others = [c for c in table.column_names if c not in e.primary_key]
    if dialect == "postgresql":
        stage = q(dialect, f"_stage_{e.name}")
        cols = ", ".join(q(dialect, c) for c in table.column_names)
        with con.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {cols} FROM {q(dialect, e.name)} LIMIT 0"
            )
        copy_pg(con, stage, table)
        pk = ", ".join(q(dialect, k) for k in e.primary_key)
        sets = ", ".join(f"{q(dialect, c)} = EXCLUDED.{q(dialect, c)}" for c in others)
        with con.cursor() as cur:
            cur.execute(
                f"INSERT INTO {q(dialect, e.name)} ({cols}) SELECT {cols} FROM {stage} "
                f"ON CONFLICT ({pk}) DO UPDATE SET {sets}"
            )
            cur.execute(f"DROP TABLE {stage}")
    else:
        sets = ", ".join(f"{q(dialect, c)} = VALUES({q(dialect, c)})" for c in others)
        insert_mysql(con, q(dialect, e.name), table, f" ON DUPLICATE KEY UPDATE {sets}")


def soft_delete(con, dialect: str, e: Entity, keys: pa.Table, updated_at: pa.Array) -> None:
    """Set ``is_deleted`` and bump ``updated_at`` (Shanghai wall time) of the rows with these keys."""
    if keys.num_rows == 0:
        return
    where = " AND ".join(f"{q(dialect, k)} = %s" for k in e.primary_key)
    stamp = "CAST(%s AS TIMESTAMP) AT TIME ZONE 'Asia/Shanghai'" if dialect == "postgresql" else "%s"
    sql = f"UPDATE {q(dialect, e.name)} SET is_deleted = TRUE, updated_at = {stamp} WHERE {where}"
    rows = [(u, *k) for u, k in zip(updated_at.to_pylist(), _key_rows(keys), strict=True)]
    with con.cursor() as cur:
        cur.executemany(sql, rows)


def hard_delete(con, dialect: str, e: Entity, keys: pa.Table) -> None:
    if keys.num_rows == 0:
        return
    where = " AND ".join(f"{q(dialect, k)} = %s" for k in e.primary_key)
    with con.cursor() as cur:
        cur.executemany(f"DELETE FROM {q(dialect, e.name)} WHERE {where}", _key_rows(keys))


def _key_rows(keys: pa.Table) -> list[tuple]:
    return list(zip(*[keys.column(c).to_pylist() for c in keys.column_names], strict=True))
