"""The rows a world holds as of a date: the clean values a defect-free drop writes (``clean_tables``),
plus ``updated_at``, the latest event the row carries (never after the as-of day)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract import Entity
from salescope.generator import WorldTables, clean_tables
from salescope.generator.timeline import DAY, day_of

# per entity: the date/timestamp columns whose latest value is the row's last change
STAMPS: dict[str, tuple[str, ...]] = {
    "users": ("hire_date",),
    "quotas": ("month",),
    "accounts": ("created_at",),
    "contacts": ("created_at",),
    "campaigns": ("start_date",),
    "channel_spend": ("month",),
    "leads": ("created_at", "converted_at"),
    "opportunities": ("created_at", "closed_at"),  # and the opportunity's history (below)
    "opportunity_history": ("changed_at",),
    "activities": ("occurred_at",),
    "contracts": ("signed_date",),
    "projects": ("actual_start", "actual_end"),  # else the contract's signing
    "project_tasks": ("completed_at",),  # else the project's contract signing
    "documents": ("uploaded_at",),
    "invoices": ("invoice_date",),
    "payments": ("payment_date",),
    "nps_responses": ("responded_at",),
    "fx_rates": ("rate_date",),
}
NONE = np.iinfo(np.int64).min


@dataclass
class EntityRows:
    entity: Entity
    table: pa.Table  # contract columns (clean types) + updated_at (timestamp[us], Shanghai wall time)
    keys: pa.Array  # record key text per row (contract.key_text)


def _seconds(arr) -> np.ndarray:
    """Seconds since epoch (wall time) of a date32 / timestamp column; NONE for nulls."""
    a = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if pa.types.is_timestamp(a.type):
        v = a.cast(pa.timestamp("s")).cast(pa.int64())
    else:
        v = pc.multiply(a.cast(pa.int32()).cast(pa.int64()), DAY)
    return pc.fill_null(v, NONE).to_numpy()


def key_text(entity: Entity, table: pa.Table) -> pa.Array:
    parts = [pc.fill_null(pc.cast(table.column(k), pa.string()), "") for k in entity.primary_key]
    if len(parts) == 1:
        return parts[0].combine_chunks()
    return pc.binary_join_element_wise(*parts, "|").combine_chunks()


def _by_key(values: np.ndarray, keys: pa.Array, lookup: pa.Array) -> np.ndarray:
    """values (aligned with keys) looked up for each of ``lookup``; NONE when absent."""
    idx = pc.index_in(lookup, value_set=keys)
    i = pc.fill_null(idx, -1).to_numpy(zero_copy_only=False)
    return np.where(i >= 0, values[np.maximum(i, 0)] if values.size else NONE, NONE)


def world_rows(wt: WorldTables) -> dict[str, EntityRows]:
    """Per entity (contract order): the clean table with ``updated_at``."""
    last_second = (day_of(wt.as_of) + 1) * DAY - 1
    out: dict[str, EntityRows] = {}
    stamps: dict[str, np.ndarray] = {}
    for e, t in clean_tables(wt):
        s = np.full(t.num_rows, NONE, dtype=np.int64)
        for c in STAMPS[e.name]:
            s = np.maximum(s, _seconds(t.column(c)))
        keys = key_text(e, t)
        if e.name == "opportunities":
            h = wt.tables["opportunity_history"]
            hist = pa.table(
                {"o": h.column("opportunity_id"), "s": pa.array(_seconds(h.column("changed_at")))}
            )
            g = hist.group_by("o").aggregate([("s", "max")])
            s = np.maximum(s, _by_key(g.column("s_max").to_numpy(), g.column("o").combine_chunks(), keys))
        elif e.name == "projects":
            signed = stamps["contracts"]
            s = np.where(s == NONE, _by_key(signed, out["contracts"].keys, t.column("contract_id")), s)
        elif e.name == "project_tasks":
            proj = out["projects"]
            signed = _by_key(
                stamps["contracts"], out["contracts"].keys, proj.table.column("contract_id").combine_chunks()
            )
            s = np.where(s == NONE, _by_key(signed, proj.keys, t.column("project_id")), s)
        s = np.where(s == NONE, last_second, np.minimum(s, last_second))
        stamps[e.name] = s
        t = t.append_column("updated_at", pa.array(s * 1_000_000, pa.timestamp("us")))
        out[e.name] = EntityRows(e, t, keys)
    return out
