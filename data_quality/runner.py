"""One quality run: every suite, the results, the issues, the stewards' summary and the Data Docs.

``run_quality`` is what the ``quality_gate`` asset calls after the marts are built:
1. ingestion checks (``gate``): files readable, rows conserved, every entity loaded, quarantine share;
2. operational checks (``operational``): file present, volume, freshness, null-rate drift;
3. raw suites (``raw_suites``, from the contract) and mart suites (``mart_suites``, by hand), validated
   by Great Expectations on pandas batches fed from DuckDB (``gx_runner``);
4. ``quality.validation_results`` (appended: history kept), ``quality.issues`` (every failing record of
   every suite, with its key; records already reported in this run are not repeated),
   ``quality.summary`` (one row per suite and run, for the stewards' page), Data Docs HTML.
The result says which blocking expectations failed; the caller decides not to publish.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

from .gate import (
    VALIDATION_RESULTS_DDL,
    CheckResult,
    GateResult,
    check_entities_present,
    check_file_errors,
    check_load_conservation,
    check_quarantine_share,
    record_results,
)
from .gx_runner import Outcome
from .mart_suites import MART_SUITES
from .operational import load_run_id, run_operational
from .raw_suites import raw_suites
from .result import QualityResult
from .spec import BLOCKING, Suite

SUMMARY_DDL = """
CREATE TABLE IF NOT EXISTS quality.summary (
    run_id VARCHAR, as_of DATE, validated_at TIMESTAMP, run_status VARCHAR, suite VARCHAR, asset VARCHAR,
    status VARCHAR, expectations BIGINT, passed BIGINT, failed_blocking BIGINT, failed_warning BIGINT,
    unexpected_total BIGINT, flagged_records BIGINT, quarantined_rows BIGINT, sample_keys VARCHAR, docs_path VARCHAR
)
"""


def ingestion_checks(con, load_run: str) -> list[CheckResult]:
    return [
        check_file_errors(con, load_run),
        check_load_conservation(con, load_run),
        check_entities_present(con),
        *check_quarantine_share(con, load_run),
    ]


def suites_for_run(con, as_of: date | None) -> tuple[list[Suite], list[CheckResult]]:
    """The suites that can run now, and a 'skipped' result for each mart suite whose table is absent."""
    suites = list(raw_suites(as_of))
    skipped = []
    for name, build in MART_SUITES.items():
        made = build(con)
        if isinstance(made, str):
            skipped.append(
                CheckResult(
                    f"marts.{name}",
                    "suite runs when its mart exists",
                    None,
                    True,
                    0,
                    0.0,
                    BLOCKING,
                    f"skipped: {made}",
                    [],
                    skipped=True,
                )
            )
        else:
            suites.append(made)
    return suites, skipped


def run_quality(con, run_id: str, *, as_of: date, docs_dir: Path | None = None, engine=None) -> QualityResult:
    from .gx_runner import GxEngine

    timings: dict[str, float] = {}
    started = time.perf_counter()
    con.execute(VALIDATION_RESULTS_DDL)
    now = datetime.now()
    load_run = load_run_id(con, run_id)
    checks = ingestion_checks(con, load_run) + run_operational(con, run_id, as_of, now)
    timings["sql_checks"] = time.perf_counter() - started

    t = time.perf_counter()
    suites, skipped = suites_for_run(con, as_of)
    engine = engine or GxEngine()
    outcomes: list[Outcome] = []
    for suite in suites:
        outcomes.extend(engine.validate(con, suite))
    timings["gx_suites"] = time.perf_counter() - t

    checks += [o.check for o in outcomes] + skipped
    gate = GateResult(run_id, checks)
    record_results(con, gate)
    write_issues(con, run_id, load_run, outcomes, now)
    result = QualityResult(gate, outcomes)
    docs_path = None
    if docs_dir is not None:
        from .docs import build_docs

        docs_path = build_docs(con, result, Path(docs_dir), as_of=as_of)
        result.docs_index = docs_path
    write_summary(con, result, as_of, now, load_run)
    timings["total"] = time.perf_counter() - started
    result.timings = timings
    return result


def write_issues(con, run_id: str, load_run: str, outcomes: list[Outcome], now: datetime) -> int:
    """Every failing record of every suite into quality.issues, once per (entity, record_key, kind)."""
    import pyarrow as pa

    rows: dict[tuple[str, str, str], tuple] = {}
    for o in outcomes:
        if o.expect is None or not o.failures:
            continue
        severity = "error" if o.expect.severity == BLOCKING else "warning"
        for f in o.failures:
            key = (o.suite.entity, f.record_key, o.expect.kind)
            if key in rows and rows[key][3] == "error":
                continue
            detail = f"{o.suite.name}: {o.check.expectation} failed" + (f" ({f.value})" if f.value else "")
            rows[key] = (
                o.suite.entity,
                f.record_key,
                o.expect.kind,
                severity,
                detail,
                f.source_file,
                f.source_row,
                o.expect.column,
            )
    if not rows:
        return 0
    cols = list(zip(*rows.values(), strict=True))
    table = pa.table(
        {
            "entity": pa.array(cols[0], pa.string()),
            "record_key": pa.array(cols[1], pa.string()),
            "kind": pa.array(cols[2], pa.string()),
            "severity": pa.array(cols[3], pa.string()),
            "detail": pa.array(cols[4], pa.string()),
            "source_file": pa.array(cols[5], pa.string()),
            "source_row": pa.array(cols[6], pa.int64()),
            "column_name": pa.array(cols[7], pa.string()),
        }
    )
    con.register("_quality_new_issues", table)
    try:
        before = con.execute("SELECT count(*) FROM quality.issues").fetchall()[0][0]
        con.execute(
            """INSERT INTO quality.issues (entity, record_key, kind, severity, action, detail, source_file,
                   source_row, detected_at, run_id, column_name, load_id)
               SELECT n.entity, n.record_key, n.kind, n.severity, 'flagged', n.detail, n.source_file, n.source_row,
                      $now, $run_id, n.column_name, NULL
               FROM _quality_new_issues AS n
               WHERE NOT EXISTS (SELECT 1 FROM quality.issues AS i
                                 WHERE i.run_id IN ($run_id, $load_run) AND i.entity = n.entity
                                   AND i.record_key = n.record_key AND i.kind = n.kind)
               ORDER BY n.entity, n.source_row, n.record_key""",
            {"now": now, "run_id": run_id, "load_run": load_run},
        ).fetchall()
        return con.execute("SELECT count(*) FROM quality.issues").fetchall()[0][0] - before
    finally:
        con.unregister("_quality_new_issues")


def _asset_of(suite: str) -> str:
    kind, _, name = suite.partition(".")
    if kind in ("raw", "ops"):
        return f"crm/{name}"
    if kind == "marts":
        return f"marts/{name}"
    return "quality_gate"


def write_summary(con, result: QualityResult, as_of: date, now: datetime, load_run: str) -> None:
    """quality.summary: one row per suite of this run, ready for the stewards' page."""
    import json

    con.execute(SUMMARY_DDL)
    statuses = result.suite_status()
    flagged: dict[str, int] = {}
    for o in result.outcomes:
        if not o.check.success:
            flagged[o.suite.name] = flagged.get(o.suite.name, 0) + len(o.failures)
    quarantined = dict(
        con.execute(
            "SELECT entity, count(DISTINCT source_row) FROM ops.quarantine WHERE run_id = ? GROUP BY 1",
            [load_run],
        ).fetchall()
    )
    rows = []
    for suite, status in statuses.items():
        cs = [c for c in result.gate.checks if c.suite == suite]
        entity = suite.partition(".")[2]
        keys = sorted({k for c in cs if not c.success for k in c.sample_keys})[:10]
        rows.append(
            [
                result.gate.run_id,
                as_of,
                now,
                result.gate.status,
                suite,
                _asset_of(suite),
                status,
                len(cs),
                sum(1 for c in cs if c.success and not c.skipped),
                sum(1 for c in cs if not c.success and c.severity == BLOCKING),
                sum(1 for c in cs if not c.success and c.severity != BLOCKING),
                sum(c.unexpected_count for c in cs if not c.success),
                flagged.get(suite, 0),
                int(quarantined.get(entity, 0)) if suite.startswith("raw.") else 0,
                json.dumps(keys, ensure_ascii=False),
                str(result.docs_index) if result.docs_index else None,
            ]
        )
    con.execute("DELETE FROM quality.summary WHERE run_id = ?", [result.gate.run_id])
    con.executemany(f"INSERT INTO quality.summary VALUES ({', '.join(['?'] * 16)})", rows)
