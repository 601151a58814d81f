"""The shapes a contract declaration is made of: columns, foreign keys, entities, and column types.

Column types:
- ``str``        free text, trimmed; empty means missing
- ``int``        whole number (full-width digits and thousands separators accepted)
- ``float``      decimal number
- ``amount``     money in the row's currency: ``¥1,200,000``, ``120万``, ``1.2亿``, full-width digits
- ``date``       calendar date: ``2026-01-05``, ``2026/1/5``, ``2026年1月5日``, ``2026.1.5``, Excel serials
- ``timestamp``  date and time in Asia/Shanghai (a plain date means midnight)
- ``bool``       true/false, 1/0, yes/no, 是/否, Y/N
- ``enum``       a value of the column's vocabulary, given by code, Chinese name or an alias
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["str", "int", "float", "amount", "date", "timestamp", "bool", "enum"]

# the SQL type a column of each type is stored as (raw tables and the dbt sources' data_type)
SQL_TYPES: dict[ColumnType, str] = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "amount": "DECIMAL(18,2)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",  # wall-clock time in Asia/Shanghai, no zone stored
    "bool": "BOOLEAN",
    "enum": "VARCHAR",  # the canonical code
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    zh: str  # the header a Chinese CRM or Excel export uses
    required: bool = False
    vocab: str | None = None  # for enum columns: a key of VOCABULARIES
    min: float | None = None  # inclusive bounds for numbers (amounts are also checked >= 0)
    max: float | None = None
    pii: bool = False
    aliases: tuple[str, ...] = ()  # further header spellings
    description: str = ""

    def header_spellings(self) -> tuple[str, ...]:
        return (self.name, self.zh, *self.aliases)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_entity: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Entity:
    name: str
    zh: str
    description: str  # "One row per ..."
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    # (earlier, later): when both are present the later must not come before the earlier
    date_order: tuple[tuple[str, str], ...] = ()
    # amount columns are converted to CNY with this currency column (None: already CNY)
    currency_column: str | None = None
    # date or timestamp columns that may not lie after the as-of date
    event_dates: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def record_key_of(self, row: dict) -> str:
        return key_text(row[c] for c in self.primary_key)


def key_text(values) -> str:
    """A record key as text: the primary key's values joined by '|'."""
    return "|".join("" if v is None else str(v) for v in values)
