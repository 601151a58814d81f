"""Bench: dbt's overhead on the marts. `dbt run` / `dbt build` against the same SQL run directly.

Takes a warehouse whose raw tables are loaded (e.g. `salescope ingest DROP --home H`), copies it, and on
each copy measures (medians of --repeat runs, one process each):
  - dbt run --full-refresh   (models only) and dbt build --full-refresh (models + data tests), after an
    untimed `dbt parse` into the same target (the pipeline parses once and reuses the manifest),
  - direct: the SQL dbt compiled for every model, in dependency order, as one DuckDB script in one process
    (create view / create table ... as <compiled SQL>), no dbt at all.
The ratio dbt run ÷ direct is dbt's overhead on the same work. On a shared machine the medians move with
other load: the best-of-N times (seconds_best) and their ratios are the steadier figures.

Usage:
  python bench/bench_dbt.py --warehouse H/warehouse/warehouse.duckdb [--as-of 2026-06-30] [--threads 1]
         [--repeat 1] [--out bench/results_dbt.json]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestration.dbt_args import common_flags, write_profiles  # noqa: E402
from salescope.settings import DBT_PROJECT_DIR  # noqa: E402

DBT = str(Path(sys.executable).with_name("dbt"))


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def fresh_copy(src: Path, work: Path, name: str) -> Path:
    """A copy of the raw warehouse under work/name/, with the same file name (dbt's SQL names the catalog)."""
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    dest = folder / src.name
    shutil.copy(src, dest)
    return dest


def dbt_cmd(command: str, db: Path, as_of: str, threads: int) -> list[str]:
    profiles = db.parent / "profiles"
    write_profiles(profiles, db, threads)
    refresh = [] if command == "parse" else ["--full-refresh"]
    return [
        DBT,
        command,
        *refresh,
        "--vars",
        f"{{as_of: {as_of}}}",
        "--log-path",
        str(db.parent / "logs"),
        *common_flags(DBT_PROJECT_DIR, profiles, db.parent / "target"),
    ]


def direct_script(manifest_path: Path) -> str:
    """Every model's compiled SQL in dependency order, as DDL."""
    manifest = json.loads(manifest_path.read_text())
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    done: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen:
            return
        seen.add(uid)
        for dep in models[uid]["depends_on"]["nodes"]:
            if dep in models:
                visit(dep)
        done.append(uid)

    for uid in sorted(models):
        visit(uid)
    schemas = sorted({models[u]["schema"] for u in done})
    lines = [f"create schema if not exists {s};" for s in schemas]
    for uid in done:
        node = models[uid]
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        relation = f'"{node["schema"]}"."{node["alias"]}"'
        lines.append(f"create or replace {kind} {relation} as (\n{node['compiled_code']}\n);")
    return "\n".join(lines)


def run_direct(db: Path, script: Path) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(script.read_text())
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path, required=True, help="a warehouse.duckdb with raw.* loaded")
    ap.add_argument("--as-of", default="2026-06-30")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results_dbt.json")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-dbt-"))
    results: dict[str, list[tuple[float, float]]] = {"dbt_run": [], "dbt_build": [], "direct": []}
    script = work / "direct.sql"
    parse: list[tuple[float, float]] = []
    for i in range(args.repeat):
        # the pipeline parses the project once (orchestration.dbt_prepare) and reuses the manifest: so do we,
        # untimed here (dbt_parse reports it), so the timed commands partial-parse like the pipeline's
        db = fresh_copy(args.warehouse, work, "run")
        parse.append(timed(dbt_cmd("parse", db, args.as_of, args.threads)))
        results["dbt_run"].append(timed(dbt_cmd("run", db, args.as_of, args.threads)))
        if not script.exists():
            script.write_text(direct_script(db.parent / "target" / "manifest.json"))
        db = fresh_copy(args.warehouse, work, "build")
        timed(dbt_cmd("parse", db, args.as_of, args.threads))
        results["dbt_build"].append(timed(dbt_cmd("build", db, args.as_of, args.threads)))
        db = fresh_copy(args.warehouse, work, "direct")
        results["direct"].append(timed([sys.executable, __file__, "--direct", str(db), str(script)]))
        print(f"#{i + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f}s" for k, v in results.items()), file=sys.stderr)

    med = {k: round(statistics.median(x[0] for x in v), 2) for k, v in results.items()}
    best = {k: round(min(x[0] for x in v), 2) for k, v in results.items()}  # least disturbed by other load
    rss = {k: round(statistics.median(x[1] for x in v)) for k, v in results.items()}
    import duckdb

    con = duckdb.connect(str(args.warehouse), read_only=True)
    rows = {
        t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
        for t in ("opportunities", "opportunity_history", "activities", "invoices")
    }
    con.close()
    out = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_end": os.getloadavg(),
        "threads": args.threads,
        "repeat": args.repeat,
        "raw_rows": rows,
        "seconds": med,
        "seconds_best": best,
        "dbt_parse_seconds_untimed_above": round(statistics.median(x[0] for x in parse), 2),
        "peak_rss_mib": rss,
        "ratio_dbt_run_to_direct": round(med["dbt_run"] / med["direct"], 2),
        "ratio_dbt_build_to_direct": round(med["dbt_build"] / med["direct"], 2),
        "ratio_best_dbt_run_to_direct": round(best["dbt_run"] / best["direct"], 2),
        "ratio_best_dbt_build_to_direct": round(best["dbt_build"] / best["direct"], 2),
    }
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--direct":
        run_direct(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
