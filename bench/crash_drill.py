"""Crash drill: SIGKILL a real `salescope run` at every step, then run again and time the recovery.

For each kill point the drill starts from the same warm home (yesterday's drop A already published), runs
`salescope run` on today's drop B (the same CRM with the latest touchpoints and payments added) with ``SALESCOPE_FAILPOINT`` set so the process SIGKILLs itself at that
point (orphaning dbt where dbt is running), and checks what a user would see:

- after the kill, the serving snapshot is byte-identical to the last good one, or is the complete new one;
- the next plain `salescope run` exits 0 without manual steps, publishes drop B, leaves no temp snapshot,
  and takes about the normal time (the same run on the same warm home without a crash, measured
  side by side in this drill);
- every row of drop B is loaded exactly once (rows read = loaded + quarantined, no duplicate keys);
- no process of the killed run (an orphaned dbt, Dagster's log tailers) is left running.

A kill during dbt is also done from outside (SIGKILL to the whole process group at a measured moment),
as a power cut or the OOM killer would.

Usage: python bench/crash_drill.py [--scale 0.2] [--out bench/results_crash_drill.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from run_bench import machine  # noqa: E402

from contract import ENTITIES  # noqa: E402
from salescope.generator import generate  # noqa: E402

SALESCOPE = str(Path(sys.executable).parent / "salescope")
# (step, failpoint): where the run kills itself; `:N` = the N-th time the point is reached
KILL_POINTS = [
    ("ingest", "ingest.before_commit:2"),
    ("dbt", "dbt.event:150"),
    ("quality gate", "quality.start"),
    ("ML", "ml.trained"),
    ("publish (copying tables)", "publish.copy:10"),
    ("publish (before the rename)", "publish.before_rename"),
]


# the files that change from yesterday's drop to today's (rows appended); the others are byte-identical
NEW_TODAY = ("activities", "payments")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def env_for(home: Path, failpoint: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SALESCOPE_FAILPOINT", "SALESCOPE_RUN_TOKEN"}}
    env["SALESCOPE_HOME"] = str(home)
    if failpoint:
        env["SALESCOPE_FAILPOINT"] = failpoint
    return env


def salescope_run(home: Path, drop: Path, failpoint: str = "", kill_after: float | None = None):
    """(exit code, seconds, output). ``kill_after``: SIGKILL the process group that many seconds in."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [SALESCOPE, "run", "--source", str(drop), "--as-of", "2026-06-30"],
        env=env_for(home, failpoint),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return proc.returncode, time.perf_counter() - started, out


def publish_count(serving: Path) -> int:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM meta.publish_log").fetchone()[0]
    finally:
        con.close()


def snapshot_state(serving: Path, good_sha: str, good_publishes: int) -> str:
    """'old' (byte-identical to the last good one), 'new' (complete and newer) or what is wrong."""
    if not serving.exists():
        return "ABSENT"
    if sha(serving) == good_sha:
        return "old"
    try:
        return "new" if publish_count(serving) == good_publishes + 1 else "UNEXPECTED"
    except duckdb.Error as err:
        return f"BROKEN ({err})"


