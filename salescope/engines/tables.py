"""DuckDB's side of an engine's copies: which tables a schema holds, and a table rebuilt from the engine's files."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb


def table_names(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
            [schema],
        ).fetchall()
    ]


def replace_table_from(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: Sequence[tuple[str, str]], reader: str
) -> int:
    """(Re)create ``schema.table`` in DuckDB from ``reader`` (a table function call over files the engine
    wrote), each column cast to its contract type; the row count."""
    select = ", ".join(f'CAST("{name}" AS {dtype}) AS "{name}"' for name, dtype in columns)
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    con.execute(f'CREATE OR REPLACE TABLE "{schema}"."{table}" AS SELECT {select} FROM {reader}')
    return row_count(con, schema, table)


def row_count(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    return int(con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0])
