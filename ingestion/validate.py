"""Row-level checks: one SQL pass that normalises a source relation and lists each row's defects.

``stage_sql`` builds ``CREATE TEMP TABLE <stage> AS ...`` with, per source row:
``_row`` (source row number), ``_key`` (record key), ``_reasons`` (NULL when the row is clean, else a
list of ``{kind, col, reason}`` structs) and ``v_<column>`` (typed value) for every contract column.
The query may take one named parameter, ``$as_of`` (DATE): pass ``stage_params(sql, as_of)``.

Reason codes are the contract's ``DEFECT_KINDS`` (row-level ones):
missing_required, bad_type, bad_date_format, negative_amount, out_of_range, unknown_category,
future_date, date_order (column: the later one), duplicate_key (column: the primary key columns joined
by ','; the first row of a key is kept, every later one is quarantined).
"""

from __future__ import annotations

from dataclasses import dataclass

from contract import DEFECT_KINDS, SQL_TYPES, VOCABULARIES, Column, Entity
from ingestion.headers import HeaderMatch
from ingestion.normalize import (
    TYPE_HINTS,
    halfwidth_sql,
    key_text_sql,
    missing_sql,
    readable_sql,
    trim_sql,
    value_steps,
)
from ingestion.sqlutil import ident, lit

ROW_LEVEL_KINDS: tuple[str, ...] = (
    "missing_required",
    "bad_type",
    "bad_date_format",
    "negative_amount",
    "out_of_range",
    "unknown_category",
    "future_date",
    "date_order",
    "duplicate_key",
)
assert set(ROW_LEVEL_KINDS) <= set(DEFECT_KINDS)

_QUOTE_MAX = 80  # characters of a raw value quoted in a reason


@dataclass(frozen=True)
class Check:
    kind: str
    column: str
    condition: str  # SQL boolean over the stage's r_/t_/v_ columns
    reason: str  # SQL text expression


def r(name: str) -> str:
    return ident(f"r_{name}")


def t(name: str) -> str:
    return ident(f"t_{name}")


def v(name: str) -> str:
    return ident(f"v_{name}")


def _quoted_raw(name: str) -> str:
    """SQL text: the raw value in single quotes, shortened."""
    raw = f"trim({r(name)})"
    return (
        f"'''' || CASE WHEN length({raw}) > {_QUOTE_MAX} THEN left({raw}, {_QUOTE_MAX}) || '…' "
        f"ELSE {raw} END || ''''"
    )


def _value_text(column: Column) -> str:
    """SQL text: the raw value quoted, plus how it was read when that differs (e.g. an Excel serial)."""
    name = column.name
    shown = readable_sql(column, v(name))
    return f"{_quoted_raw(name)} || CASE WHEN trim({r(name)}) <> {shown} THEN ' (read as ' || {shown} || ')' ELSE '' END"


def _num(x: float) -> str:
    return f"{x:g}"


def _allowed_values(vocab: str) -> str:
    return ", ".join(f"{term.code} ({term.zh})" for term in VOCABULARIES[vocab])


