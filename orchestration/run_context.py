"""The as-of date of a run, decided once and kept in the warehouse so every later step reads the same.

Stored in ``meta.run_context`` (one row per run). Given explicitly it wins; otherwise it is the date of
the latest event in the loaded data (capped at today in Asia/Shanghai), so re-running yesterday's drop
reproduces yesterday's numbers.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from salescope.settings import BUSINESS_TZ

DDL = "CREATE SCHEMA IF NOT EXISTS meta; CREATE TABLE IF NOT EXISTS meta.run_context (run_id VARCHAR, as_of DATE, source_dir VARCHAR, decided_at TIMESTAMP)"


def today_in_business_tz() -> date:
    return datetime.now(ZoneInfo(BUSINESS_TZ)).date()


def derive_as_of(con) -> date:
    """Latest event date among the loaded stage changes and touchpoints, never after today."""
    latest = con.execute(
        """SELECT max(d) FROM (
               SELECT max(CAST(changed_at AS DATE)) AS d FROM raw.opportunity_history
               UNION ALL SELECT max(CAST(occurred_at AS DATE)) FROM raw.activities)"""
    ).fetchone()[0]
    today = today_in_business_tz()
    return min(latest, today) if latest else today


def record_as_of(con, run_id: str, as_of: date, source_dir: str) -> None:
    con.execute(DDL)
    con.execute("DELETE FROM meta.run_context WHERE run_id = ?", [run_id])
    con.execute(
        "INSERT INTO meta.run_context VALUES (?, ?, ?, ?)", [run_id, as_of, source_dir, datetime.now()]
    )


def as_of_for_run(con, run_id: str) -> date:
    row = con.execute("SELECT as_of FROM meta.run_context WHERE run_id = ?", [run_id]).fetchone()
    if not row:
        raise RuntimeError(f"run {run_id} has no as-of date: the ingestion step did not run in this run")
    return row[0]


def parse_as_of(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"as-of date {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-06-30"
        ) from None
