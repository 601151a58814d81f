"""Engine postgres: raw tables go into PostgreSQL by COPY, the marts dbt builds there come back by COPY."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import duckdb

from salescope.engines.tables import replace_table_from, row_count
from salescope.engines.types import postgres_type

COPY_CHUNK_BYTES = 1 << 20


def libpq_url(url: str) -> str:
    """postgresql+psycopg://… (SQLAlchemy style) -> postgresql://… (libpq)."""
    scheme, sep, rest = url.partition("://")
    return ("postgresql" + sep + rest) if scheme.startswith("postgres") else url


def connect(url: str, password: str | None = None):
    import psycopg

    # a password given apart from the URL wins over the URL's (libpq: keyword arguments override the URL)
    if password:
        return psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10, password=password)
    return psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10)


def dbt_output(url: str, threads: int, password_env: str) -> dict:
    """dbt-postgres's profile output for ``url``; the password is read from ``password_env`` at run time,
    so profiles.yml never holds it."""
    parts = urlsplit(libpq_url(url))
    database = parts.path.lstrip("/")  # a host and a database: checked by salescope.settings
    # libpq's TLS settings of the URL (?sslmode=verify-full&sslrootcert=…) go to dbt too
    tls = {
        k: v[-1]
        for k, v in parse_qs(parts.query).items()
        if k in ("sslmode", "sslrootcert", "sslcert", "sslkey")
    }
    return tls | {
        "type": "postgres",
        "host": parts.hostname,
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": "{{ env_var('" + password_env + "', '') }}",
        "dbname": database,
        "schema": "main",
        "threads": int(threads),
        "connect_timeout": 10,
    }


def land_tables(
    con: duckdb.DuckDBPyConnection, url: str, password: str | None, schema: str, tables: Sequence[str]
) -> dict[str, int]:
    """Replace ``schema`` in PostgreSQL with a copy of those DuckDB tables of ``schema``, in one transaction
    (dbt never sees half a drop); rows per table."""
    counts: dict[str, int] = {}
    with (
        connect(url, password) as pg,
        tempfile.TemporaryDirectory(prefix="salescope-pg-") as tmp,
        pg.transaction(),
    ):
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg.execute(f'CREATE SCHEMA "{schema}"')
        for table in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
            ddl = ", ".join(f'"{name}" {postgres_type(dtype)}' for name, dtype in columns)
            pg.execute(f'CREATE TABLE "{schema}"."{table}" ({ddl})')
            csv = Path(tmp) / f"{table}.csv"
            con.execute(f'COPY (SELECT * FROM "{schema}"."{table}") TO \'{csv}\' (FORMAT csv, HEADER false)')
            names = ", ".join(f'"{name}"' for name, _ in columns)
            with (
                pg.cursor() as cur,
                cur.copy(f'COPY "{schema}"."{table}" ({names}) FROM STDIN (FORMAT csv)') as copy,
                csv.open("rb") as f,
            ):
                while chunk := f.read(COPY_CHUNK_BYTES):
                    copy.write(chunk)
            counts[table] = row_count(con, schema, table)
    return counts


def fetch_tables(
    con: duckdb.DuckDBPyConnection,
    url: str,
    password: str | None,
    schema: str,
    tables: Mapping[str, Sequence[tuple[str, str]]],
) -> dict[str, int]:
    """Copy those PostgreSQL tables of ``schema`` into DuckDB's, as their contracts type them; rows per
    table. The values travel as CSV text: PostgreSQL prints doubles exactly (shortest round-trip form)."""
    counts: dict[str, int] = {}
    with connect(url, password) as pg, tempfile.TemporaryDirectory(prefix="salescope-pg-") as tmp:
        for table, columns in tables.items():
            csv = Path(tmp) / f"{table}.csv"
            names = ", ".join(f'"{name}"' for name, _ in columns)
            with (
                pg.cursor() as cur,
                cur.copy(f'COPY (SELECT {names} FROM "{schema}"."{table}") TO STDOUT (FORMAT csv)') as copy,
                csv.open("wb") as f,
            ):
                for chunk in copy:
                    f.write(chunk)
            as_text = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name, _ in columns) + "}"
            reader = (
                f"read_csv('{csv}', header = false, columns = {as_text}, quote = '\"', escape = '\"',"
                " nullstr = '', allow_quoted_nulls = false, auto_detect = false)"
            )
            counts[table] = replace_table_from(con, schema, table, columns, reader)
    return counts
