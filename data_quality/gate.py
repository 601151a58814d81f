"""The first quality gate: a handful of SQL checks over the warehouse that decide whether a build may
be published. Each check is ``blocking`` (a failure stops the publish) or ``warning`` (publishes, shows).

The Great Expectations suites (``data_quality.runner``) extend this; their results land in the same
``quality.validation_results`` table (history kept, one row per run and expectation) so stewards read one
history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from contract import ENTITIES

VALIDATION_RESULTS_DDL = """
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.validation_results (
    run_id VARCHAR, suite VARCHAR, expectation VARCHAR, "column" VARCHAR, success BOOLEAN,
    unexpected_count BIGINT, unexpected_percent DOUBLE, severity VARCHAR, sample_keys VARCHAR,
    detail VARCHAR, validated_at TIMESTAMP
)
"""

# A file whose quarantined share exceeds this is treated as a systemic failure, not a few bad rows.
MAX_QUARANTINE_SHARE = 0.10


@dataclass
class CheckResult:
    suite: str
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    unexpected_percent: float
    severity: str  # 'blocking' | 'warning'
    detail: str
    sample_keys: list[str] = field(default_factory=list)
    skipped: bool = False  # the suite could not run (its table is absent): recorded with success NULL

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "passed" if self.success else ("failed" if self.severity == "blocking" else "warning")


@dataclass
class GateResult:
    run_id: str
    checks: list[CheckResult]

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "blocking"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    @property
    def status(self) -> str:
        if self.blocking_failures:
            return "failed"
        return "warnings" if self.warnings else "passed"


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 4) if whole else 0.0


def check_load_conservation(con, run_id: str) -> CheckResult:
    bad = con.execute(
        """SELECT file FROM ops.load_log
           WHERE run_id = ? AND rows_read <> rows_loaded + rows_quarantined + coalesce(rows_deleted, 0)""",
        [run_id],
    ).fetchall()
    total = con.execute("SELECT count(*) FROM ops.load_log WHERE run_id = ?", [run_id]).fetchone()[0]
    return CheckResult(
        "ingestion",
        "rows_read = rows_loaded + rows_quarantined",
        None,
        not bad,
        len(bad),
        _pct(len(bad), total),
        "blocking",
        f"{len(bad)} of {total} files lose rows",
        [b[0] for b in bad[:10]],
    )


def check_file_errors(con, run_id: str) -> CheckResult:
    rows = con.execute(
        "SELECT file, message FROM ops.load_log WHERE run_id = ? AND status = 'error'", [run_id]
    ).fetchall()
    detail = "; ".join(m for _, m in rows[:5]) or "every file of the drop was read"
    return CheckResult(
        "ingestion",
        "every file of the drop is readable",
        None,
        not rows,
        len(rows),
        0.0,
        "blocking",
        detail,
        [f for f, _ in rows[:10]],
    )


def check_entities_present(con) -> CheckResult:
    empty = [e.name for e in ENTITIES if con.execute(f"SELECT count(*) FROM raw.{e.name}").fetchone()[0] == 0]
    return CheckResult(
        "ingestion",
        "every entity of the contract has rows",
        None,
        not empty,
        len(empty),
        _pct(len(empty), len(ENTITIES)),
        "blocking",
        ("no rows for: " + ", ".join(empty)) if empty else "all entities loaded",
        empty,
    )


def check_quarantine_share(con, run_id: str) -> list[CheckResult]:
    out = []
    rows = con.execute(
        """SELECT entity, file, rows_read, rows_quarantined FROM ops.load_log
           WHERE run_id = ? AND status = 'loaded' ORDER BY entity""",
        [run_id],
    ).fetchall()
    for entity, file, read, quarantined in rows:
        share = quarantined / read if read else 0.0
        samples = [
            r[0]
            for r in con.execute(
                """SELECT DISTINCT record_key FROM ops.quarantine
                   WHERE run_id = ? AND entity = ? ORDER BY 1 LIMIT 5""",
                [run_id, entity],
            ).fetchall()
        ]
        out.append(
            CheckResult(
                f"raw.{entity}",
                f"quarantined share <= {MAX_QUARANTINE_SHARE:.0%}",
                None,
                share <= MAX_QUARANTINE_SHARE,
                quarantined,
                _pct(quarantined, read),
                "blocking",
                f"{file}: {quarantined} of {read} rows quarantined",
                samples,
            )
        )
    return out


def check_unique(con, table: str, key: str, severity: str = "blocking") -> CheckResult:
    dupes = con.execute(
        f"SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1 ORDER BY 1 LIMIT 10"
    ).fetchall()
    n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return CheckResult(
        table,
        f"{key} is unique",
        key,
        not dupes,
        len(dupes),
        _pct(len(dupes), n),
        severity,
        f"{len(dupes)} duplicated {key} values",
        [str(d[0]) for d in dupes],
    )


def run_gate(con, run_id: str) -> GateResult:
    """Run every gate check against the warehouse and record the results."""
    checks = [
        check_file_errors(con, run_id),
        check_load_conservation(con, run_id),
        check_entities_present(con),
        *check_quarantine_share(con, run_id),
        check_unique(con, "marts.fct_opportunities", "opportunity_id"),
    ]
    result = GateResult(run_id, checks)
    record_results(con, result)
    return result


def record_results(con, result: GateResult) -> None:
    con.execute(VALIDATION_RESULTS_DDL)
    now = datetime.now()
    con.executemany(
        "INSERT INTO quality.validation_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                result.run_id,
                c.suite,
                c.expectation,
                c.column,
                None if c.skipped else c.success,
                c.unexpected_count,
                c.unexpected_percent,
                c.severity,
                json.dumps(c.sample_keys, ensure_ascii=False),
                c.detail,
                now,
            ]
            for c in result.checks
        ],
    )