def column_checks(entity: Entity, column: Column) -> list[Check]:
    """Checks on one column present in the file."""
    name, zh = column.name, column.zh
    checks: list[Check] = []
    if column.required:
        checks.append(
            Check(
                "missing_required",
                name,
                f"{t(name)} IS NULL",
                f"{lit(f'{name} ({zh}) is required but ')} || CASE WHEN nullif(trim({r(name)}), '') IS NULL "
                f"THEN 'empty' ELSE 'given as ' || {_quoted_raw(name)} END",
            )
        )
    unreadable = f"{t(name)} IS NOT NULL AND {v(name)} IS NULL"
    if column.type in ("int", "float", "amount", "bool"):
        what = {"int": "a whole number", "float": "a number", "amount": "a number", "bool": "true/false"}
        checks.append(
            Check(
                "bad_type",
                name,
                unreadable,
                f"{lit(name + ' ')} || {_quoted_raw(name)} || "
                f"{lit(f' is not {what[column.type]} ({zh} must be {TYPE_HINTS[column.type]})')}",
            )
        )
    elif column.type in ("date", "timestamp"):
        checks.append(
            Check(
                "bad_date_format",
                name,
                unreadable,
                f"{lit(name + ' ')} || {_quoted_raw(name)} || "
                f"{lit(f' is not a readable date ({zh} must be {TYPE_HINTS[column.type]})')}",
            )
        )
    elif column.type == "enum":
        assert column.vocab is not None
        checks.append(
            Check(
                "unknown_category",
                name,
                unreadable,
                f"{lit(name + ' ')} || {_quoted_raw(name)} || "
                f"{lit(f' is not an allowed value ({zh} must be one of: {_allowed_values(column.vocab)})')}",
            )
        )
    if column.type == "amount":
        checks.append(
            Check(
                "negative_amount",
                name,
                f"{v(name)} < 0",
                f"{lit(name + ' ')} || {_quoted_raw(name)} || {lit(f' is below zero ({zh} must not be negative)')}",
            )
        )
    if column.type in ("int", "float", "amount") and (column.min is not None or column.max is not None):
        parts = []
        if column.min is not None:
            parts.append(f"{v(name)} < {column.min!r}")
        if column.max is not None:
            parts.append(f"{v(name)} > {column.max!r}")
        lo = _num(column.min) if column.min is not None else "-∞"
        hi = _num(column.max) if column.max is not None else "∞"
        checks.append(
            Check(
                "out_of_range",
                name,
                " OR ".join(parts),
                f"{lit(name + ' ')} || {_quoted_raw(name)} || {lit(f' is outside the allowed range {lo} to {hi} ({zh})')}",
            )
        )
    if name in entity.event_dates and column.type in ("date", "timestamp"):
        day = v(name) if column.type == "date" else f"CAST({v(name)} AS DATE)"
        checks.append(
            Check(
                "future_date",
                name,
                f"{day} > $as_of::DATE",
                f"{lit(name + ' ')} || {_value_text(column)} || ' is after the as-of date ' || "
                f"strftime($as_of::DATE, '%Y-%m-%d') || {lit(f' ({zh} cannot lie in the future)')}",
            )
        )
    return checks


def date_order_checks(entity: Entity, present: set[str]) -> list[Check]:
    checks = []
    for earlier, later in entity.date_order:
        if earlier not in present or later not in present:
            continue
        ce, cl = entity.column(earlier), entity.column(later)
        if ce.type == "timestamp" and cl.type == "timestamp":
            e_val, l_val = v(earlier), v(later)
        else:
            e_val, l_val = f"CAST({v(earlier)} AS DATE)", f"CAST({v(later)} AS DATE)"
        checks.append(
            Check(
                "date_order",
                later,
                f"{l_val} < {e_val}",
                f"{lit(later + ' ')} || {_value_text(cl)} || {lit(f' is before {earlier} ')} || "
                f"{_value_text(ce)} || {lit(f' ({cl.zh} must not come before {ce.zh})')}",
            )
        )
    return checks


def duplicate_check(entity: Entity) -> Check:
    cols = ",".join(entity.primary_key)
    return Check(
        "duplicate_key",
        cols,
        "_first_row < _row",
        f"{lit(f'{cols} ')} || '''' || _key || '''' || ' appears more than once in the file; row ' || "
        f"CAST(_first_row AS VARCHAR) || ' is kept and this later row is not loaded'",
    )


def stage_params(sql: str, as_of) -> dict:
    """The named parameters ``sql`` (from ``stage_sql``) uses: ``$as_of`` only with an event-date check."""
    return {"as_of": as_of} if "$as_of" in sql else {}


