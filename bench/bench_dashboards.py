"""Bench: each dashboard page, per role, on a published serving snapshot (budget: 300 ms of queries a page).

Every page runs in Streamlit's AppTest as a signed-in user of that role, with the caches cleared before each
run, so each figure on the page is a real DuckDB round trip on the read-only snapshot connection the app
uses. Reported per page and role, as medians of ``--repeat`` runs: the time spent in queries (summed over
``dashboards.queries.run_query``, the one place the dashboards execute SQL) and the whole server-side script run.

Usage: python bench/bench_dashboards.py --home DIR [--repeat 5] [--label "a scale-10 home"]
       [--out bench/results_dashboards.json]
Make a scale-10 snapshot first: SALESCOPE_HOME=/tmp/s10 salescope run --scale 10   (then --home /tmp/s10)
The report names the snapshot by --label, never by its path (results are committed; paths are per machine).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_MS = 300.0
APP = ROOT / "dashboards" / "app.py"
VIEWS = ROOT / "dashboards" / "views"


def pick_users(serving: Path) -> dict[str, str | None]:
    """role -> CRM user id: the rep with the most deals and that team's manager; None for company roles."""
    import duckdb

    con = duckdb.connect(str(serving), read_only=True)
    try:
        rep, team = con.execute("""SELECT owner_user_id, team_id FROM marts.fct_opportunities GROUP BY ALL
                                   ORDER BY count(*) DESC, owner_user_id LIMIT 1""").fetchone()
        (mgr,) = con.execute(
            "SELECT min(user_id) FROM marts.dim_users WHERE role = 'sales_manager' AND team_id = ?", [team]
        ).fetchone()
        (n_opps,) = con.execute("SELECT count(*) FROM marts.fct_opportunities").fetchone()
    finally:
        con.close()
    return {
        "sales_rep": rep,
        "sales_manager": mgr,
        "finance": None,
        "executive": None,
        "data_steward": None,
        "admin": None,
    }, n_opps


def run_page(home: Path, role: str, crm: str | None, page: str) -> tuple[float, float, str | None]:
    """(query ms, script ms, error) of one uncached run of ``page`` as ``role``."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboards import queries
    from dashboards.testing import sign_in

    at = AppTest.from_file(str(APP), default_timeout=120)
    sign_in(at, home, role, crm_user_id=crm, username=f"bench_{role}")
    at.run()
    spent: list[float] = []
    queries.on_query = lambda _sql, s: spent.append(s)
    st.cache_data.clear()
    started = time.perf_counter()
    try:
        at.switch_page(str(VIEWS / f"{page}.py")).run()
    finally:
        queries.on_query = None
    script_ms = (time.perf_counter() - started) * 1000
    error = "; ".join(str(e.value)[:200] for e in at.exception) or None
    return sum(spent) * 1000, script_ms, error


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="SALESCOPE_HOME holding serving/serving.duckdb")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--label", default="a home", help="what the home is, for the report (e.g. 'a scale-10 home')"
    )
    args = ap.parse_args()
    serving = args.home / "serving" / "serving.duckdb"
    if not serving.exists():
        raise SystemExit(f"no snapshot at {serving}: run `SALESCOPE_HOME={args.home} salescope run` first")
    logging.disable(logging.WARNING)  # the slow-query log line would flood the report

    # a scratch home: the snapshot (linked, read-only) and bench users, so the real home is untouched
    scratch = Path(tempfile.mkdtemp(prefix="salescope-bench-"))
    (scratch / "serving").mkdir()
    os.symlink(serving, scratch / "serving" / "serving.duckdb")
    os.environ["SALESCOPE_HOME"] = str(scratch)
    from dashboards.access import pages_for

    users, n_opps = pick_users(serving)
    queries_ms: dict[str, dict[str, float]] = {}
    script_ms: dict[str, dict[str, float]] = {}
    errors: dict[str, str] = {}
    try:
        for role, crm in users.items():
            for spec in pages_for(role):
                q, s = [], []
                for _ in range(args.repeat):
                    qm, sm, err = run_page(scratch, role, crm, spec.key)
                    q.append(qm)
                    s.append(sm)
                    if err:
                        errors[f"{spec.key}/{role}"] = err
                queries_ms.setdefault(spec.key, {})[role] = round(statistics.median(q), 1)
                script_ms.setdefault(spec.key, {})[role] = round(statistics.median(s), 1)
                print(
                    f"{spec.key:12s} {role:14s} queries {statistics.median(q):7.1f} ms   "
                    f"script {statistics.median(s):7.1f} ms",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    over = {
        f"{p}/{r}": ms for p, by_role in queries_ms.items() for r, ms in by_role.items() if ms > BUDGET_MS
    }
    report = {
        "snapshot": f"serving/serving.duckdb of {args.label}",
        "opportunities": n_opps,
        "repeat": args.repeat,
        "budget_ms": BUDGET_MS,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "query_median_ms": queries_ms,
        "script_median_ms": script_ms,
        "over_budget": over,
        "errors": errors,
    }
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    raise SystemExit(1 if over or errors else 0)


if __name__ == "__main__":
    main()