def loaded_exactly_once(home: Path, drop: Path, manifest: dict) -> list[str]:
    """Problems with the new drop's load: at most one batch per file, conservation, every row once."""
    problems = []
    con = duckdb.connect(str(home / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        unbalanced = con.execute(
            "SELECT count(*) FROM ops.load_log WHERE rows_read <> rows_loaded + rows_quarantined"
        ).fetchone()[0]
        if unbalanced:
            problems.append(f"{unbalanced} load_log rows where read <> loaded + quarantined")
        for entity in ENTITIES:
            batches = con.execute(
                """SELECT count(*) FROM ops.load_log WHERE entity = ? AND status = 'loaded'
                                     AND starts_with(file, ?)""",
                [entity.name, str(drop)],
            ).fetchone()[0]
            if batches > 1:
                problems.append(f"{entity.name}: the new drop's file was loaded {batches} times")
            rows, keys = con.execute(
                f"SELECT count(*), count(DISTINCT _record_key) FROM raw.{entity.name}"
            ).fetchone()
            if rows != keys or rows != manifest["rows"][entity.name]:
                problems.append(
                    f"raw.{entity.name}: {rows} rows, {keys} keys; the drop has "
                    f"{manifest['rows'][entity.name]}"
                )
    finally:
        con.close()
    return problems


def yesterdays_drop(today: Path, yesterday: Path, manifest: dict, share: float = 0.03) -> None:
    """Yesterday's export of the same CRM: today's files without the latest touchpoints and payments."""
    shutil.copytree(today, yesterday, ignore=shutil.ignore_patterns("_truth", "_manifest.json"))
    for entity in NEW_TODAY:
        lines = (today / f"{entity}.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        assert len(lines) == manifest["rows"][entity] + 1, f"{entity}.csv has a multi-line record"
        keep = len(lines) - int(manifest["rows"][entity] * share)
        (yesterday / f"{entity}.csv").write_text("".join(lines[:keep]), encoding="utf-8")


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (a home's path): leftovers of a killed run."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if text in cmd:
            found.append(f"{entry.name}: {cmd[:160]}")
    return found


def drill(scale: float, work: Path) -> dict:
    drop_a, drop_b = work / "drop-a", work / "drop-b"
    generate(drop_b, scale=scale, seed=7)
    manifest_b = json.loads((drop_b / "_manifest.json").read_text())
    yesterdays_drop(drop_b, drop_a, manifest_b)

    warm = work / "warm"
    rc, first, out = salescope_run(warm, drop_a)
    assert rc == 0, out
    good_sha = sha(warm / "serving" / "serving.duckdb")
    good_publishes = publish_count(warm / "serving" / "serving.duckdb")
    print(f"warm home: drop A published in {first:.1f}s", file=sys.stderr)

    def fresh_copy(name: str) -> Path:
        home = work / name
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(warm, home, symlinks=True)
        return home

    normal = []
    for i in range(2):
        home = fresh_copy(f"normal-{i}")
        rc, secs, out = salescope_run(home, drop_b)
        assert rc == 0, out
        normal.append(secs)
        shutil.rmtree(home)
    normal_s = statistics.median(normal)
    print(
        f"normal run on the warm home (new drop): {', '.join(f'{s:.1f}s' for s in normal)}", file=sys.stderr
    )

    cases = [(step, fp, None) for step, fp in KILL_POINTS]
    cases.append(("dbt (SIGKILL from outside)", "", round(normal_s * 0.4, 1)))
    rows = []
    for step, fp, kill_after in cases:
        home = fresh_copy("drill")
        serving = home / "serving" / "serving.duckdb"
        rc_killed, killed_secs, killed_out = salescope_run(home, drop_b, fp, kill_after)
        after_kill = snapshot_state(serving, good_sha, good_publishes)
        rc, secs, out = salescope_run(home, drop_b)
        row = {
            "step": step,
            "kill": fp or f"SIGKILL to the process group at {kill_after}s",
            "killed_exit": rc_killed,
            "killed_after_s": round(killed_secs, 1),
            "snapshot_after_kill": after_kill,
            "next_run_exit": rc,
            "next_run_s": round(secs, 1),
            "vs_normal": round(secs / normal_s, 2),
            "recovered": [line.strip() for line in out.splitlines() if line.startswith("recovered")],
            "snapshot_after_next_run": snapshot_state(serving, good_sha, good_publishes),
            "temp_snapshot_left": (serving.parent / "serving.tmp.duckdb").exists(),
            "load_problems": loaded_exactly_once(home, drop_b, manifest_b)
            if rc == 0
            else ["next run failed"],
            "processes_left": processes_mentioning(str(home)),
        }
        row["ok"] = (
            row["killed_exit"] == -signal.SIGKILL
            and after_kill in {"old", "new"}
            and rc == 0
            and row["snapshot_after_next_run"] == "new"
            and not row["temp_snapshot_left"]
            and not row["load_problems"]
            and not row["processes_left"]
        )
        if not row["ok"]:
            row["next_run_output_tail"] = out[-3000:]
        rows.append(row)
        print(
            f"{'ok ' if row['ok'] else 'BAD'} {step:<30} killed at {killed_secs:5.1f}s (exit {rc_killed}), "
            f"snapshot {after_kill}; next run exit {rc} in {secs:.1f}s ({secs / normal_s:.2f}x normal)"
            f"{'; ' + '; '.join(row['recovered']) if row['recovered'] else ''}",
            file=sys.stderr,
        )
        shutil.rmtree(home)
    return {
        "scale": scale,
        "first_run_s": round(first, 1),
        "normal_runs_s": [round(s, 1) for s in normal],
        "normal_median_s": round(normal_s, 1),
        "cases": rows,
        "all_ok": all(r["ok"] for r in rows),
        "next_run_vs_normal_median": round(statistics.median(r["vs_normal"] for r in rows), 2),
        "next_run_vs_normal_max": max(r["vs_normal"] for r in rows),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results_crash_drill.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="salescope-drill-") as tmp:
        result = drill(args.scale, Path(tmp))
    result |= {"machine": machine(), "date": date.today().isoformat()}
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"{'all kill points recovered' if result['all_ok'] else 'SOME KILL POINTS FAILED'}; "
        f"next run / normal run: median {result['next_run_vs_normal_median']}x, "
        f"max {result['next_run_vs_normal_max']}x; written to {args.out}",
        file=sys.stderr,
    )
    return 0 if result["all_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
