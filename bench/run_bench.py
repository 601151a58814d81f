"""Bench: wall time and peak memory of the generator and of `salescope run`, side by side in one run.

Each measured step runs as its own process (peak RSS from wait4), repeated; medians are reported.
Usage: python bench/run_bench.py [--scales 1] [--repeat 3] [--out bench/results.json]
Large scales belong here, not in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SALESCOPE = [sys.executable, "-m", "salescope.cli"]


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of the process tree the command waited for)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        // 1024
        // 1024
    )
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, Python {platform.python_version()}"


def bench_scale(scale: float, repeat: int, work: Path) -> dict:
    drop = work / f"drop-{scale:g}"
    gen, run, demo = [], [], []
    for i in range(repeat):
        shutil.rmtree(drop, ignore_errors=True)
        gen.append(
            measure([*SALESCOPE, "generate", "--scale", str(scale), "--seed", "1", "--out", str(drop)])
        )
        home = work / f"home-{scale:g}-{i}"
        run.append(measure([*SALESCOPE, "run", "--source", str(drop), "--home", str(home)]))
        shutil.rmtree(home, ignore_errors=True)
        # the README's demo command at this scale: generation and the whole graph in one process
        demo.append(measure([*SALESCOPE, "run", "--scale", str(scale), "--seed", "1", "--home", str(home)]))
        shutil.rmtree(home, ignore_errors=True)
        print(
            f"scale {scale:g} #{i + 1}: generate {gen[-1][0]:.1f}s, run {run[-1][0]:.1f}s / {run[-1][1]:.0f} MiB, "
            f"demo run {demo[-1][0]:.1f}s",
            file=sys.stderr,
        )
    rows = sum(json.loads((drop / "_manifest.json").read_text())["rows"].values())
    med = lambda xs, k: round(statistics.median(x[k] for x in xs), 2)  # noqa: E731
    return {
        "scale": scale,
        "rows": rows,
        "repeat": repeat,
        "generate_s": med(gen, 0),
        "generate_peak_mib": med(gen, 1),
        "run_s": med(run, 0),
        "run_peak_mib": med(run, 1),
        "run_rows_per_s": round(rows / med(run, 0)),
        "run_s_all": [round(x[0], 2) for x in run],
        "demo_run_s": med(demo, 0),
        "demo_run_peak_mib": med(demo, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scales", default="1", help="comma-separated scales, e.g. 0.2,1")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="bench/results.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="salescope-bench-") as tmp:
        results = [bench_scale(float(s), args.repeat, Path(tmp)) for s in args.scales.split(",")]
    report = {"machine": machine(), "results": results}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
