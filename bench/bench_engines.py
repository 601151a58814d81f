"""Bench: the same drop through `salescope run` on DuckDB, PostgreSQL and Spark, side by side in one run.

Per engine and scale: wall time, peak memory of the whole process tree (the run, dbt, Spark's JVM: the sum
of their RSS, sampled every 0.25 s from /proc) and each step's seconds as the run reports them; then each
engine's time as a multiple of DuckDB's. PostgreSQL is the machine's server (a fresh database per run).

Usage: python bench/bench_engines.py [--scales 1,10] [--engines duckdb,postgres,spark] [--repeat 1]
       [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--out bench/results_engines.json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import SALESCOPE, machine  # noqa: E402

STEP_LINE = re.compile(r"^[✓✗\-] (?P<step>.+?)\s+(?P<seconds>\d+\.\d)s\s", re.M)
PAGE = 4096


def _tree_rss_mib(root: int) -> float:
    """RSS of ``root`` and all its descendants (MiB), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1]: ppid
        rss[pid] = int(fields[21])  # pages
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total * PAGE / 2**20


def measure(cmd: list[str]) -> tuple[float, float, str, int]:
    """(wall seconds, peak RSS MiB of the process tree, stdout, exit code)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_mib(proc.pid))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:  # recorded, not raised: a run that fails (out of memory, say) is a figure too
        print(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out[-4000:]}", file=sys.stderr)
    return wall, peak[0], out, proc.returncode


def run_engine(
    engine: str, drop: Path, work: Path, pg_admin: str
) -> tuple[float, float, dict[str, float], int]:
    home = work / f"home-{engine}-{uuid.uuid4().hex[:6]}"
    cmd = [*SALESCOPE, "run", "--source", str(drop), "--home", str(home), "--engine", engine]
    database = None
    if engine == "postgres":
        import psycopg

        database = f"salescope_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg_admin, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{database}"')
        cmd += ["--warehouse-url", pg_admin.rsplit("/", 1)[0] + "/" + database]
    try:
        wall, peak, out, code = measure(cmd)
    finally:
        if database:
            import psycopg

            with psycopg.connect(pg_admin, autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", str(home)], check=False)
    steps = {m["step"].strip(): float(m["seconds"]) for m in STEP_LINE.finditer(out)}
    return wall, peak, steps, code


def bench_scale(
    scale: float, engines: list[str], repeat: int, work: Path, pg_admin: str, drop: Path | None = None
) -> dict:
    if drop is None:
        drop = work / f"drop-{scale:g}"
        subprocess.run(
            [*SALESCOPE, "generate", "--scale", str(scale), "--seed", "1", "--out", str(drop)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    rows = sum(json.loads((drop / "_manifest.json").read_text())["rows"].values())
    result: dict = {"scale": scale, "rows": rows, "repeat": repeat, "engines": {}}
    for engine in engines:
        runs = [run_engine(engine, drop, work, pg_admin) for _ in range(repeat)]
        steps = {k: round(statistics.median(r[2].get(k, 0.0) for r in runs), 1) for k in runs[0][2]}
        result["engines"][engine] = {
            "wall_s": round(statistics.median(r[0] for r in runs), 1),
            "peak_mib": round(statistics.median(r[1] for r in runs)),
            "steps_s": steps,
            "wall_s_all": [round(r[0], 1) for r in runs],
            "exit_codes": [r[3] for r in runs],  # 0: published
        }
        print(f"scale {scale:g} {engine}: {result['engines'][engine]}", file=sys.stderr)
    base = result["engines"].get("duckdb")
    if base:
        for r in result["engines"].values():
            r["wall_x_duckdb"] = round(r["wall_s"] / base["wall_s"], 2)
            dbt, base_dbt = r["steps_s"].get("dbt build"), base["steps_s"].get("dbt build")
            if dbt and base_dbt:
                r["dbt_x_duckdb"] = round(dbt / base_dbt, 2)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="1")
    ap.add_argument("--engines", default="duckdb,postgres,spark")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="an admin URL")
    ap.add_argument("--out", default="bench/results_engines.json")
    ap.add_argument("--work", default=None, help="folder for drops and homes (default: a temporary one)")
    ap.add_argument("--drop", type=Path, default=None, help="an existing drop of --scales' one scale")
    args = ap.parse_args()
    engines = args.engines.split(",")
    with tempfile.TemporaryDirectory(prefix="salescope-engines-", dir=args.work) as tmp:
        results = [
            bench_scale(float(s), engines, args.repeat, Path(tmp), args.pg) for s in args.scales.split(",")
        ]
    report = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "results": results}
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
