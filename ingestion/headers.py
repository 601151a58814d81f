"""Map a file's headers to contract columns, and a file's name to an entity.

A header matches a column when it equals, after ``header_key``, the column's name, its Chinese name
(``Column.zh``) or one of its ``aliases``. ``header_key`` ignores case, full-width forms, a BOM,
whitespace, underscores and hyphens, so ``Opportunity ID``, ``opportunity_id`` and ``商机编号 ``
all match. The same rule maps file names (``商机.xlsx``, ``Opportunities.csv``) to entities.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from contract import ENTITIES, Column, Entity
from ingestion.readers import FORMATS

_SEPARATORS = re.compile(r"[\s_\-\u200b\ufeff]+")


def header_key(text: str) -> str:
    """Comparison key of a header or file stem."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).lower()


@dataclass
class HeaderMatch:
    entity: Entity
    headers: list[str]
    columns: dict[str, int]  # contract column -> index of the file column
    extras: list[str] = field(default_factory=list)  # headers matching no column (ignored)
    repeated: list[str] = field(default_factory=list)  # headers matching an already-matched column (ignored)

    @property
    def missing(self) -> list[Column]:
        return [c for c in self.entity.columns if c.name not in self.columns]

    @property
    def missing_required(self) -> list[Column]:
        return [c for c in self.missing if c.required]

    @property
    def missing_optional(self) -> list[Column]:
        return [c for c in self.missing if not c.required]


def spelling_index(entity: Entity) -> dict[str, str]:
    """header_key(spelling) -> column name, for every header spelling of the entity."""
    out: dict[str, str] = {}
    for column in entity.columns:
        for spelling in column.header_spellings():
            out.setdefault(header_key(spelling), column.name)
    return out


def match_headers(entity: Entity, headers: list[str]) -> HeaderMatch:
    """Column names win over Chinese names and aliases; a second header for a matched column is ignored."""
    match = HeaderMatch(entity=entity, headers=list(headers), columns={})
    repeated: set[int] = set()
    exact = {header_key(c.name): c.name for c in entity.columns}
    for lookup in (exact, spelling_index(entity)):
        for i, header in enumerate(headers):
            column = lookup.get(header_key(header))
            if column is None or i in repeated or i in match.columns.values():
                continue
            if column in match.columns:
                repeated.add(i)
            else:
                match.columns[column] = i
    used = set(match.columns.values())
    match.repeated = [h for i, h in enumerate(headers) if i in repeated]
    match.extras = [h for i, h in enumerate(headers) if i not in used and i not in repeated]
    return match


def missing_columns_message(file: str, columns: list[Column], headers: list[str]) -> str:
    """What is missing, what was found, and which header names would be accepted."""
    found = ", ".join(headers) if headers else "(none)"

    def accepted(column: Column) -> str:
        return ", ".join(dict.fromkeys(column.header_spellings()))

    if len(columns) == 1:
        c = columns[0]
        return (
            f"{file}: required column '{c.name}' ({c.zh}) is missing. Columns found: {found}. "
            f"Add the column or rename a header to one of: {accepted(c)}."
        )
    listed = "; ".join(f"'{c.name}' ({c.zh}): one of {accepted(c)}" for c in columns)
    return (
        f"{file}: {len(columns)} required columns are missing. Columns found: {found}. "
        f"Add the columns or rename headers: {listed}."
    )


# ---------------------------------------------------------------- file names


def is_ignored(path: Path) -> bool:
    """Files and folders whose name starts with '_' or '.' are never read (e.g. _manifest.json, _truth/)."""
    return path.name.startswith(("_", "."))


def entity_for_file(path: Path) -> Entity | None:
    """The entity a file name declares (``<entity>.<ext>`` or ``<中文名>.<ext>``), else None."""
    if path.suffix.lower() not in FORMATS:
        return None
    key = header_key(path.stem)
    for entity in ENTITIES:
        if key in (header_key(entity.name), header_key(entity.zh)):
            return entity
    return None


def unknown_file_message(file: str) -> str:
    names = ", ".join(f"{e.name} ({e.zh})" for e in ENTITIES)
    exts = ", ".join(sorted({k.lstrip(".") for k in FORMATS}))
    return (
        f"{file}: the file name does not match any entity, so it was not loaded. "
        f"Rename it to <entity>.<ext> with an entity of: {names}; and an extension of: {exts}."
    )
