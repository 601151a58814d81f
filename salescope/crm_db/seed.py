"""``seed()``: the generator's world as of a date, written into an empty PostgreSQL or MariaDB database."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from contract import ENTITIES
from salescope.crm_db import meta, schema, writers
from salescope.crm_db.rows import world_rows
from salescope.crm_db.url import CrmDbError, create_database, parse_url, session
from salescope.generator import world_tables
from salescope.generator.options import validate

DEFAULT_ROOM_DAYS = 365  # by default the frame reaches a year past the seeded as-of

# progress(entity, rows written so far, rows of the entity); entity "" with a message for other steps
Progress = Callable[[str, int, int], None]


@dataclass
class SeedResult:
    as_of: date
    until: date
    rows: dict[str, int] = field(default_factory=dict)
    seconds_simulate: float = 0.0
    seconds_write: float = 0.0


def check_args(scale: float, seed_: int, as_of: date, until: date | None) -> tuple[float, int, date, date]:
    try:
        opts = validate(".", scale=scale, seed=seed_, fmt="csv", encoding="utf-8", defect_rate=0, as_of=as_of)
    except ValueError as exc:
        raise CrmDbError(str(exc)) from None
    until = until or opts.as_of + timedelta(days=DEFAULT_ROOM_DAYS)
    if until < opts.as_of:
        raise CrmDbError(f"--until {until} lies before --as-of {opts.as_of}: use a later --until")
    return opts.scale, opts.seed, opts.as_of, until


def seed(
    url: str,
    *,
    scale: float,
    seed: int,
    as_of: date = date(2026, 6, 30),
    until: date | None = None,
    create: bool = False,
    replace: bool = False,
    progress: Progress | None = None,
) -> SeedResult:
    """Write the world of ``(scale, seed)`` simulated to ``until`` (default as_of + 365 days), as of ``as_of``.

    The database must be empty of CRM tables (``replace`` drops and recreates it; ``create`` creates
    it when missing). Raises CrmDbError with what to do, the password masked.
    """
    u = parse_url(url)
    scale, seed_, as_of, until = check_args(scale, seed, as_of, until)
    say = progress or (lambda _e, _d, _t: None)
    if create or replace:
        create_database(u, drop_first=replace)
    with session(u, "seeding") as con:
        found = schema.existing_tables(con, u.dialect) & {e.name for e in ENTITIES} | (
            schema.existing_tables(con, u.dialect) & {schema.META_TABLE}
        )
        if found:
            raise CrmDbError(
                f"{u.masked} already holds CRM tables ({', '.join(sorted(found)[:4])}...): "
                "use --replace to start over, or another database"
            )
        t0 = time.perf_counter()
        say("", 0, 0)
        wt = world_tables(scale, seed_, as_of, until)
        rows = world_rows(wt)
        result = SeedResult(as_of, until, seconds_simulate=time.perf_counter() - t0)
        t1 = time.perf_counter()
        with con.cursor() as cur:
            for ddl in schema.all_ddl(u.dialect):
                cur.execute(ddl)
        for name, er in rows.items():
            total = er.table.num_rows
            done = 0

            def step(n: int, name=name, total=total) -> None:
                nonlocal done
                done += n
                say(name, done, total)

            say(name, 0, total)
            writers.insert(con, u.dialect, name, er.table, step)
            result.rows[name] = total
        meta.write(con, u.dialect, meta.WorldMeta(scale, seed_, as_of, until, as_of, 0))
        con.commit()
        result.seconds_write = time.perf_counter() - t1
        return result
