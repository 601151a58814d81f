"""Demo and test data: a coherent, behaviourally realistic CRM export of all 18 contract entities.

    from salescope.generator import generate
    manifest = generate(Path("drop"), scale=0.2, seed=7, fmt="csv", defect_rate=0.02)

Writes ``<entity>.<csv|parquet|xlsx>`` per entity, ``_manifest.json`` (rows written, injected
defects) and ``_truth/`` (what happens after as_of). The same arguments give byte-identical files.
See README.md in this folder for the latent drivers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from contract import ENTITIES
from salescope.generator import export
from salescope.generator.defects import inject
from salescope.generator.options import Options, validate
from salescope.generator.rng import stream
from salescope.generator.simulate import simulate
from salescope.generator.timeline import Timeline

__all__ = ["generate", "Options"]

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
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Generate a drop into ``out_dir``; returns the manifest (also written to ``_manifest.json``).

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
    tl = Timeline(opts.as_of)
    world = simulate(tl, opts.scale, opts.seed, say)

    say("defects")
    injections = {
        e.name: inject(
            e.name,
            world.tables[e.name],
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
    export.write_truth(opts.out_dir, world.opportunity_outcomes, world.customer_future)
    manifest = {
        "seed": opts.seed,
        "scale": opts.scale,
        "as_of": opts.as_of.isoformat(),
        "format": opts.fmt,
        "encoding": opts.encoding,
        "defect_rate": opts.defect_rate,
        "rows": rows,
        "defects": [r for e in ENTITIES for r in injections[e.name].records],
    }
    export.write_manifest(opts.out_dir, manifest)
    say("done")
    return manifest
