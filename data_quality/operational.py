"""Operational checks per entity, in SQL: is this drop complete, fresh and shaped like the last one?

- file present: every entity of the contract has a file in the drop (loaded or unchanged). A missing
  file would leave last time's rows in raw.* and publish them as if current: blocking.
- volume: rows read this load against the entity's previous load. A change beyond ``VOLUME_WARN``
  (either way) is a warning; a fall beyond ``VOLUME_BLOCK_DROP`` (a truncated export) blocks.
- freshness: the newest record's date against the as-of date, for the entities that move every day;
  older than ``FRESHNESS_DAYS`` is a warning.
- null-rate drift: each column's share of NULLs in raw.<entity> against the previous run's profile
  (``quality.column_profiles``); a move of more than ``NULL_DRIFT`` (absolute) is a warning.
"""

from __future__ import annotations

from datetime import date, datetime

from contract import ENTITIES, Entity
from ingestion.raw_schema import raw_table
from ingestion.sqlutil import ident

from .gate import CheckResult

VOLUME_WARN = 0.30
VOLUME_BLOCK_DROP = 0.50
NULL_DRIFT = 0.10
FRESHNESS_DAYS: dict[str, tuple[str, int]] = {
    "activities": ("occurred_at", 7),
    "opportunity_history": ("changed_at", 7),
    "opportunities": ("created_at", 30),
}

PROFILES_DDL = """
CREATE TABLE IF NOT EXISTS quality.column_profiles (
    run_id VARCHAR, entity VARCHAR, "column" VARCHAR, row_count BIGINT, null_count BIGINT,
    null_rate DOUBLE, profiled_at TIMESTAMP
)
"""


def load_run_id(con, run_id: str) -> str:
    """The run whose drop is being judged: this run if it loaded files, else the latest run that did."""
    if con.execute("SELECT count(*) FROM ops.load_log WHERE run_id = ?", [run_id]).fetchone()[0]:
        return run_id
    row = con.execute("SELECT run_id FROM ops.load_log ORDER BY loaded_at DESC LIMIT 1").fetchone()
    return row[0] if row else run_id


def _suite(entity: Entity) -> str:
    return f"ops.{entity.name}"


def check_file_present(con, entity: Entity, load_run: str) -> CheckResult:
    rows = con.execute(
        "SELECT status, file FROM ops.load_log WHERE run_id = ? AND entity = ? ORDER BY loaded_at DESC",
        [load_run, entity.name],
    ).fetchall()
    ok = any(status in ("loaded", "unchanged") for status, _ in rows)
    if ok:
        detail = f"{rows[0][1]} is in the drop"
    elif rows:
        detail = f"{rows[0][1]} could not be loaded ({rows[0][0]})"
    else:
        detail = (
            f"no {entity.name} file in the drop: add {entity.name}.csv (or .xlsx/.parquet/.jsonl, "
            f"or {entity.zh}.csv); the warehouse still holds the previous load"
        )
    return CheckResult(
        _suite(entity),
        "entity file present in the drop",
        None,
        ok,
        0 if ok else 1,
        0.0 if ok else 100.0,
        "blocking",
        detail,
        [] if ok else [entity.name],
    )


def check_volume(con, entity: Entity, load_run: str) -> CheckResult:
    # an incremental batch from a database (cursor_from set) holds only what changed: not a whole export
    rows = con.execute(
        """SELECT run_id, rows_read, file, cursor_from FROM ops.load_log WHERE entity = ? AND status = 'loaded'
           ORDER BY loaded_at DESC LIMIT 2""",
        [entity.name],
    ).fetchall()
    name = f"row count within ±{VOLUME_WARN:.0%} of the previous load"
    if rows and rows[0][0] == load_run and rows[0][3] is not None:
        return CheckResult(
            _suite(entity), name, None, True, 0, 0.0, "warning", "nothing to compare: an incremental batch"
        )
    rows = [r[:3] for r in rows]
    if not rows or rows[0][0] != load_run or len(rows) < 2:
        why = "first load of this entity" if len(rows) < 2 else "file unchanged since the previous load"
        return CheckResult(_suite(entity), name, None, True, 0, 0.0, "warning", f"nothing to compare: {why}")
    (_, now_rows, file), (_, before, _) = rows
    change = (now_rows - before) / before if before else 0.0
    blocking = change < -VOLUME_BLOCK_DROP
    ok = abs(change) <= VOLUME_WARN
    detail = f"{file}: {now_rows:,} rows read, previous load {before:,} ({change:+.0%})"
    if blocking:
        detail += f"; a fall of more than {VOLUME_BLOCK_DROP:.0%} looks like a truncated export"
    return CheckResult(
        _suite(entity),
        name if not blocking else f"row count not down by more than {VOLUME_BLOCK_DROP:.0%}",
        None,
        ok,
        abs(now_rows - before),
        round(100 * abs(change), 4),
        "blocking" if blocking else "warning",
        detail,
    )


