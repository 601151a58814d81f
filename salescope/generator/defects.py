"""Defect injection: about ``rate`` x rows of an entity get exactly one defect each.

Conventions (shared with ``ingestion.validate``; the manifest records one entry per defect with the
row's primary key as ``contract.key_text`` gives it):

- missing_required: a required, non-key column is blanked.
- bad_type: an int/float/amount column holds text such as ``TBD`` or ``待定`` (never N/A, null, -).
- negative_amount: an amount column holds a negative value (``-12000.00``).
- unknown_category: an enum column holds a value in no spelling of its vocabulary.
- duplicate_key: an extra row repeating a clean row's primary key is appended after it
  (half of them with one free-text field changed).
- orphan_fk: a single-column foreign key outside the key points nowhere (``ACC-ORPHAN-000123``).
- future_date: an event date (not the earlier date of a date_order pair) lies 400-1500 days after as_of.
- date_order: the later date of a pair is set 1-60 days before the earlier one (both on/before as_of).
- bad_date_format: a date/timestamp column holds an unreadable string (``2026-13-45``, ``明年初``).
- out_of_range: an int/float column with bounds holds a value outside them (score 11-15, version 0...).

Users, fx_rates and campaigns are never touched (too many rows depend on them); key columns never are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract import DEFECT_KINDS, Column, Entity, get_entity, vocabulary_lookup
from salescope.generator.tables import ID_FORMATS
from salescope.generator.timeline import DAY

SKIPPED_ENTITIES = frozenset({"users", "fx_rates", "campaigns"})
BAD_TYPE_TEXT = ["TBD", "待定", "abc", "面议", "见附件", "xyz"]
BAD_DATE_TEXT = ["2026-13-45", "2026/02/30", "明年初", "31.31.2026", "下周三", "2025-00-10"]
UNKNOWN_TEXT = ["carrier_pigeon", "未知渠道", "legacy_code_7", "飞鸽传书", "misc_other", "火星"]
DUPLICATE_MARK = "（重复录入）"


@dataclass
class Injection:
    table: pa.Table  # the canonical table with the typed defects applied
    text: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)  # verbatim cell texts
    duplicates: list[tuple[int, str | None, str | None]] = field(default_factory=list)  # (row, column, text)
    records: list[dict] = field(default_factory=list)  # manifest entries, in row order


def candidates(entity: Entity) -> dict[str, list]:
    """Per defect kind, the columns (or pairs) of ``entity`` it may be injected into."""
    pk = set(entity.primary_key)
    cols = [c for c in entity.columns if c.name not in pk]
    earlier = {e for e, _ in entity.date_order}
    out: dict[str, list] = {
        "missing_required": [c for c in cols if c.required],
        "bad_type": [c for c in cols if c.type in ("int", "float", "amount")],
        "negative_amount": [c for c in cols if c.type == "amount"],
        "unknown_category": [c for c in cols if c.type == "enum"],
        "duplicate_key": [None],
        "orphan_fk": [
            entity.column(f.columns[0])
            for f in entity.foreign_keys
            if len(f.columns) == 1 and f.columns[0] not in pk
        ],
        "future_date": [entity.column(n) for n in entity.event_dates if n not in pk and n not in earlier],
        "date_order": list(entity.date_order),
        "bad_date_format": [c for c in cols if c.type in ("date", "timestamp")],
        "out_of_range": [
            c for c in cols if c.type in ("int", "float") and (c.min is not None or c.max is not None)
        ],
    }
    assert set(out) == set(DEFECT_KINDS)
    return {k: v for k, v in out.items() if v}


def _np(arr: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values with nulls filled, null mask) of a numeric/temporal column, as int64/float64."""
    a = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    valid = np.asarray(a.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_date32(a.type):
        v = pc.fill_null(a.cast(pa.int32()), 0).to_numpy().astype(np.int64)
    elif pa.types.is_timestamp(a.type):
        v = pc.fill_null(a.cast(pa.int64()), 0).to_numpy().astype(np.int64)
    elif pa.types.is_floating(a.type):
        v = pc.fill_null(a, 0.0).to_numpy().astype(np.float64)
    else:
        v = pc.fill_null(a, 0).to_numpy().astype(np.int64)
    return v, ~valid


def _set(table: pa.Table, name: str, rows: np.ndarray, values, null: bool = False) -> pa.Table:
    """table[name][rows] = values (or null)."""
    i = table.schema.get_field_index(name)
    col = table.column(i).combine_chunks()
    mask = np.zeros(len(col), dtype=bool)
    order = np.argsort(rows, kind="stable")
    mask[rows] = True
    if null:
        repl = pa.nulls(len(rows), col.type)
    elif pa.types.is_date32(col.type):
        repl = pa.array(np.asarray(values, dtype=np.int32)[order], pa.date32())
    elif pa.types.is_timestamp(col.type):
        repl = pa.array(np.asarray(values, dtype=np.int64)[order], col.type)
    else:
        repl = pa.array(np.asarray(values)[order], col.type)
    return table.set_column(i, name, pc.replace_with_mask(col, pa.array(mask), repl))


def key_texts(entity: Entity, table: pa.Table, rows: np.ndarray) -> list[str]:
    """Record keys (``contract.key_text``) of the given rows: key values joined by '|', dates ISO."""
    parts = []
    for k in entity.primary_key:
        a = table.column(k).take(pa.array(rows)).combine_chunks()
        parts.append(
            pc.cast(a, pa.string()).to_pylist()
            if not pa.types.is_timestamp(a.type)
            else pc.strftime(a, format="%Y-%m-%d %H:%M:%S").to_pylist()
        )
    return ["|".join("" if v is None else v for v in vals) for vals in zip(*parts, strict=True)]


def _unknown_values(column: Column) -> list[str]:
    known = set(vocabulary_lookup(column.vocab)) if column.vocab else set()
    return [v for v in UNKNOWN_TEXT if v.lower() not in known]


def _out_of_range(rng, column: Column, size: int) -> np.ndarray:
    lo, hi = column.min, column.max
    above = rng.random(size) < 0.75 if lo is not None and hi is not None else np.full(size, hi is not None)
    up = hi + 1 + np.floor(rng.random(size) * max(5.0, hi)) if hi is not None else np.zeros(size)
    # below the minimum: negative for 0-based columns, 0 for 1-based ones (a version 0)
    down = lo - 1 - np.floor(rng.random(size) * (20 if lo == 0 else 1)) if lo is not None else np.zeros(size)
    vals = np.where(above, up, down)
    if column.type == "float":
        return vals + np.where(rng.random(size) < 0.5, 0.5, 0.0)
    return vals.astype(np.int64)


def inject(
    entity_name: str, table: pa.Table, rate: float, rng: np.random.Generator, as_of_day: int
) -> Injection:
    entity = get_entity(entity_name)
    inj = Injection(table=table)
    n = table.num_rows
    total = min(n, int(round(rate * n)))
    if entity_name in SKIPPED_ENTITIES or total == 0:
        return inj
    cands = candidates(entity)

    # which rows each (kind, candidate) may take
    eligible: dict[str, np.ndarray] = {}
    for kind, cs in cands.items():
        m = np.ones((n, len(cs)), dtype=bool)
        for j, c in enumerate(cs):
            if kind in ("missing_required", "future_date"):
                m[:, j] = np.asarray(
                    table.column(c.name).is_valid().to_numpy(zero_copy_only=False), dtype=bool
                )
            elif kind == "negative_amount":
                v, null = _np(table.column(c.name))
                m[:, j] = ~null & (v > 0)
            elif kind == "date_order":
                e, l_ = c
                ev, enull = _np(table.column(e))
                _, lnull = _np(table.column(l_))
                e_day = ev // DAY if pa.types.is_timestamp(table.column(e).type) else ev
                m[:, j] = ~enull & ~lnull & (e_day <= as_of_day)
        eligible[kind] = m

    kinds = list(cands)
    counts = dict.fromkeys(kinds, total // len(kinds))
    for k in rng.permutation(kinds)[: total % len(kinds)]:
        counts[str(k)] += 1
    order = sorted(kinds, key=lambda k: (eligible[k].any(axis=1).mean(), kinds.index(k)))
    perm = rng.permutation(n)
    used = np.zeros(n, dtype=bool)
    chosen: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind in order:
        ok = eligible[kind].any(axis=1) & ~used
        rows = perm[ok[perm]][: counts[kind]]
        used[rows] = True
        e = eligible[kind][rows]
        col = np.argmax(rng.random(e.shape) * e, axis=1)
        chosen[kind] = (np.sort(rows), col[np.argsort(rows, kind="stable")])

    records: list[tuple[int, int, str]] = []  # (row, is-duplicate, kind)
    orphan_no = 0
    for kind in kinds:
        rows, col = chosen[kind]
        if rows.size == 0:
            continue
        keys = key_texts(entity, table, rows)
        for r, key in zip(rows, keys, strict=True):
            records.append((int(r), key, kind))
        cs = cands[kind]
        for j, c in enumerate(cs):
            sel = rows[col == j]
            if sel.size == 0:
                continue
            k = sel.size
            if kind == "missing_required":
                inj.table = _set(inj.table, c.name, sel, None, null=True)
            elif kind == "bad_type":
                _add_text(
                    inj, c.name, sel, [BAD_TYPE_TEXT[i] for i in rng.integers(0, len(BAD_TYPE_TEXT), k)]
                )
            elif kind == "negative_amount":
                v, _ = _np(inj.table.column(c.name))
                inj.table = _set(inj.table, c.name, sel, -np.abs(v[sel]))
            elif kind == "unknown_category":
                vals = _unknown_values(c)
                _add_text(inj, c.name, sel, [vals[i] for i in rng.integers(0, len(vals), k)])
            elif kind == "duplicate_key":
                free = [
                    x.name
                    for x in entity.columns
                    if x.type == "str"
                    and x.name not in entity.primary_key
                    and not any(x.name in f.columns for f in entity.foreign_keys)
                ]
                for r in sel:
                    change = free and rng.random() < 0.5
                    name = free[int(rng.integers(0, len(free)))] if change else None
                    text = None
                    if name is not None:
                        orig = inj.table.column(name)[int(r)].as_py()
                        if orig is None:
                            name = None
                        else:
                            text = orig + DUPLICATE_MARK
                    inj.duplicates.append((int(r), name, text))
            elif kind == "orphan_fk":
                fk = next(f for f in entity.foreign_keys if f.columns == (c.name,))
                prefix = ID_FORMATS.get(fk.ref_entity, (fk.ref_entity.upper(), 6))[0]
                texts = [f"{prefix}-ORPHAN-{orphan_no + i + 1:06d}" for i in range(k)]
                orphan_no += k
                _add_text(inj, c.name, sel, texts)
            elif kind == "future_date":
                v, _ = _np(inj.table.column(c.name))
                days = as_of_day + rng.integers(400, 1501, size=k)
                vals = days if c.type == "date" else days * DAY + v[sel] % DAY
                inj.table = _set(inj.table, c.name, sel, vals)
            elif kind == "date_order":
                e, l_ = c
                ev, _ = _np(inj.table.column(e))
                is_ts = pa.types.is_timestamp(inj.table.column(l_).type)
                back = rng.integers(1, 61, size=k) * (DAY if is_ts else 1)
                inj.table = _set(inj.table, l_, sel, ev[sel] - back)
            elif kind == "bad_date_format":
                _add_text(
                    inj, c.name, sel, [BAD_DATE_TEXT[i] for i in rng.integers(0, len(BAD_DATE_TEXT), k)]
                )
            elif kind == "out_of_range":
                inj.table = _set(inj.table, c.name, sel, _out_of_range(rng, c, k))
    records.sort()
    inj.records = [{"entity": entity_name, "record_key": key, "kind": kind} for _, key, kind in records]
    return inj


def _add_text(inj: Injection, column: str, rows: np.ndarray, texts: list[str]) -> None:
    if column in inj.text:
        old_rows, old_texts = inj.text[column]
        rows = np.concatenate([old_rows, rows])
        texts = old_texts + texts
    order = np.argsort(rows, kind="stable")
    inj.text[column] = (rows[order], [texts[i] for i in order])
