"""What stewards read after a run: the latest verdict per suite, top issues, the quarantine, the fix list.

Read-only over the warehouse. The fix list holds every record that is quarantined now (the latest load
of each entity) or flagged by the latest quality run, with its source file and row, the reason, and the
fix to ask the data owner for.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

FIX_BY_KIND: dict[str, str] = {
    "missing_required": "fill in the required value of {column}",
    "bad_type": "write {column} as its type (a number, or true/false)",
    "bad_date_format": "write {column} as a date, e.g. 2026-01-05",
    "negative_amount": "correct {column}: an amount must not be negative",
    "out_of_range": "correct {column}: it lies outside its allowed range",
    "unknown_category": "use an allowed value for {column} (`salescope contract --markdown` lists them)",
    "future_date": "correct {column}: it lies after the export date",
    "date_order": "correct {column}: it comes before the date it must follow",
    "duplicate_key": "remove the repeated record: {column} must be unique",
    "orphan_fk": "correct {column} or add the record it references",
    "bookings_mismatch": "rebuild the marts and report it to the analytics team (bookings ≠ Σ won amounts)",
    "funnel_rises": "rebuild the marts and report it to the analytics team (funnel count rises)",
    "attainment_mismatch": "rebuild the marts and report it to the analytics team (attainment ≠ bookings ÷ quota)",
    "collected_exceeds_invoiced": "check the payments with finance: more collected than invoiced",
    "snapshot_count_mismatch": "rebuild the marts and report it to the analytics team (snapshot ≠ open deals)",
}

FIX_LIST_COLUMNS = [
    "entity",
    "record_key",
    "kind",
    "severity",
    "action",
    "source_file",
    "source_row",
    "column",
    "reason",
    "fix",
]


def fix_for(kind: str, column: str | None, detail: str | None = None) -> str:
    text = FIX_BY_KIND.get(kind, "check this record with its data owner").format(column=column or "the value")
    if kind == "orphan_fk" and detail and "was quarantined" in detail:
        text = f"fix the referenced record in its own file (it was quarantined); then {column} resolves"
    return text


def table_exists(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def latest_run(con) -> tuple[str, str, object] | None:
    """(run_id, status, as_of) of the latest quality run."""
    if not table_exists(con, "quality", "summary"):
        return None
    row = con.execute(
        "SELECT run_id, any_value(run_status), any_value(as_of) FROM quality.summary GROUP BY run_id "
        "ORDER BY max(validated_at) DESC LIMIT 1"
    ).fetchall()
    return tuple(row[0]) if row else None


CURRENT_LOADS = """SELECT load_id FROM (SELECT load_id, row_number() OVER (PARTITION BY entity ORDER BY loaded_at DESC) AS n
                   FROM ops.load_log WHERE status = 'loaded') WHERE n = 1"""


def suite_results(con, run_id: str) -> list[tuple]:
    return con.execute(
        """SELECT suite, status, expectations, failed_blocking, failed_warning, unexpected_total, sample_keys
           FROM quality.summary WHERE run_id = ? ORDER BY suite""",
        [run_id],
    ).fetchall()


def top_issues(con, run_id: str, limit: int = 10) -> list[tuple]:
    return con.execute(
        f"""SELECT entity, kind, severity, count(*) AS n, min(record_key) AS example FROM (
                SELECT entity, record_key, kind, severity FROM quality.issues WHERE run_id = ? AND action = 'flagged'
                UNION ALL
                SELECT entity, record_key, kind, 'error' FROM ops.quarantine WHERE load_id IN ({CURRENT_LOADS}))
            GROUP BY ALL ORDER BY n DESC, entity, kind LIMIT {int(limit)}""",
        [run_id],
    ).fetchall()


def quarantine_counts(con) -> list[tuple]:
    return con.execute(
        f"""SELECT entity, kind, count(DISTINCT source_row) FROM ops.quarantine WHERE load_id IN ({CURRENT_LOADS})
            GROUP BY 1, 2 ORDER BY 1, 3 DESC"""
    ).fetchall()


@dataclass
class FixRow:
    entity: str
    record_key: str | None
    kind: str
    severity: str
    action: str
    source_file: str | None
    source_row: int | None
    column: str | None
    reason: str | None
    fix: str


def fix_rows(con, run_id: str | None) -> list[FixRow]:
    rows = con.execute(
        f"""SELECT entity, record_key, kind, 'error', 'quarantined', source_file, source_row, column_name, reason
            FROM ops.quarantine WHERE load_id IN ({CURRENT_LOADS})
            UNION ALL
            SELECT entity, record_key, kind, severity, action, source_file, source_row, column_name, detail
            FROM quality.issues WHERE run_id = ? AND action = 'flagged'
            ORDER BY 1, 6, 7, 2, 3""",
        [run_id or ""],
    ).fetchall()
    seen = set()
    out = []
    for entity, key, kind, severity, action, file, row, column, reason in rows:
        ident = (entity, key, kind, column, action)
        if ident in seen:
            continue
        seen.add(ident)
        out.append(
            FixRow(
                entity, key, kind, severity, action, file, row, column, reason, fix_for(kind, column, reason)
            )
        )
    return out


def write_fix_list(con, out: Path) -> int:
    """Write the fix list CSV (UTF-8 with BOM, so Excel opens the Chinese text); returns the row count."""
    run = latest_run(con)
    rows = fix_rows(con, run[0] if run else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(FIX_LIST_COLUMNS)
        for r in rows:
            w.writerow(
                [
                    r.entity,
                    r.record_key,
                    r.kind,
                    r.severity,
                    r.action,
                    r.source_file,
                    r.source_row,
                    r.column,
                    r.reason,
                    r.fix,
                ]
            )
    return len(rows)