def check_freshness(con, entity: Entity, as_of: date) -> CheckResult | None:
    if entity.name not in FRESHNESS_DAYS:
        return None
    column, days = FRESHNESS_DAYS[entity.name]
    newest = con.execute(f"SELECT max(CAST({ident(column)} AS DATE)) FROM {raw_table(entity)}").fetchone()[0]
    name = f"newest {column} within {days} days of the as-of date"
    if newest is None:
        return CheckResult(
            _suite(entity), name, column, False, 0, 0.0, "warning", "no rows to judge freshness"
        )
    age = (as_of - newest).days
    return CheckResult(
        _suite(entity),
        name,
        column,
        age <= days,
        max(age, 0),
        0.0,
        "warning",
        f"newest {column} is {newest} ({age} days before the as-of date {as_of})",
    )


def profile(con, entity: Entity) -> list[tuple[str, int, int]]:
    """(column, rows, nulls) of every contract column of raw.<entity>, in one pass."""
    cols = entity.column_names
    exprs = ", ".join(f"count(*) - count({ident(c)})" for c in cols)
    row = con.execute(f"SELECT count(*), {exprs} FROM {raw_table(entity)}").fetchone()
    return [(c, int(row[0]), int(row[i + 1])) for i, c in enumerate(cols)]


def check_null_drift(con, entity: Entity, run_id: str, now: datetime) -> CheckResult:
    con.execute(PROFILES_DDL)
    current = profile(con, entity)
    previous = dict(
        con.execute(
            """SELECT "column", null_rate FROM quality.column_profiles
               WHERE entity = ? AND run_id = (SELECT run_id FROM quality.column_profiles WHERE entity = ? AND run_id <> ?
                                              ORDER BY profiled_at DESC LIMIT 1)""",
            [entity.name, entity.name, run_id],
        ).fetchall()
    )
    con.execute("DELETE FROM quality.column_profiles WHERE run_id = ? AND entity = ?", [run_id, entity.name])
    con.executemany(
        "INSERT INTO quality.column_profiles VALUES (?, ?, ?, ?, ?, ?, ?)",
        [[run_id, entity.name, c, n, z, (z / n if n else 0.0), now] for c, n, z in current],
    )
    name = f"null rate per column within {NULL_DRIFT:.0%} of the previous run"
    if not previous:
        return CheckResult(
            _suite(entity), name, None, True, 0, 0.0, "warning", "nothing to compare: first profile"
        )
    drifted = []
    for c, n, z in current:
        rate = z / n if n else 0.0
        if c in previous and abs(rate - previous[c]) > NULL_DRIFT:
            drifted.append(f"{c} {previous[c]:.0%} -> {rate:.0%}")
    detail = ("drifted: " + "; ".join(drifted)) if drifted else "no column drifted"
    return CheckResult(
        _suite(entity),
        name,
        ",".join(d.split(" ")[0] for d in drifted) or None,
        not drifted,
        len(drifted),
        round(100 * len(drifted) / len(current), 4),
        "warning",
        detail,
    )


def run_operational(con, run_id: str, as_of: date, now: datetime | None = None) -> list[CheckResult]:
    now = now or datetime.now()
    load_run = load_run_id(con, run_id)
    out: list[CheckResult] = []
    for entity in ENTITIES:
        out.append(check_file_present(con, entity, load_run))
        out.append(check_volume(con, entity, load_run))
        fresh = check_freshness(con, entity, as_of)
        if fresh is not None:
            out.append(fresh)
        out.append(check_null_drift(con, entity, run_id, now))
    return out
