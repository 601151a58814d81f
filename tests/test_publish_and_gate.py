"""Publish swaps a complete snapshot in atomically; the gate blocks systemic failures."""

from __future__ import annotations

from datetime import date

import duckdb

from data_quality.gate import MAX_QUARANTINE_SHARE, run_gate
from ingestion.raw_schema import ensure_warehouse_schema
from orchestration.publish import publish_snapshot


def _warehouse(path, bookings=(100, 200)):
    con = duckdb.connect(str(path))
    ensure_warehouse_schema(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE OR REPLACE TABLE marts.fct_opportunities AS SELECT * FROM (VALUES ('O1', 100), ('O2', 200)) t(opportunity_id, amount_cny)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE marts.mart_bookings_monthly AS SELECT unnest(?) AS bookings_cny",
        [list(bookings)],
    )
    return con


def test_publish_copies_marts_and_logs(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb")
    serving = tmp_path / "serving" / "serving.duckdb"
    res = publish_snapshot(con, serving, run_id="r1", as_of=date(2026, 6, 30), quality_status="passed")
    assert res.row_counts["marts.fct_opportunities"] == 2
    assert not (serving.parent / "serving.tmp.duckdb").exists()
    s = duckdb.connect(str(serving), read_only=True)
    assert s.execute("SELECT sum(amount_cny) FROM marts.fct_opportunities").fetchone()[0] == 300
    assert s.execute("SELECT run_id, as_of, quality_status FROM meta.publish_log").fetchall() == [
        ("r1", date(2026, 6, 30), "passed")
    ]
    assert s.execute("SELECT count(*) FROM ops.load_log").fetchone()[0] == 0
    s.close()
    # a second publish replaces the content and keeps the publish history
    con.execute(
        "CREATE OR REPLACE TABLE marts.fct_opportunities AS SELECT 'O3' AS opportunity_id, 5 AS amount_cny"
    )
    publish_snapshot(con, serving, run_id="r2", as_of=date(2026, 7, 31), quality_status="warnings")
    s = duckdb.connect(str(serving), read_only=True)
    assert s.execute("SELECT sum(amount_cny) FROM marts.fct_opportunities").fetchone()[0] == 5
    assert [
        r[0] for r in s.execute("SELECT run_id FROM meta.publish_log ORDER BY published_at").fetchall()
    ] == ["r1", "r2"]


def test_reader_keeps_its_snapshot_during_publish(tmp_path):
    """A reader that opened the old file keeps reading it; os.replace never truncates it under them."""
    con = _warehouse(tmp_path / "w.duckdb")
    serving = tmp_path / "serving.duckdb"
    publish_snapshot(con, serving, run_id="r1", as_of=date(2026, 6, 30), quality_status="passed")
    reader = duckdb.connect(str(serving), read_only=True)
    con.execute(
        "CREATE OR REPLACE TABLE marts.fct_opportunities AS SELECT 'O9' AS opportunity_id, 1 AS amount_cny"
    )
    publish_snapshot(con, serving, run_id="r2", as_of=date(2026, 6, 30), quality_status="passed")
    assert reader.execute("SELECT count(*) FROM marts.fct_opportunities").fetchone()[0] == 2


def _log(con, run_id, entity, read, loaded, quarantined, status="loaded"):
    con.execute(
        """INSERT INTO ops.load_log (load_id, run_id, entity, file, sha256, rows_read, rows_loaded,
               rows_quarantined, status, message, loaded_at) VALUES (?, ?, ?, ?, 'x', ?, ?, ?, ?, '', now())""",
        [f"L-{entity}", run_id, entity, f"{entity}.csv", read, loaded, quarantined, status],
    )


def test_gate_blocks_systemic_quarantine_and_lost_rows(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb")
    from contract import ENTITIES

    for e in ENTITIES:  # every entity present
        con.execute(f"INSERT INTO raw.{e.name} (_record_key) VALUES ('k')")
    _log(con, "ok", "accounts", 100, 98, 2)
    gate = run_gate(con, "ok")
    assert gate.passed and gate.status == "passed"

    share = int(100 * MAX_QUARANTINE_SHARE) + 20  # 30% of opportunities quarantined: systemic
    _log(con, "bad", "opportunities", 100, 100 - share, share)
    _log(con, "bad", "accounts", 100, 90, 5)  # 5 rows lost
    gate = run_gate(con, "bad")
    failed = {(c.suite, c.expectation) for c in gate.blocking_failures}
    assert ("raw.opportunities", f"quarantined share <= {MAX_QUARANTINE_SHARE:.0%}") in failed
    assert ("ingestion", "rows_read = rows_loaded + rows_quarantined") in failed
    assert gate.status == "failed"
    recorded = con.execute(
        "SELECT count(*) FROM quality.validation_results WHERE run_id = 'bad' AND NOT success"
    ).fetchone()[0]
    assert recorded == len(gate.blocking_failures) + len(gate.warnings)


def test_gate_blocks_missing_entity(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb")
    gate = run_gate(con, "empty")
    missing = [c for c in gate.blocking_failures if c.expectation == "every entity of the contract has rows"]
    assert missing and missing[0].unexpected_count == 18
