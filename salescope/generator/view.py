"""The world of a pinned frame seen at an earlier as-of date.

``simulate(Timeline(as_of))`` lays the whole world out over the window that ends at ``as_of`` (accounts
are spread over it, rates scale with its length, random draws are sized by what is cut), so the world of
2026-06-11 is not the world of 2026-06-10 plus a day: every row differs. To let a world move forward
day by day (``salescope crm-db advance``), simulate once to a later ``until`` date (the frame) and look
at it as of any ``as_of <= until``:

- a row exists when its first event lies on or before as_of (an account's ``created_at``, a touchpoint's
  ``occurred_at``, a project's contract ``signed_date`` ...);
- event dates after as_of are blanked and states rolled back (opportunities through the generator's own
  ``opportunities_table`` at as_of; leads, contracts, projects, tasks and users from their dates);
- a reference to a row that does not exist yet is blanked (or the row waits, when the column is required).

The same ``(scale, seed, until)`` therefore gives worlds at every as-of that only grow and change the
way a CRM does. ``world_at`` is a pure function of the frame world and as_of.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract import ENTITIES, ENTITY_BY_NAME
from salescope.generator import tables
from salescope.generator.deals import opportunities_table
from salescope.generator.simulate import World
from salescope.generator.timeline import DAY, Timeline, add_months, day_of, quarter_start

# per entity: the column whose value is the row's first event (rows after as_of do not exist yet)
APPEARS: dict[str, str] = {
    "users": "hire_date",
    "accounts": "created_at",
    "contacts": "created_at",
    "campaigns": "start_date",
    "channel_spend": "month",
    "leads": "created_at",
    "opportunities": "created_at",
    "opportunity_history": "changed_at",
    "activities": "occurred_at",
    "contracts": "signed_date",
    "documents": "uploaded_at",
    "invoices": "invoice_date",
    "payments": "payment_date",
    "nps_responses": "responded_at",
    "fx_rates": "rate_date",
}


def _days(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Day numbers of a date32 or timestamp[s] column (nulls as a far-future day)."""
    a = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if pa.types.is_timestamp(a.type):
        v = pc.fill_null(a.cast(pa.int64()), np.iinfo(np.int64).max // 2).to_numpy()
        return v // DAY
    return pc.fill_null(a.cast(pa.int32()), np.iinfo(np.int32).max).to_numpy().astype(np.int64)


def _null_after(table: pa.Table, column: str, a_day: int) -> tuple[pa.Table, np.ndarray]:
    """Blank ``column`` where it lies after as_of; returns the table and the mask of blanked rows."""
    arr = table.column(column).combine_chunks()
    late = _days(arr) > a_day
    late &= ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if late.any():
        arr = pc.if_else(pa.array(late), pa.scalar(None, arr.type), arr)
        table = table.set_column(table.schema.get_field_index(column), column, arr)
    return table, late


def _set(table: pa.Table, column: str, arr: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, arr)


def _codes(table: pa.Table, column: str) -> np.ndarray:
    return np.asarray(table.column(column).to_pylist(), dtype=object)


def world_at(world: World, as_of: date) -> dict[str, pa.Table]:
    """Canonical tables (contract order) of the frame ``world`` as of ``as_of``."""
    lat = world.latent
    frame: Timeline = lat["tl"]
    a_day = day_of(as_of)
    if a_day > frame.as_of_day:
        raise ValueError(f"as_of {as_of} lies after the simulated frame, which ends {frame.as_of}")
    tl = Timeline(as_of)
    out: dict[str, pa.Table] = {}
    for e in ENTITIES:
        t = world.tables[e.name]
        if e.name == "opportunities":
            t = opportunities_table(
                tl, lat["seed"], lat["deals"], lat["accounts"], lat["org"], lat["deal_lead"], lat["lead_id"]
            )
        if e.name in APPEARS:
            t = t.filter(pa.array(_days(t.column(APPEARS[e.name])) <= a_day))
        elif e.name == "quotas":  # set up to the end of the as-of quarter
            last = add_months(quarter_start(np.array([a_day])), 2)[0]
            t = t.filter(pa.array(_days(t.column("month")) <= last))
        elif e.name == "projects":
            t = t.filter(pc.is_in(t.column("contract_id"), out["contracts"].column("contract_id")))
        elif e.name == "project_tasks":
            t = t.filter(pc.is_in(t.column("project_id"), out["projects"].column("project_id")))
        t = _roll_back(e.name, t, a_day, lat, out)
        out[e.name] = _link(e.name, t, out)
    return out


def _roll_back(name: str, t: pa.Table, a_day: int, lat: dict, done: dict[str, pa.Table]) -> pa.Table:
    """States as of a_day of the rows that exist then."""
    if name == "users":
        org = lat["org"]
        idx = np.asarray(pc.cast(pc.utf8_slice_codeunits(t.column("user_id"), 4), pa.int64())) - 1
        return _set(t, "is_active", tables.bools(org.leave_day[idx] > a_day))
    if name == "accounts":
        org, acc = lat["org"], lat["accounts"]
        idx = np.asarray(pc.cast(pc.utf8_slice_codeunits(t.column("account_id"), 4), pa.int64())) - 1
        owner = org.owner_at(acc.owner0[idx], np.full(idx.size, a_day))
        return _set(t, "owner_user_id", tables.take_ids(org.user_id, owner))
    if name == "leads":
        t, late = _null_after(t, "converted_at", a_day)
        status = _codes(t, "status")
        age = a_day - _days(t.column("created_at"))
        undone = late | ((status == "disqualified") & (age <= 21))
        status[undone] = np.where(age[undone] <= 21, "new", "qualified")
        return _set(t, "status", tables.strings(status))
    if name == "contracts":
        status = _codes(t, "status")
        signed = _days(t.column("signed_date"))
        status[(status == "terminated") & (signed >= a_day - 60)] = "active"
        end = _days(t.column("end_date"))  # a blank end date reads as far future
        has_end = ~np.asarray(t.column("end_date").is_null().to_numpy(zero_copy_only=False), dtype=bool)
        status[(status == "completed") & has_end & (end > a_day)] = "active"
        return _set(t, "status", tables.strings(status))
    if name == "projects":
        t, not_started = _null_after(t, "actual_start", a_day)
        t, not_finished = _null_after(t, "actual_end", a_day)
        status = _codes(t, "status")
        status[not_finished & (status == "completed")] = "in_progress"
        status[not_started | (_days(t.column("actual_start")) > a_day)] = "planning"
        return _set(t, "status", tables.strings(status))
    if name == "project_tasks":
        t, undone = _null_after(t, "completed_at", a_day)
        status = _codes(t, "status")
        proj = done["projects"]
        started = dict(
            zip(
                proj.column("project_id").to_pylist(),
                (_days(proj.column("actual_start")) <= a_day).tolist(),
                strict=True,
            )
        )
        was = np.array([started.get(p, False) for p in t.column("project_id").to_pylist()], dtype=bool)
        fix = undone | ((status == "in_progress") & ~was)
        status[fix] = np.where(was[fix], "in_progress", "todo")
        return _set(t, "status", tables.strings(status))
    return t


def _link(name: str, t: pa.Table, done: dict[str, pa.Table]) -> pa.Table:
    """References to rows that do not exist yet: blank them, or drop the row when the column is required."""
    e = ENTITY_BY_NAME[name]
    for fk in e.foreign_keys:
        if len(fk.columns) != 1 or fk.ref_entity not in done or fk.ref_entity == name:
            continue
        col = fk.columns[0]
        arr = t.column(col).combine_chunks()
        known = pc.is_in(arr, done[fk.ref_entity].column(fk.ref_columns[0])).to_numpy(zero_copy_only=False)
        dangling = ~np.asarray(known, dtype=bool) & ~np.asarray(
            arr.is_null().to_numpy(zero_copy_only=False), dtype=bool
        )
        if not dangling.any():
            continue
        if e.column(col).required:
            t = t.filter(pa.array(~dangling))
        else:
            t = _set(t, col, pc.if_else(pa.array(dangling), pa.scalar(None, arr.type), arr))
    return t


__all__ = ["APPEARS", "world_at"]
