"""Run suites with Great Expectations on its pandas data source, fed from DuckDB in bounded batches.

Why not GX on DuckDB directly: GX 1.24 through duckdb-engine fails (see DESIGN.md). Instead a suite's
query streams out of DuckDB as Arrow record batches, gathered into pandas DataFrames of at most
``BATCH_ROWS`` rows (text stays Arrow-backed, no Python strings); one ephemeral GX context validates each
frame against the suite. GX returns per expectation the counts of checked and unexpected values; the counts of all batches are summed and an expectation passes
when its unexpected share is within ``1 - mostly``.

What SQL does well stays in SQL: cross-row rules arrive as boolean columns of the query, and when GX
reports failures, one SQL pass lists every failing record (with its source file and row) for
``quality.issues`` and the fix list, using the same rule as a predicate (``sql_predicate``); a test
checks both agree. GX is imported here only, when a suite runs (the import takes seconds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from data_quality.gate import CheckResult
from ingestion.sqlutil import ident, lit

from .spec import Expect, Suite

BATCH_ROWS = 1_000_000  # rows per pandas batch: bounds memory whatever the table size
MAX_FAILURES_KEPT = 200_000  # failing records listed per suite (quality.issues, fix list)
SAMPLE_KEYS = 10


@dataclass
class Failure:
    record_key: str
    source_file: str | None
    source_row: int | None
    value: str


@dataclass
class Outcome:
    suite: Suite
    expect: Expect | None
    check: CheckResult
    failures: list[Failure] = field(default_factory=list)
    element_count: int = 0


def _sql_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return lit(str(v))


def sql_predicate(e: Expect) -> str | None:
    """The expectation's rule as SQL: true for a row that fails it (None: a column-level rule)."""
    k = e.kwargs
    if e.gx_type == "expect_column_values_to_not_be_null":
        return f"{ident(k['column'])} IS NULL"
    if e.gx_type == "expect_column_values_to_be_in_set":
        values = ", ".join(_sql_value(v) for v in k["value_set"])
        return f"{ident(k['column'])} IS NOT NULL AND {ident(k['column'])} NOT IN ({values})"
    if e.gx_type == "expect_column_values_to_be_between":
        parts = []
        if k.get("min_value") is not None:
            parts.append(f"{ident(k['column'])} < {_sql_value(k['min_value'])}")
        if k.get("max_value") is not None:
            parts.append(f"{ident(k['column'])} > {_sql_value(k['max_value'])}")
        return " OR ".join(parts) or None
    if e.gx_type == "expect_column_pair_values_a_to_be_greater_than_b":
        op = "<" if k.get("or_equal") else "<="
        return f"{ident(k['column_A'])} {op} {ident(k['column_B'])}"
    if e.gx_type == "expect_column_pair_values_to_be_equal":
        return f"{ident(k['column_A'])} IS DISTINCT FROM {ident(k['column_B'])}"
    return None


def _eval_key(e: Expect) -> tuple:
    return (e.gx_type, tuple(sorted((k, repr(v)) for k, v in e.kwargs.items())))


