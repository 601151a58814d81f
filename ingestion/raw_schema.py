"""DuckDB layout of the landing tables, derived from the source contract.

``raw.<entity>`` holds the typed, normalised, accepted rows (latest load wins per primary key) plus
lineage columns. ``ops.load_log``, ``ops.quarantine`` and ``quality.issues`` record every load.
Timestamps of the ops tables (``loaded_at``, ``quarantined_at``, ``detected_at``) are wall-clock
Asia/Shanghai, like the business timestamps. Write to these tables with explicit column lists.
"""

from __future__ import annotations

from contract import ENTITIES, SQL_TYPES, Entity

# lineage columns appended to every raw table
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_record_key", "VARCHAR"),  # primary key values joined by '|'
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),  # 1-based data row number in the file (header excluded)
    ("_load_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
)

OPS_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS quality;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS ops.load_log (
    load_id VARCHAR, run_id VARCHAR, entity VARCHAR, file VARCHAR, sha256 VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
    status VARCHAR, message VARCHAR, loaded_at TIMESTAMP
);
-- per load (ops.load_log.load_id) of ingestion: how the file was read and judged
CREATE TABLE IF NOT EXISTS ops.load_details (
    load_id VARCHAR, as_of DATE, format VARCHAR, encoding VARCHAR, ignored_columns VARCHAR
);
-- dlt loads of a CRM database source already ingested into raw, per table (the next delta skips them)
CREATE TABLE IF NOT EXISTS ops.source_loads (
    source VARCHAR, entity VARCHAR, dlt_load_id VARCHAR, load_id VARCHAR, ingested_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS ops.quarantine (
    load_id VARCHAR, run_id VARCHAR, entity VARCHAR, source_file VARCHAR, source_row BIGINT,
    record_key VARCHAR, kind VARCHAR, column_name VARCHAR, reason VARCHAR, raw_record VARCHAR,
    quarantined_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS quality.issues (
    entity VARCHAR, record_key VARCHAR, kind VARCHAR, severity VARCHAR, action VARCHAR,
    detail VARCHAR, source_file VARCHAR, source_row BIGINT, detected_at TIMESTAMP, run_id VARCHAR,
    column_name VARCHAR, load_id VARCHAR
);
"""

# columns added after the first layout: (table, column, type), applied to existing warehouses too
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("quality.issues", "column_name", "VARCHAR"),  # the contract column (or 'a,b' for a composite key)
    ("quality.issues", "load_id", "VARCHAR"),  # the load that found it (ops.load_log.load_id)
    # a CRM database batch: the source (no credentials), the cursor window read (Shanghai wall time),
    # soft-deleted rows of the batch removed from raw (rows_read = loaded + quarantined + deleted), and the
    # raw rows whose key the source no longer has (hard deletes; NULL when no key comparison ran)
    ("ops.load_log", "source", "VARCHAR"),
    ("ops.load_log", "cursor_from", "TIMESTAMP"),
    ("ops.load_log", "cursor_to", "TIMESTAMP"),
    ("ops.load_log", "rows_deleted", "BIGINT"),
    ("ops.load_log", "keys_removed", "BIGINT"),
)


def raw_table(entity: Entity) -> str:
    return f"raw.{entity.name}"


def create_raw_table_sql(entity: Entity) -> str:
    cols = [f'"{c.name}" {SQL_TYPES[c.type]}' for c in entity.columns]
    cols += [f"{name} {typ}" for name, typ in LINEAGE_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {raw_table(entity)} (\n    " + ",\n    ".join(cols) + "\n)"


def ensure_warehouse_schema(con) -> None:
    """Create the raw, ops, quality and meta schemas and every raw table (idempotent)."""
    con.execute(OPS_DDL)
    for table, column, typ in ADDED_COLUMNS:
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {typ}")
    for entity in ENTITIES:
        con.execute(create_raw_table_sql(entity))