def stage_sql(entity: Entity, match: HeaderMatch, source_relation: str, stage: str) -> str:
    """CREATE TEMP TABLE <stage>: typed values, record key and defect list per source row.

    Each step is its own projection (CTE) over the previous one (``SELECT *, new columns``), so every
    step runs once per value even when the next step refers to its result several times:
    raw r_ -> half-width h_ -> trimmed u_ -> missing-markers t_ -> parse steps p1_, p2_, ... -> typed v_
    -> record key -> first row per key -> check flags -> reasons.
    """
    present = [c for c in entity.columns if c.name in match.columns]
    present_names = {c.name for c in present}
    steps = {c.name: value_steps(c) for c in present}

    def latest(c: Column, k: int) -> str:
        """Column holding c's value after k parse steps (its last step when it has fewer)."""
        done = min(k, len(steps[c.name]))
        return t(c.name) if done == 0 else ident(f"p{done}_{c.name}")

    levels: list[tuple[str, list[str]]] = [
        ("halfwidth", [f"{halfwidth_sql(r(c.name))} AS {ident('h_' + c.name)}" for c in present]),
        ("trimmed", [f"{trim_sql(ident('h_' + c.name))} AS {ident('u_' + c.name)}" for c in present]),
        ("nulled", [f"{missing_sql(ident('u_' + c.name))} AS {t(c.name)}" for c in present]),
    ]
    depth = max((len(s) for s in steps.values()), default=0)
    for k in range(1, depth + 1):
        levels.append(
            (
                f"step{k}",
                [
                    f"{steps[c.name][k - 1](latest(c, k - 1))} AS {ident(f'p{k}_{c.name}')}"
                    for c in present
                    if len(steps[c.name]) >= k
                ],
            )
        )
    levels.append(
        (
            "typed",
            [
                f"CAST({latest(c, depth) if c.name in present_names else 'NULL'} AS {SQL_TYPES[c.type]}) AS {v(c.name)}"
                for c in entity.columns
            ],
        )
    )
    key_expr = " || '|' || ".join(
        f"coalesce({key_text_sql(entity.column(k), v(k))}, {t(k)}, '')" for k in entity.primary_key
    )
    key_ok = " AND ".join(f"{v(k)} IS NOT NULL" for k in entity.primary_key)
    levels.append(("keyed", [f"{key_expr} AS _key", f"({key_ok}) AS _key_ok"]))
    levels.append(
        ("ranked", ["CASE WHEN _key_ok THEN min(_row) OVER (PARTITION BY _key, _key_ok) END AS _first_row"])
    )

    checks: list[Check] = []
    for c in present:
        checks.extend(column_checks(entity, c))
    checks.extend(date_order_checks(entity, present_names))
    checks.append(duplicate_check(entity))
    levels.append(("flagged", [f"coalesce(({ch.condition}), false) AS _f{i}" for i, ch in enumerate(checks)]))

    any_flag = " OR ".join(f"_f{i}" for i in range(len(checks)))
    items = ", ".join(
        f"CASE WHEN _f{i} THEN {{'kind': {lit(ch.kind)}, 'col': {lit(ch.column)}, 'reason': {ch.reason}}} END"
        for i, ch in enumerate(checks)
    )
    raw_cols = ", ".join(f"c{match.columns[c.name]} AS {r(c.name)}" for c in present)
    ctes = [f"source AS (\n    SELECT _row{', ' if raw_cols else ''}{raw_cols} FROM {source_relation}\n)"]
    previous = "source"
    for name, exprs in levels:
        body = ",\n        ".join(["*", *exprs])
        ctes.append(f"{name} AS (\n    SELECT {body}\n    FROM {previous}\n)")
        previous = name
    value_cols = ", ".join(v(c.name) for c in entity.columns)
    return (
        f"CREATE TEMP TABLE {stage} AS\nWITH "
        + ",\n".join(ctes)
        + f"""
SELECT _row, _key,
    CASE WHEN {any_flag} THEN list_filter([{items}], lambda x: x IS NOT NULL) END AS _reasons,
    {value_cols}
FROM {previous}
"""
    )
