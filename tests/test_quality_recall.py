"""Every injected defect is reported with its key and kind; a clean drop raises no error-level issue.

Ingest (no dbt) + every quality suite, checked against the generator's manifest (an independent record
of what was injected). Mart suites are skipped here (no marts built); the docs, the stewards' summary and
the fix list are produced and agree with each other.
"""

from __future__ import annotations

import csv
import json
from datetime import date

import duckdb
import pytest

from data_quality.gx_runner import GxEngine
from data_quality.report import FIX_LIST_COLUMNS, write_fix_list
from data_quality.runner import run_quality
from ingestion import ingest_directory, run_cross_checks

AS_OF = date(2026, 6, 30)  # the generator's default export date


@pytest.fixture(scope="module")
def engine():
    return GxEngine()


def _ingest_and_validate(tmp_path, drop, engine, run_id="r1"):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ingest_directory(con, drop, as_of=AS_OF, run_id=run_id)
    run_cross_checks(con, run_id=run_id)
    result = run_quality(con, run_id, as_of=AS_OF, docs_dir=tmp_path / "docs", engine=engine)
    return con, result


@pytest.mark.parametrize("defect_rate", [0.02, 0.03])
def test_every_manifest_defect_is_an_issue(tmp_path, drop_factory, engine, defect_rate):
    drop, manifest = drop_factory(scale=0.05, seed=11, defect_rate=defect_rate)
    con, result = _ingest_and_validate(tmp_path, drop, engine)
    found = set(con.execute("SELECT entity, record_key, kind FROM quality.issues").fetchall())
    expected = {(d["entity"], d["record_key"], d["kind"]) for d in manifest["defects"]}
    assert len({k for _, _, k in expected}) == 10
    missing = sorted(expected - found)
    assert not missing, f"{len(missing)} of {len(expected)} defects not reported, e.g. {missing[:5]}"
    # a few percent of bad rows (and their orphaned children) warn but do not block
    assert result.passed, result.failure_lines()
    assert result.gate.status == "warnings"
    orphans = [
        c
        for c in result.gate.checks
        if c.expectation.startswith("references ") and "orphans <=" not in c.expectation
    ]
    assert any(not c.success and c.severity == "warning" for c in orphans)

    # the fix list names every quarantined record, with its source row and a fix; docs name failing keys
    out = tmp_path / "fixes.csv"
    n = write_fix_list(con, out)
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == FIX_LIST_COLUMNS and len(rows) == n
    listed = {(r["entity"], r["record_key"], r["kind"]) for r in rows}
    quarantined = {d for d in expected if d[2] != "orphan_fk"}
    assert quarantined <= listed
    assert all(r["fix"] and r["source_file"] and r["source_row"] for r in rows)
    orphan_keys = {r["record_key"] for r in rows if r["kind"] == "orphan_fk"}
    index = (tmp_path / "docs" / "index.html").read_text(encoding="utf-8")
    summary = con.execute(
        "SELECT suite, status, failed_warning, sample_keys FROM quality.summary WHERE run_id = 'r1'"
    ).fetchall()
    for suite, status, warned, keys in summary:
        if status == "warnings" and suite.startswith("raw."):
            assert warned > 0 and suite in index
            for key in json.loads(keys):
                assert key in index  # the docs show the failing records the summary samples
                assert key in orphan_keys  # and the fix list lists them


def test_clean_drop_raises_no_error_level_issue(tmp_path, drop_factory, engine):
    drop, manifest = drop_factory(scale=0.05, seed=7, defect_rate=0.0)
    assert not manifest["defects"]
    con, result = _ingest_and_validate(tmp_path, drop, engine)
    assert con.execute("SELECT count(*) FROM quality.issues WHERE severity = 'error'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM quality.issues").fetchone()[0] == 0
    assert result.gate.status == "passed", [c for c in result.gate.checks if not c.success]
    statuses = result.suite_status()
    assert {s for s in statuses.values()} <= {"passed", "skipped"}
    assert all(statuses[f"marts.{m}"] == "skipped" for m in ("mart_funnel", "mart_collections"))
    # history kept: a second run appends its own results and compares volume and null rates with the first
    result2 = run_quality(con, "r2", as_of=AS_OF, docs_dir=tmp_path / "docs", engine=engine)
    assert result2.gate.status == "passed"
    runs = con.execute("SELECT count(DISTINCT run_id) FROM quality.validation_results").fetchone()[0]
    assert runs == 2
    drift = [c for c in result2.gate.checks if c.expectation.startswith("null rate")]
    assert drift and all(c.success and "no column drifted" in c.detail for c in drift)
