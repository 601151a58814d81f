"""Bench: validating the raw tables with the quality suites (GX on pandas batches fed from DuckDB).

Generates a drop (unless --drop is given), ingests it into a fresh warehouse (not timed), then times:
- ``gx_import_s``: creating the GX engine (importing Great Expectations, ephemeral context);
- ``raw_suites_s``: every raw suite (contract expectations over all raw.* rows, failing records listed);
- ``quality_run_s``: the whole ``run_quality`` (SQL checks, raw suites, mart suites skipped as no marts
  exist, results, issues, summary, Data Docs), with a fresh engine.
Usage: python bench/bench_quality.py [--scale 10] [--defect-rate 0.02] [--out bench/results_quality.json]
The target (issue 4): raw validation at scale 10 in under 30 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

AS_OF = date(2026, 6, 30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--defect-rate", type=float, default=0.02)
    ap.add_argument("--drop", type=Path, default=None, help="an existing drop (skips generation)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results_quality.json"))
    args = ap.parse_args()

    import duckdb

    from data_quality.gx_runner import BATCH_ROWS, GxEngine
    from data_quality.raw_suites import raw_suites
    from data_quality.runner import run_quality
    from ingestion import ingest_directory, run_cross_checks
    from salescope.generator import generate

    work = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    try:
        drop = args.drop
        if drop is None:
            drop = work / "drop"
            t = time.perf_counter()
            generate(drop, scale=args.scale, seed=args.seed, defect_rate=args.defect_rate)
            print(f"generated scale {args.scale:g} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        con = duckdb.connect(str(work / "warehouse.duckdb"))
        t = time.perf_counter()
        ingest_directory(con, drop, as_of=AS_OF, run_id="bench")
        run_cross_checks(con, run_id="bench")
        ingest_s = time.perf_counter() - t
        rows = sum(con.execute(f"SELECT count(*) FROM {s.table}").fetchone()[0] for s in raw_suites())
        print(f"ingested {rows:,} raw rows in {ingest_s:.1f}s", file=sys.stderr)

        t = time.perf_counter()
        engine = GxEngine()
        gx_import_s = time.perf_counter() - t
        per_suite = {}
        t = time.perf_counter()
        failed = 0
        for suite in raw_suites(AS_OF):
            ts = time.perf_counter()
            outcomes = engine.validate(con, suite)
            failed += sum(1 for o in outcomes if not o.check.success)
            per_suite[suite.name] = round(time.perf_counter() - ts, 2)
        raw_suites_s = time.perf_counter() - t
        print(f"raw suites: {raw_suites_s:.1f}s (+ GX import {gx_import_s:.1f}s)", file=sys.stderr)

        t = time.perf_counter()
        result = run_quality(con, "bench-q", as_of=AS_OF, docs_dir=work / "docs")
        quality_run_s = time.perf_counter() - t
        con.close()
        out = {
            "machine": f"{platform.machine()}, Python {platform.python_version()}",
            "scale": args.scale,
            "defect_rate": args.defect_rate,
            "raw_rows": rows,
            "batch_rows": BATCH_ROWS,
            "ingest_s": round(ingest_s, 2),
            "gx_import_s": round(gx_import_s, 2),
            "raw_suites_s": round(raw_suites_s, 2),
            "raw_validation_s": round(gx_import_s + raw_suites_s, 2),
            "raw_rows_per_s": round(rows / raw_suites_s) if raw_suites_s else None,
            "quality_run_s": round(quality_run_s, 2),
            "quality_run_timings": {k: round(v, 2) for k, v in result.timings.items()},
            "quality_status": result.gate.status,
            "failed_expectations": failed,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "per_suite_s": per_suite,
            "target": "raw validation (GX import + raw suites) at scale 10 < 30 s",
        }
        args.out.write_text(json.dumps(out, indent=1) + "\n")
        print(json.dumps({k: v for k, v in out.items() if k != "per_suite_s"}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
