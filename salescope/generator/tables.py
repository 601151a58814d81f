"""Canonical tables: one pyarrow Table per entity, typed per the source contract.

Canonical (internal) arrow types per contract column type:

- ``str``, ``enum`` -> string (enum values are the vocabulary codes)
- ``int`` -> int64, ``float`` -> float64, ``bool`` -> bool
- ``amount`` -> int64 **cents** (exact; rendered as a decimal with two places)
- ``date`` -> date32, ``timestamp`` -> timestamp[s] (wall clock, Asia/Shanghai)

Missing values are nulls, never empty strings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract import Entity, get_entity

CANONICAL_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "enum": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "amount": pa.int64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s"),
    "bool": pa.bool_(),
}

# identifier prefixes (also used for orphan ids such as ACC-ORPHAN-000123) and zero-padded widths
ID_FORMATS: dict[str, tuple[str, int]] = {
    "users": ("USR", 4),
    "accounts": ("ACC", 6),
    "contacts": ("CON", 7),
    "campaigns": ("CMP", 4),
    "leads": ("LEAD", 7),
    "opportunities": ("OPP", 7),
    "opportunity_history": ("OH", 8),
    "activities": ("ACT", 8),
    "contracts": ("CT", 6),
    "projects": ("PRJ", 6),
    "project_tasks": ("TSK", 7),
    "documents": ("DOC", 7),
    "invoices": ("INV", 7),
    "payments": ("PAY", 7),
    "nps_responses": ("NPS", 6),
}


def ids(entity: str, numbers: np.ndarray) -> pa.Array:
    """Identifiers like ``OPP-0000042`` for 1-based numbers."""
    prefix, width = ID_FORMATS[entity]
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix + "-"), digits, "")


def seq_ids(entity: str, n: int) -> pa.Array:
    return ids(entity, np.arange(1, n + 1))


def take_ids(id_array: pa.Array, index: np.ndarray) -> pa.Array:
    """id_array[index] with -1 meaning null."""
    index = np.asarray(index, dtype=np.int64)
    mask = index < 0
    taken = id_array.take(pa.array(np.where(mask, 0, index)))
    if mask.any():
        taken = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), taken)
    return taken


def strings(values, mask: np.ndarray | None = None) -> pa.Array:
    """A string array from a numpy/object array or list; ``mask`` True means null."""
    arr = pa.array(np.asarray(values, dtype=object) if not isinstance(values, list) else values, pa.string())
    if mask is not None and np.any(mask):
        arr = pc.if_else(pa.array(np.asarray(mask)), pa.scalar(None, pa.string()), arr)
    return arr


def codes(vocab_codes: list[str], index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Vocabulary codes by index (an enum column)."""
    arr = pa.array(vocab_codes, pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))
    if mask is not None and np.any(mask):
        arr = pc.if_else(pa.array(np.asarray(mask)), pa.scalar(None, pa.string()), arr)
    return arr


def dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), pa.date32(), mask=_mask(mask))


def timestamps(ts: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(ts, dtype=np.int64), pa.timestamp("s"), mask=_mask(mask))


def ints(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=_mask(mask))


def floats(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.float64), pa.float64(), mask=_mask(mask))


def cents(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """An amount column from integer cents."""
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=_mask(mask))


def bools(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool), pa.bool_(), mask=_mask(mask))


def _mask(mask):
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    return mask if mask.any() else None


def build(entity_name: str, columns: dict[str, pa.Array], sort_by: str | None = None) -> pa.Table:
    """The entity's canonical table: contract column order, canonical types checked."""
    entity: Entity = get_entity(entity_name)
    missing = set(entity.column_names) - set(columns)
    extra = set(columns) - set(entity.column_names)
    if missing or extra:
        raise AssertionError(f"{entity_name}: missing columns {sorted(missing)}, unexpected {sorted(extra)}")
    arrays = []
    for c in entity.columns:
        arr = columns[c.name]
        want = CANONICAL_TYPES[c.type]
        if arr.type != want:
            if pa.types.is_null(arr.type):
                arr = pa.nulls(len(arr), want)
            else:
                raise AssertionError(f"{entity_name}.{c.name}: {arr.type}, expected {want}")
        arrays.append(arr)
    table = pa.table(arrays, names=entity.column_names)
    if sort_by:
        table = table.sort_by(sort_by)
    return table


def nulls(n: int, column_type: str) -> pa.Array:
    return pa.nulls(n, CANONICAL_TYPES[column_type])


def round_money(x: np.ndarray, unit: float) -> np.ndarray:
    """Round amounts (in currency units) to a multiple of ``unit``; at least one unit."""
    return np.maximum(np.round(np.asarray(x, dtype=float) / unit), 1) * unit


def to_cents(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=float) * 100).astype(np.int64)


def decimals(cents_values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """decimal128(18, 2) from integer cents, exactly (no float rounding)."""
    c = np.asarray(cents_values, dtype=np.int64)
    data = np.empty((c.size, 2), dtype=np.int64)
    data[:, 0] = c
    data[:, 1] = np.where(c < 0, -1, 0)
    validity = None
    if mask is not None and np.any(mask):
        validity = pa.array(~np.asarray(mask, dtype=bool)).buffers()[1]
    return pa.Array.from_buffers(
        pa.decimal128(18, 2),
        c.size,
        [validity, pa.py_buffer(data.tobytes())],
        null_count=-1 if validity is not None else 0,
    )


def amount_text(cents_values: np.ndarray) -> pa.Array:
    """Plain decimal text with two places ('1200000.00') from integer cents."""
    return pc.cast(decimals(cents_values), pa.string())


def date_text(days: np.ndarray) -> pa.Array:
    return pc.cast(dates(days), pa.string())


def last_per_group(group: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
    """Index of the latest element (by ts) of each group 0..n-1, -1 when the group is empty."""
    order = np.lexsort((ts, group))
    g = group[order]
    is_last = np.append(g[1:] != g[:-1], True) if g.size else np.zeros(0, dtype=bool)
    out = np.full(n, -1, dtype=np.int64)
    out[g[is_last]] = order[is_last]
    return out
