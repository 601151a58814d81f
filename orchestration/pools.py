"""Dagster concurrency pools (DESIGN.md, DuckDB rules: one writer process)."""

WAREHOUSE_POOL = "warehouse"  # one writer: every asset that writes warehouse.duckdb runs in this pool