class GxEngine:
    """One ephemeral GX context (pandas data source) reused for every suite of a run."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        # GX fingerprints every frame under this size (an md5 over all values, seconds per million rows)
        # only to name the batch; our batches are named by the suite, so skip it
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_pandas("salescope_duckdb")
        self._n = 0

    def _gx_suite(self, name: str, evals: list[Expect]):
        gsuite = self.gx.ExpectationSuite(name=name)
        for i, e in enumerate(evals):
            cls = getattr(self.gx.expectations, "".join(p.capitalize() for p in e.gx_type.split("_")))
            gsuite.add_expectation(cls(**e.kwargs, meta={"index": i}))
        return gsuite

    def _frames(self, con, suite: Suite):
        import pandas as pd
        import pyarrow as pa

        mapper = {pa.string(): pd.ArrowDtype(pa.string()), pa.large_string(): pd.ArrowDtype(pa.string())}.get
        cur = con.cursor()  # its own result stream: whatever the caller's connection holds open
        try:
            reader = cur.sql(suite.query, params=suite.params or None).to_arrow_reader(BATCH_ROWS)
            pending: list = []
            rows = 0
            for rb in reader:
                pending.append(rb)
                rows += rb.num_rows
                if rows >= BATCH_ROWS:
                    yield pa.Table.from_batches(pending).to_pandas(date_as_object=False, types_mapper=mapper)
                    pending, rows = [], 0
            if rows or not pending:
                table = pa.Table.from_batches(pending) if pending else reader.schema.empty_table()
                yield table.to_pandas(date_as_object=False, types_mapper=mapper)
        finally:
            cur.close()

    def validate(self, con, suite: Suite) -> list[Outcome]:
        # expectations that differ only in 'mostly' (e.g. an orphan warning and its systemic threshold)
        # are evaluated once by GX
        evals: list[Expect] = []
        slot: list[int] = []
        seen: dict[tuple, int] = {}
        for e in suite.expectations:
            key = _eval_key(e)
            if key not in seen:
                seen[key] = len(evals)
                evals.append(e)
            slot.append(seen[key])
        self._n += 1
        asset = self.source.add_dataframe_asset(f"a{self._n}")
        batch_def = asset.add_batch_definition_whole_dataframe("batch")
        # GX copies the frame it validates per expectation (its non-null domain): validate each group of
        # expectations on a frame of only the columns they read (2-3x faster on wide tables)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, e in enumerate(evals):
            groups.setdefault(tuple(e.gx_columns), []).append(i)
        gsuites = [
            (list(cols), idx, self._gx_suite(f"{suite.name}#{j}", [evals[i] for i in idx]))
            for j, (cols, idx) in enumerate(groups.items())
        ]
        n = len(evals)
        unexpected, nonnull = [0] * n, [0] * n
        errors: list[str | None] = [None] * n
        total = 0
        for df in self._frames(con, suite):
            total += len(df)
            if df.empty:
                continue
            for cols, idx, gsuite in gsuites:
                res = batch_def.get_batch(batch_parameters={"dataframe": df[cols]}).validate(
                    gsuite, result_format={"result_format": "BASIC", "partial_unexpected_count": 0}
                )
                for r in res.results:
                    i = idx[int(r.expectation_config.meta["index"])]
                    result = r.result or {}
                    if r.exception_info and r.exception_info.get("raised_exception"):
                        errors[i] = str(r.exception_info.get("exception_message"))[:300]
                        continue
                    if evals[i].gx_type == "expect_column_values_to_be_in_type_list":
                        nonnull[i] += len(df)
                        if not r.success:
                            unexpected[i] += len(df)
                            errors[i] = f"column arrived as {result.get('observed_value')}"
                        continue
                    unexpected[i] += int(result.get("unexpected_count") or 0)
                    nonnull[i] += int(result.get("element_count") or 0) - int(
                        result.get("missing_count") or 0
                    )
        self.source.delete_asset(asset.name)

        failing = [i for i in range(n) if unexpected[i] and sql_predicate(evals[i])]
        records = _failing_records(con, suite, [(i, evals[i]) for i in failing]) if failing else {}
        out = []
        for e, i in zip(suite.expectations, slot, strict=True):
            share = unexpected[i] / nonnull[i] if nonnull[i] else 0.0
            ok = errors[i] is None and share <= (1.0 - e.mostly) + 1e-12
            keys = sorted({f.record_key for f in records.get(i, [])})[:SAMPLE_KEYS]
            check = CheckResult(
                suite.name,
                e.name,
                e.column,
                ok,
                unexpected[i],
                round(100.0 * share, 4),
                e.severity,
                _detail(e, unexpected[i], nonnull[i], total, errors[i]),
                keys,
            )
            out.append(Outcome(suite, e, check, records.get(i, []), total))
        return out


def _failing_records(con, suite: Suite, failing: list[tuple[int, Expect]]) -> dict[int, list[Failure]]:
    """Every record failing one of ``failing`` (index, expectation), in one SQL pass over the suite query."""
    flags = []
    for i, e in failing:
        shown = [c for c in e.gx_columns if not c.startswith("_")]
        value = (
            " || ', ' || ".join(
                f"{lit(c + '=')} || coalesce(CAST({ident(c)} AS VARCHAR), 'NULL')" for c in shown
            )
            or "''"
        )
        flags.append(f"CASE WHEN coalesce(({sql_predicate(e)}), false) THEN {{'i': {i}, 'v': {value}}} END")
    sql = f"""
        SELECT _record_key, _source_file, _source_row, unnest(items) AS item FROM (
            SELECT _record_key, _source_file, _source_row,
                   list_filter([{", ".join(flags)}], lambda x: x IS NOT NULL) AS items
            FROM ({suite.query}) AS q)
        WHERE len(items) > 0
        LIMIT {MAX_FAILURES_KEPT}"""
    out: dict[int, list[Failure]] = {}
    for key, file, row, item in con.execute(sql, suite.params or None).fetchall():
        out.setdefault(int(item["i"]), []).append(Failure(str(key), file, row, item["v"] or ""))
    return out


def _detail(e: Expect, unexpected: int, nonnull: int, total: int, error: str | None) -> str:
    if error:
        return f"{e.gx_type}: {error}"
    rule = e.gx_type + (f" (mostly {e.mostly:g})" if e.mostly < 1.0 else "")
    return f"{unexpected:,} of {nonnull:,} checked values fail ({total:,} rows); {rule}"
