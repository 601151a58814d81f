"""DuckDB SQL expressions that turn raw text into typed values, one per contract column type.

Every function takes a SQL expression (a column reference) and returns a SQL expression, so a whole
file is normalised in one vectorised query. Invalid input gives NULL; ``ingestion.validate`` then
tells "missing" (the cleaned text is NULL) from "unreadable" (text present, value NULL).

Steps, in order (``validate.stage_sql`` runs each in its own projection):
1. ``halfwidth_sql``: full-width ASCII (digits, letters, punctuation) and the ideographic space to
   half-width; ``trim_sql``: trim spaces, tabs, newlines, no-break / ideographic spaces, BOMs.
2. ``missing_sql``: the empty string and the missing-markers ``null none nan n/a #n/a -`` become NULL.
3. ``value_steps``: the typed value, in one to three steps per type (``parse_sql`` nests them).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from contract import Column, vocabulary_lookup
from ingestion.sqlutil import lit

FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALFWIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
WHITESPACE = " \t\r\n\v\f\u00a0\u2007\u202f\u3000\ufeff\u200b"
MISSING_MARKERS: tuple[str, ...] = ("", "null", "none", "nan", "n/a", "#n/a", "-")

TRUE_WORDS: tuple[str, ...] = ("true", "t", "yes", "y", "1", "是")
FALSE_WORDS: tuple[str, ...] = ("false", "f", "no", "n", "0", "否")

# Accepted dates: YYYY-M-D, YYYY/M/D, YYYY.M.D, YYYY年M月D日 (months and days with or without a leading
# zero), each optionally followed by a time H:M, H:M:S or H:M:S.f after a space or 'T'.
# Excel serial day numbers: five digits with an optional fraction; day 0 is 1899-12-30
EXCEL_SERIAL_REGEX = r"[0-9]{5}(\.[0-9]+)?"
EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_EPOCH_TO_UNIX_DAYS = 25569  # days from 1899-12-30 to 1970-01-01
# dates outside this window are treated as unreadable (e.g. a two-digit year read as year 26)
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)

AMOUNT_STRIP: tuple[str, ...] = ("¥", "￥", "rmb", "元", ",", " ")
AMOUNT_UNITS: tuple[tuple[str, int], ...] = (("亿", 100_000_000), ("万", 10_000))

TYPE_HINTS: dict[str, str] = {
    "int": "a whole number like 42",
    "float": "a number like 12.5",
    "amount": "like 120000, ¥1,200,000 or 120万",
    "bool": "one of 是/否, true/false, yes/no, y/n, 1/0",
    "date": "a date like 2026-01-05, 2026/1/5 or 2026年1月5日",
    "timestamp": "a date and time like 2026-01-05 14:30, 2026/1/5 14:30:00 or 2026年1月5日",
}


_FULLWIDTH_CLASS = "[\uff01-\uff5e\u3000]"
_EDGE_SPACE = "[ \\t\\r\\n\\v\\f\\x{00a0}\\x{2007}\\x{202f}\\x{3000}\\x{feff}\\x{200b}]"


# ---------------------------------------------------------------- text


def halfwidth_sql(raw: str) -> str:
    """Full-width ASCII forms and the ideographic space to half-width (only strings that have them)."""
    return (
        f"CASE WHEN strlen({raw}) = length({raw}) THEN {raw} "
        f"WHEN regexp_matches({raw}, {lit(_FULLWIDTH_CLASS)}) "
        f"THEN translate({raw}, {lit(FULLWIDTH)}, {lit(HALFWIDTH)}) ELSE {raw} END"
    )


def trim_sql(text: str) -> str:
    """Trim spaces, tabs, newlines, no-break / ideographic spaces and BOMs at both ends."""
    return (
        f"CASE WHEN regexp_matches({text}, {lit('^' + _EDGE_SPACE + '|' + _EDGE_SPACE + '$')}) "
        f"THEN trim({text}, {lit(WHITESPACE)}) ELSE {text} END"
    )


def missing_sql(text: str) -> str:
    """NULL for the empty string and the missing-markers, else the text."""
    markers = ", ".join(lit(m) for m in MISSING_MARKERS)
    return f"CASE WHEN length({text}) <= 4 AND lower({text}) IN ({markers}) THEN NULL ELSE {text} END"


def clean_sql(raw: str) -> str:
    """Half-width, trimmed text, NULL when missing. One nested expression; ``stage_sql`` uses the
    three steps in separate projections so no step is computed twice."""
    return missing_sql(trim_sql(halfwidth_sql(raw)))


# ---------------------------------------------------------------- typed values, in steps
# A column type's parsing is a short list of steps; each step reads the previous step's result.
# ``stage_sql`` runs step k of every column in projection k, so a step may refer to its input several
# times without computing it again. ``parse_sql`` nests the steps into one expression.

Step = Callable[[str], str]

# canonical date text: 'YYYY-M-D[ H:M[:S[.f]]]'; the fifth character tells the date separator
_CANONICAL_DATE = {
    "/": r"^([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})",
    ".": r"^([0-9]{4})\.([0-9]{1,2})\.([0-9]{1,2})",
    "年": r"^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日",
}


def _canonical_date_text(t: str, column_type: str) -> str:
    """Step 1 of dates: Excel serials and every accepted spelling as 'YYYY-M-D[ time]' text."""
    if column_type == "date":
        serial = f"strftime(DATE '{EXCEL_EPOCH.isoformat()}' + CAST(floor(TRY_CAST({t} AS DOUBLE)) AS INTEGER), '%Y-%m-%d')"
    else:
        seconds = f"CAST(round((TRY_CAST({t} AS DOUBLE) - {_EXCEL_EPOCH_TO_UNIX_DAYS}) * 86400) AS BIGINT)"
        serial = f"strftime(make_timestamp({seconds} * 1000000), '%Y-%m-%d %H:%M:%S')"
    others = " ".join(
        f"WHEN {lit(sep)} THEN replace(regexp_replace({t}, {lit(pattern)}, '\\1-\\2-\\3'), 'T', ' ')"
        for sep, pattern in _CANONICAL_DATE.items()
    )
    return (
        f"CASE WHEN regexp_full_match({t}, {lit(EXCEL_SERIAL_REGEX)}) THEN {serial} "
        f"ELSE CASE substr({t}, 5, 1) WHEN '-' THEN replace({t}, 'T', ' ') {others} END END"
    )


def _parse_canonical_date(n: str, cast: str) -> str:
    """Step 2 of dates: strptime on canonical text, choosing the format by the number of colons."""
    colons = f"(length({n}) - length(replace({n}, ':', '')))"
    return (
        f"CAST(CASE WHEN NOT contains({n}, ':') THEN try_strptime({n}, '%Y-%m-%d') "
        f"WHEN {colons} = 1 THEN try_strptime({n}, '%Y-%m-%d %H:%M') "
        f"ELSE try_strptime({n}, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f']) END AS {cast})"
    )


def _in_date_window(p: str) -> str:
    """Step 3 of dates: outside 1900..2199 is unreadable (e.g. a two-digit year read as year 26)."""
    return f"CASE WHEN {p} >= DATE '{DATE_MIN.isoformat()}' AND {p} < DATE '{DATE_MAX.isoformat()}' + 1 THEN {p} END"


def _amount_value(p: str) -> str:
    whens = " ".join(
        f"WHEN ends_with({p}, {lit(unit)}) "
        f"THEN TRY_CAST(substr({p}, 1, length({p}) - 1) AS DECIMAL(24,8)) * {factor}"
        for unit, factor in AMOUNT_UNITS
    )
    return f"TRY_CAST(CASE {whens} ELSE TRY_CAST({p} AS DECIMAL(38,8)) END AS DECIMAL(18,2))"


def _amount_text(t: str) -> str:
    s = f"lower({t})"
    for mark in AMOUNT_STRIP:
        s = f"replace({s}, {lit(mark)}, '')"
    return s


def value_steps(column: Column) -> list[Step]:
    """The parsing steps of a contract column, from cleaned text to its typed value (NULL if unreadable)."""
    typ = column.type
    if typ == "str":
        return []
    if typ == "int":
        return [
            lambda t: f"TRY_CAST(replace(replace({t}, ',', ''), ' ', '') AS DECIMAL(38,8))",
            lambda p: f"CASE WHEN {p} = round({p}, 0) THEN TRY_CAST({p} AS BIGINT) END",
        ]
    if typ == "float":
        return [
            lambda t: f"TRY_CAST(replace(replace({t}, ',', ''), ' ', '') AS DOUBLE)",
            lambda p: f"CASE WHEN isfinite({p}) THEN {p} END",
        ]
    if typ == "amount":
        return [_amount_text, _amount_value]
    if typ == "bool":
        trues = ", ".join(lit(w) for w in TRUE_WORDS)
        falses = ", ".join(lit(w) for w in FALSE_WORDS)
        return [
            lambda t: (
                f"CASE WHEN lower({t}) IN ({trues}) THEN true WHEN lower({t}) IN ({falses}) THEN false END"
            )
        ]
    if typ == "enum":
        if not column.vocab:
            raise ValueError(f"enum column {column.name!r} has no vocabulary")
        whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in vocabulary_lookup(column.vocab).items())
        return [lambda t: f"CASE lower({t}) {whens} END"]
    if typ in ("date", "timestamp"):
        cast = "DATE" if typ == "date" else "TIMESTAMP"
        return [
            lambda t: _canonical_date_text(t, typ),
            lambda n: _parse_canonical_date(n, cast),
            _in_date_window,
        ]
    raise ValueError(f"unknown column type {typ!r} for {column.name!r}")


def parse_sql(column: Column, t: str) -> str:
    """The typed value of cleaned text ``t`` as one nested expression."""
    expr = t
    for step in value_steps(column):
        expr = step(expr)
    return expr


def key_text_sql(column: Column, v: str) -> str:
    """A typed value as record-key text (``contract.key_text``): dates ISO, booleans True/False."""
    if column.type == "date":
        return f"strftime({v}, '%Y-%m-%d')"
    if column.type == "timestamp":
        return f"strftime({v}, '%Y-%m-%d %H:%M:%S')"
    if column.type == "bool":
        return f"CASE WHEN {v} THEN 'True' WHEN NOT {v} THEN 'False' END"
    if column.type in ("str", "enum"):
        return v
    return f"CAST({v} AS VARCHAR)"


def readable_sql(column: Column, v: str) -> str:
    """A typed value as text for a steward-facing message (timestamps at midnight as a date)."""
    if column.type == "date":
        return f"strftime({v}, '%Y-%m-%d')"
    if column.type == "timestamp":
        return (
            f"CASE WHEN CAST({v} AS TIME) = TIME '00:00:00' THEN strftime({v}, '%Y-%m-%d') "
            f"ELSE strftime({v}, '%Y-%m-%d %H:%M:%S') END"
        )
    return f"CAST({v} AS VARCHAR)"
