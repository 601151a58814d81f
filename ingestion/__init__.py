"""Ingestion: landing files -> raw.<entity>, ops.load_log, ops.quarantine, quality.issues.

A plain library (no Dagster): functions on a DuckDB connection.

    result = ingest_directory(con, Path("landing/2026-06-30"), as_of=date(2026, 6, 30), run_id="r1")
    orphans = run_cross_checks(con, run_id="r1")
"""

from ingestion.crosscheck import run_cross_checks
from ingestion.load import FileResult, IngestResult, ingest_directory, ingest_file, source_files
from ingestion.raw_schema import ensure_warehouse_schema
from ingestion.validate import ROW_LEVEL_KINDS

__all__ = [
    "ROW_LEVEL_KINDS",
    "FileResult",
    "IngestResult",
    "ensure_warehouse_schema",
    "ingest_directory",
    "ingest_file",
    "run_cross_checks",
    "source_files",
]
