"""``advance()``: play more days of business into a seeded database.

The world is simulated once to its frame end (``until`` in ``_salescope_meta``) and seen at the current
as-of and at as-of + days (``salescope.generator.view``); the difference is applied by primary key: new
rows inserted, changed rows updated (``updated_at`` = the row's latest event, or a moment of the played
days when the change carries no date). Then some rows are soft-deleted (``is_deleted``, ``updated_at``
bumped) and a few hard-deleted, chosen from the seed and the dates; their keys go to
``_salescope_deleted`` so later advances leave them alone. Everything is one transaction, recorded in
``_salescope_changes``. For every row not deleted, seed + advance(D) equals a seed at as_of + D.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract import ENTITIES
from salescope.crm_db import meta, writers
from salescope.crm_db.rows import EntityRows, world_rows
from salescope.crm_db.schema import CHANGES_TABLE, DELETED_TABLE, q
from salescope.crm_db.url import CrmDbError, parse_url, session
from salescope.generator import world_tables
from salescope.generator.rng import stream
from salescope.generator.timeline import BUSINESS_END, BUSINESS_START, DAY, day_of

# share of an entity's live rows deleted per played day
SOFT_DELETE_PER_DAY = {
    "activities": 4e-4,
    "documents": 4e-4,
    "project_tasks": 4e-4,
    "contacts": 2e-4,
    "leads": 2e-4,
}
HARD_DELETE_PER_DAY = {"activities": 2e-4, "documents": 2e-4, "project_tasks": 2e-4}
COUNTS = ("inserted", "updated", "soft_deleted", "hard_deleted")


@dataclass
class AdvanceResult:
    from_as_of: date
    to_as_of: date
    advance_no: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # entity -> inserted/updated/...
    live_rows_before: int = 0
    seconds_simulate: float = 0.0
    seconds_apply: float = 0.0

    @property
    def total_changes(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    @property
    def change_rate_per_day(self) -> float:
        days = (self.to_as_of - self.from_as_of).days
        return self.total_changes / max(self.live_rows_before, 1) / max(days, 1)


def _row_text(er: EntityRows) -> pa.Array:
    parts = [pc.fill_null(pc.cast(er.table.column(c.name), pa.string()), "\x00") for c in er.entity.columns]
    return pc.binary_join_element_wise(*parts, "\x1f").combine_chunks()


def _moments(rng: np.random.Generator, n: int, first_day: int, last_day: int) -> np.ndarray:
    """n wall-clock seconds within business hours of days first_day..last_day."""
    day = rng.integers(first_day, last_day + 1, size=n)
    sec = rng.integers(BUSINESS_START // 60, BUSINESS_END // 60, size=n) * 60
    return day * DAY + sec


def _deleted_keys(con, dialect: str) -> dict[str, set[str]]:
    with con.cursor() as cur:
        cur.execute(f"SELECT entity, record_key FROM {q(dialect, DELETED_TABLE)}")
        out: dict[str, set[str]] = {}
        for ent, key in cur.fetchall():
            out.setdefault(ent, set()).add(key)
    return out


def advance(url: str, *, days: int, seed: int | None = None, progress=None) -> AdvanceResult:
    """Play ``days`` more days into the database at ``url``; ``seed`` (default: the world's) picks the
    deletions and the moments of undated changes."""
    u = parse_url(url)
    say = progress or (lambda _m: None)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise CrmDbError(f"--days must be a whole number >= 1 (got {days!r})")
    with session(u, "advancing") as con:
        m = meta.read(con, u.dialect, u.masked)
        new_as_of = m.as_of + timedelta(days=days)
        if new_as_of > m.until:
            raise CrmDbError(
                f"the world in {u.masked} was simulated up to {m.until} and stands at {m.as_of}: at most "
                f"{(m.until - m.as_of).days} more days; seed again with a later --until to go further"
            )
        pick_seed = m.seed if seed is None else seed
        if isinstance(pick_seed, bool) or not isinstance(pick_seed, int) or pick_seed < 0:
            raise CrmDbError(f"--seed must be a whole number >= 0 (got {seed!r})")
        t0 = time.perf_counter()
        say(f"simulating the world (scale {m.scale:g}, seed {m.seed}) to {m.until}")
        old_wt, new_wt = world_tables(m.scale, m.seed, m.as_of, m.until, also_at=(new_as_of,))
        old, new = world_rows(old_wt), world_rows(new_wt)
        result = AdvanceResult(m.as_of, new_as_of, m.advances + 1, seconds_simulate=time.perf_counter() - t0)
        t1 = time.perf_counter()
        deleted = _deleted_keys(con, u.dialect)
        rng = stream(pick_seed, f"crm-db:advance:{m.as_of.isoformat()}:{new_as_of.isoformat()}")
        old_end = (day_of(m.as_of) + 1) * DAY  # first second after the old as-of day
        first_day, last_day = day_of(m.as_of) + 1, day_of(new_as_of)
        records: list[tuple] = []
        for e in ENTITIES:
            o, n = old[e.name], new[e.name]
            gone = np.zeros(n.keys.__len__(), dtype=bool)
            if deleted.get(e.name):
                gone = pc.is_in(n.keys, pa.array(sorted(deleted[e.name]), pa.string())).to_numpy(
                    zero_copy_only=False
                )
            old_live = o.table.num_rows - (
                int(pc.sum(pc.is_in(o.keys, pa.array(sorted(deleted[e.name]), pa.string()))).as_py() or 0)
                if deleted.get(e.name)
                else 0
            )
            result.live_rows_before += old_live
            idx = pc.fill_null(pc.index_in(n.keys, value_set=o.keys), -1).to_numpy(zero_copy_only=False)
            inserted = (idx < 0) & ~gone
            common = (idx >= 0) & ~gone
            changed = np.zeros_like(common)
            if common.any():
                nt, ot = _row_text(n), _row_text(o)
                ci = np.flatnonzero(common)
                same = pc.equal(nt.take(pa.array(ci)), ot.take(pa.array(idx[ci]))).to_numpy(
                    zero_copy_only=False
                )
                changed[ci[~same]] = True
            write = np.flatnonzero(inserted | changed)
            stamps = n.table.column("updated_at").cast(pa.int64()).to_numpy() // 1_000_000
            stamps = stamps[write]
            undated = stamps < old_end
            stamps[undated] = _moments(rng, int(undated.sum()), first_day, last_day)
            rows = n.table.take(pa.array(write))
            rows = rows.set_column(
                rows.schema.get_field_index("updated_at"),
                "updated_at",
                pa.array(stamps * 1_000_000, pa.timestamp("us")),
            )
            say(f"{e.name}: {int(inserted.sum())} new, {int(changed.sum())} changed")
            writers.upsert(con, u.dialect, e, rows)

            # rows the world no longer has (none expected): removed
            vanished = ~pc.is_in(o.keys, value_set=n.keys).to_numpy(zero_copy_only=False)
            if deleted.get(e.name):
                vanished &= ~pc.is_in(o.keys, pa.array(sorted(deleted[e.name]), pa.string())).to_numpy(
                    zero_copy_only=False
                )
            live = np.flatnonzero(~gone)
            soft = _pick(rng, live, SOFT_DELETE_PER_DAY.get(e.name, 0.0) * days)
            hard = _pick(rng, np.setdiff1d(live, soft), HARD_DELETE_PER_DAY.get(e.name, 0.0) * days)
            pk = list(e.primary_key)
            if soft.size:
                writers.soft_delete(
                    con,
                    u.dialect,
                    e,
                    n.table.select(pk).take(pa.array(soft)),
                    pa.array(
                        _moments(rng, soft.size, first_day, last_day) * 1_000_000, pa.timestamp("us")
                    ).cast(pa.timestamp("s")),
                )
            hard_keys = pa.concat_tables(
                [n.table.select(pk).take(pa.array(hard)), o.table.select(pk).filter(pa.array(vanished))]
            )
            writers.hard_delete(con, u.dialect, e, hard_keys)
            for kind, keys in (
                ("soft", n.keys.take(pa.array(soft))),
                ("hard", pa.concat_arrays([n.keys.take(pa.array(hard)), o.keys.filter(pa.array(vanished))])),
            ):
                records += [(e.name, k, kind, new_as_of) for k in keys.to_pylist()]
            result.counts[e.name] = {
                "inserted": int(inserted.sum()),
                "updated": int(changed.sum()),
                "soft_deleted": int(soft.size),
                "hard_deleted": int(hard_keys.num_rows),
            }
        with con.cursor() as cur:
            if records:
                cur.executemany(
                    f"INSERT INTO {q(u.dialect, DELETED_TABLE)} (entity, record_key, kind, as_of) "
                    "VALUES (%s, %s, %s, %s)",
                    records,
                )
            cur.executemany(
                f"INSERT INTO {q(u.dialect, CHANGES_TABLE)} (advance_no, from_as_of, to_as_of, entity, "
                "inserted, updated, soft_deleted, hard_deleted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (result.advance_no, m.as_of, new_as_of, name, *(c[k] for k in COUNTS))
                    for name, c in result.counts.items()
                ],
            )
        meta.write(
            con,
            u.dialect,
            meta.WorldMeta(m.scale, m.seed, new_as_of, m.until, m.seeded_as_of, result.advance_no),
        )
        con.commit()
        result.seconds_apply = time.perf_counter() - t1
        return result


def _pick(rng: np.random.Generator, candidates: np.ndarray, share: float) -> np.ndarray:
    if share <= 0 or candidates.size == 0:
        return np.zeros(0, dtype=np.int64)
    k = int(rng.binomial(candidates.size, min(share, 1.0)))
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)


__all__ = ["COUNTS", "AdvanceResult", "advance"]
