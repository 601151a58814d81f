"""What a suite is: a query over the warehouse and the expectations its rows must meet.

Suites are plain data, so tests read them without importing Great Expectations. ``gx_runner`` turns
each ``Expect`` into a GX expectation and validates the query's rows batch by batch.

- ``gx_type`` is the GX expectation (snake case, e.g. ``expect_column_values_to_not_be_null``).
- ``name`` is what stewards read in ``quality.validation_results.expectation``.
- ``kind`` is the defect kind (``contract.DEFECT_KINDS``) written to ``quality.issues`` for
  each failing record, or a mart invariant name.
- ``severity``: ``blocking`` (a failure stops the publish) or ``warning`` (publishes, shows).
- ``mostly``: the share of non-null rows that must pass (GX's ``mostly``); 1.0 = every row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BLOCKING = "blocking"
WARNING = "warning"


@dataclass(frozen=True)
class Expect:
    gx_type: str
    name: str
    column: str | None  # column reported to stewards (contract column, or 'a,b')
    kwargs: dict[str, Any]
    severity: str
    kind: str
    fix: str  # what to ask the data owner for, per failing record
    mostly: float = 1.0

    @property
    def gx_columns(self) -> list[str]:
        cols = [self.kwargs[k] for k in ("column", "column_A", "column_B") if k in self.kwargs]
        return [str(c) for c in cols]


@dataclass(frozen=True)
class Suite:
    name: str  # 'raw.<entity>' or 'marts.<model>'
    entity: str  # entity (or model) written to quality.issues
    table: str  # the table this suite validates; absent -> skipped
    query: str  # SELECT producing _record_key, _source_file, _source_row and the checked columns
    expectations: tuple[Expect, ...]
    params: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()  # further tables the query reads; absent -> skipped
    asset: tuple[str, ...] = ()  # Dagster asset key path of the validated asset
