"""The PostgreSQL column type of each DuckDB type the raw layer uses (engine postgres lands raw.* by COPY)."""

from __future__ import annotations

import re

_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)", re.IGNORECASE)

_TO_POSTGRES = {
    "VARCHAR": "text",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "BOOLEAN": "boolean",
    "DOUBLE": "double precision",
    "FLOAT": "real",
}


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL column type of a DuckDB column type (those the raw layer uses)."""
    if m := _DECIMAL.fullmatch(duckdb_type.strip()):
        return f"numeric({m[1]},{m[2]})"
    try:
        return _TO_POSTGRES[duckdb_type.strip().upper()]
    except KeyError:
        raise ValueError(
            f"no PostgreSQL type for DuckDB type {duckdb_type!r}: add it to salescope/engines/types.py"
        ) from None
