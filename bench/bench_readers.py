"""Bench: dashboard readers during publishes, side by side with the same readers and no publishes.

20 reader threads (Streamlit serves every session from a thread of one process) load pages through
``dashboards.db`` with no cache (every figure a DuckDB round trip, as on the first load after a publish) on
a snapshot of ``--copies`` x 10 deals (after one reader alone, for the cost of a page), while the real ``publish_snapshot`` in another process
(``tests/publish_worker.py``) publishes ``--publishes`` times, ``--gap`` seconds apart. Reported: page-load
latency p50/p95/max in both phases, publish durations, errors, page loads whose figures mixed publishes,
page loads that began after a publish but showed an older one (all three must be 0).

Usage: python bench/bench_readers.py [--copies 20000] [--readers 20] [--publishes 10] [--gap 1.0]
                                     [--quiet-s 20] [--out bench/results_readers.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _run_readers(serving: Path, readers: int, copies: int, stop: threading.Event, loads: list, errors: list):
    from dashboards.testing_publishes import REPS, page_load

    def read(i: int) -> None:
        rep, n = REPS[i % len(REPS)], 0
        while not stop.is_set():
            n = n % 30 + 1
            try:
                loads.append((rep, n, page_load(serving, rep, n, cached=False)))
            except Exception as exc:  # counted, the bench goes on
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(readers)]
    for t in threads:
        t.start()
    return threads


def _phase(loads: list, errors: list, copies: int, published_at: dict[int, float], seconds: float) -> dict:
    from dashboards.testing_publishes import expected

    ms = sorted(ld.seconds * 1000 for _r, _n, ld in loads)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else ms * 99
    mixed = sum(ld.figures != expected(ld.marker, rep, n, copies) for rep, n, ld in loads)
    stale = sum(
        any(ld.started > t and ld.marker < k for k, t in published_at.items()) for _r, _n, ld in loads
    )
    landed = list(published_at.values())
    return {
        "seconds": round(seconds, 1),
        "page_loads": len(loads),
        "page_loads_per_s": round(len(loads) / seconds, 1),
        "latency_ms": {"p50": round(q[49], 1), "p95": round(q[94], 1), "max": round(ms[-1], 1)},
        "errors": len(errors),
        "first_errors": errors[:3],
        "mixed_page_loads": mixed,
        "stale_page_loads": stale,
        "started_over": sum(ld.retries for _r, _n, ld in loads),
        "page_loads_a_publish_landed_in": sum(
            any(ld.started < t < ld.ended for t in landed) for _r, _n, ld in loads
        ),
        "snapshots_shown": sorted({ld.marker for _r, _n, ld in loads}),
    }


def _machine() -> dict:
    import duckdb

    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(mem / 2**20, 1),
        "cpu": platform.machine(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=20_000)
    ap.add_argument("--readers", type=int, default=20)
    ap.add_argument("--publishes", type=int, default=10)
    ap.add_argument("--gap", type=float, default=1.0)
    ap.add_argument("--quiet-s", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results_readers.json")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # slow-query lines of 20 contending readers would drown the output

    from dashboards.testing_publishes import Publisher

    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="bench-readers-") as tmp:
        publisher = Publisher(Path(tmp), args.copies)
        first = publisher.first
        print(f"snapshot: {first['rows']:,} rows published in {first['seconds']:.2f} s", flush=True)
        phases = {}
        # one reader alone for the cost of a page, then all readers without and with publishes
        for name, readers in (("one_reader", 1), ("quiet", args.readers), ("publishing", args.readers)):
            loads: list = []
            errors: list = []
            stop = threading.Event()
            published_at: dict[int, float] = {}
            publish_s: list[float] = []
            threads = _run_readers(publisher.serving, readers, args.copies, stop, loads, errors)
            started = time.monotonic()
            if name != "publishing":
                time.sleep(args.quiet_s)
            else:
                for _ in range(args.publishes):
                    time.sleep(args.gap)
                    reply = publisher.publish()
                    published_at[reply["k"]] = time.monotonic()
                    publish_s.append(reply["seconds"])
                time.sleep(args.gap)
            stop.set()
            for t in threads:
                t.join()
            seconds = time.monotonic() - started
            phases[name] = {
                "readers": readers,
                **_phase(loads, errors, args.copies, published_at, seconds),
                "load_average_1min_at_end": round(os.getloadavg()[0], 1),
            }
            if publish_s:
                phases[name]["publish_s"] = {
                    "median": round(statistics.median(publish_s), 2),
                    "max": round(max(publish_s), 2),
                    "n": len(publish_s),
                }
            print(name, json.dumps(phases[name]), flush=True)
        assert publisher.close() == 0
    result = {
        "date": date.today().isoformat(),
        "machine": machine,
        "snapshot_rows": first["rows"],
        "first_publish_s_no_readers": round(first["seconds"], 2),
        "deals": 10 * args.copies,
        "gap_s": args.gap,
        "page": "publish_info + 8 queries of the overview, deals and quality pages, uncached (dashboards.testing_publishes)",
        **phases,
    }
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
