"""Demo and test data: a coherent, behaviourally realistic CRM export of all 18 contract entities.

    from salescope.generator import generate
    manifest = generate(Path("drop"), scale=0.2, seed=7, fmt="csv", defect_rate=0.02)

Writes ``<entity>.<csv|parquet|xlsx>`` per entity, ``_manifest.json`` (rows written, injected
defects) and ``_truth/`` (what happens after as_of). The same arguments give byte-identical files.
See README.md in this folder for the latent drivers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from contract import ENTITIES, Entity
from salescope.generator import export
from salescope.generator.defects import inject
from salescope.generator.options import Options, validate
from salescope.generator.rng import stream
from salescope.generator.simulate import simulate, truth
from salescope.generator.timeline import Timeline
from salescope.generator.view import world_at

__all__ = ["generate", "Options", "WorldTables", "world_tables", "clean_tables"]

ACTIVITIES_PER_SCALE = 400_000  # touchpoints at scale 1, the largest entity


def generate(
    out_dir: Path,
    *,
    scale: float = 1.0,
    seed: int = 42,
    fmt: str = "csv",
    encoding: str = "utf-8",
    defect_rate: float = 0.0,
    as_of: date = date(2026, 6, 30),
    until: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Generate a drop into ``out_dir``; returns the manifest (also written to ``_manifest.json``).

    ``until`` pins the simulated frame: the world is simulated to ``until`` and seen as of ``as_of``
    (``view.world_at``), so drops of the same ``until`` at successive as-of dates differ only by what
    happened in between. Without it the frame ends at ``as_of`` (the classic drop).

    Raises ValueError for arguments it cannot honour (unknown format, scale <= 0, an xlsx entity over
    Excel's row limit, ...), with what to do instead.
    """
    opts = validate(
        out_dir, scale=scale, seed=seed, fmt=fmt, encoding=encoding, defect_rate=defect_rate, as_of=as_of
    )
    say = progress or (lambda _m: None)
    if opts.fmt == "xlsx" and opts.scale * ACTIVITIES_PER_SCALE > 1.1 * export.EXCEL_MAX_ROWS:  # fail fast
        raise ValueError(
            f"activities would have about {opts.scale * ACTIVITIES_PER_SCALE:,.0f} rows at scale {opts.scale:g}, over "
            f"Excel's limit of {export.EXCEL_MAX_ROWS:,} rows per sheet: use --format csv or --format parquet, "
            f"or a smaller --scale (xlsx works up to about scale 2.5)"
        )
    wt = world_tables(opts.scale, opts.seed, opts.as_of, until, say)
    tl = Timeline(opts.as_of)

    say("defects")
    injections = {
        e.name: inject(
            e.name,
            wt.tables[e.name],
            opts.defect_rate,
            stream(opts.seed, f"defects:{e.name}"),
            tl.as_of_day,
        )
        for e in ENTITIES
    }
    rows = {name: inj.table.num_rows + len(inj.duplicates) for name, inj in injections.items()}
    if opts.fmt == "xlsx":
        too_big = {n: r for n, r in rows.items() if r > export.EXCEL_MAX_ROWS}
        if too_big:
            name, r = max(too_big.items(), key=lambda kv: kv[1])
            raise ValueError(
                f"{name} would have {r:,} rows, over Excel's limit of {export.EXCEL_MAX_ROWS:,} rows per sheet: "
                f"use --format csv or --format parquet, or a smaller --scale (xlsx works up to about scale 2.5)"
            )

    opts.out_dir.mkdir(parents=True, exist_ok=True)
    for e in ENTITIES:
        say(f"writing {e.name}")
        rng = stream(opts.seed, f"render:{e.name}:{opts.fmt}")
        columns = export.output_columns(e, injections[e.name], opts.fmt, opts.messy, rng)
        export.write_entity(
            opts.out_dir / f"{e.name}.{opts.fmt}", e, columns, opts.fmt, opts.encoding, opts.messy
        )
    export.write_truth(opts.out_dir, wt.opportunity_outcomes, wt.customer_future)
    manifest = {
        "seed": opts.seed,
        "scale": opts.scale,
        "as_of": opts.as_of.isoformat(),
        **({"until": until.isoformat()} if until is not None else {}),
        "format": opts.fmt,
        "encoding": opts.encoding,
        "defect_rate": opts.defect_rate,
        "rows": rows,
        "defects": [r for e in ENTITIES for r in injections[e.name].records],
    }
    export.write_manifest(opts.out_dir, manifest)
    say("done")
    return manifest


@dataclass
class WorldTables:
    """The canonical tables (``tables.py`` types) of a world as of a date, with its truth tables."""

    as_of: date
    tables: dict[str, pa.Table]
    opportunity_outcomes: pa.Table
    customer_future: pa.Table


def world_tables(
    scale: float,
    seed: int,
    as_of: date,
    until: date | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    also_at: tuple[date, ...] = (),
) -> WorldTables | tuple[WorldTables, ...]:
    """The world of ``(scale, seed)`` as of ``as_of``, simulated to ``until`` (default: as_of).

    With ``also_at``, one simulation serves several as-of dates (all <= until): returns a tuple, the
    world at ``as_of`` first, then one per date of ``also_at``.
    """
    say = progress or (lambda _m: None)
    if also_at and until is None:
        raise ValueError("several as-of dates need a pinned frame: pass until")
    if until is not None and until < max((as_of, *also_at)):
        raise ValueError(
            f"until {until} lies before as_of {max((as_of, *also_at))}: the frame must reach the as-of date"
        )
    frame = Timeline(until or as_of)
    world = simulate(frame, scale, seed, say)
    out = []
    for d in (as_of, *also_at):
        if until is None:
            out.append(WorldTables(d, world.tables, world.opportunity_outcomes, world.customer_future))
            continue
        lat = world.latent
        outcomes, future = truth(Timeline(d), lat["deals"], lat["accounts"], lat["fx"])
        out.append(WorldTables(d, world_at(world, d), outcomes, future))
    return tuple(out) if also_at else out[0]


def clean_tables(wt: WorldTables) -> Iterator[tuple[Entity, pa.Table]]:
    """Per entity (contract order): the clean typed table a defect-free parquet drop writes (amounts
    decimal(18,2), timestamps timestamp[us] in Shanghai wall time, dates date32, ints, floats, bools);
    a clean csv drop holds the same values as text."""
    for e in ENTITIES:
        t = wt.tables[e.name]
        cols = [export.clean_column(c, t.column(c.name).combine_chunks(), "parquet") for c in e.columns]
        yield e, pa.table(cols, names=e.column_names)
