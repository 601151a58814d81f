"""Bench: each dashboard page's queries, per role, on a published serving snapshot (budget 300 ms a page).

Runs the query layer's functions uncached (``__wrapped__``), so every figure is a real DuckDB round trip on
the read-only snapshot connection the app uses. Medians of ``--repeat`` runs.

Usage: python bench/bench_dashboards.py [--home DIR] [--repeat 5] [--out bench/dashboards.json]
Make a scale-10 snapshot first: salescope run --scale 10 --home /tmp/s10   (then --home /tmp/s10)
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards import db, martviews, queries  # noqa: E402
from dashboards.queries import DealFilter  # noqa: E402
from dashboards.scope import Scope  # noqa: E402
from salescope.settings import Settings  # noqa: E402

BUDGET_MS = 300.0


def _raw(fn):
    return getattr(fn, "__wrapped__", fn)


def pick_scopes(snap) -> dict[str, Scope]:
    """The busiest rep and manager (most opportunities), executive and finance."""
    cur = db.cursor(snap)
    try:
        rep = cur.execute("""SELECT owner_user_id FROM marts.fct_opportunities GROUP BY 1
                             ORDER BY count(*) DESC LIMIT 1""").fetchone()[0]
        mgr = cur.execute("""SELECT u.user_id FROM marts.dim_users AS u
                             JOIN marts.fct_opportunities AS o ON o.team_id = u.team_id
                             WHERE u.role = 'sales_manager' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""").fetchone()[0]
        deal = cur.execute("""SELECT opportunity_id FROM marts.fct_opportunities WHERE owner_user_id = ? AND is_open
                              ORDER BY amount_cny DESC LIMIT 1""", [rep]).fetchone()
    finally:
        cur.close()
    scopes = {"sales_rep": Scope(role="sales_rep", user_id=rep), "sales_manager": Scope(role="sales_manager", user_id=mgr),
              "executive": Scope(role="executive"), "finance": Scope(role="finance")}
    return scopes, (deal[0] if deal else "none")


def page_queries(snap, scope: Scope, deal_id: str) -> dict[str, list]:
    tables = _raw(queries.available_tables)(snap)
    flt = DealFilter()
    deals = [lambda: _raw(queries.filter_options)(snap, scope)]
    if "marts.mart_deal_risk" in tables:
        deals.append(lambda: _raw(queries.open_deal_risk)(snap, scope, flt))
    else:
        deals.append(lambda: _raw(queries.open_deals)(snap, scope, flt))
    deal_page = [lambda: _raw(queries.deal)(snap, scope, deal_id)]
    for table, fn in (("marts.mart_deal_risk", queries.deal_risk), ("marts.fct_stage_transitions", queries.stage_history),
                      ("marts.fct_touchpoints", queries.touchpoints), ("marts.dim_contacts", queries.deal_contacts)):
        if table in tables:
            deal_page.append(lambda fn=fn: _raw(fn)(snap, scope, deal_id))
    marts = {}
    for key, view in martviews.VIEWS.items():
        if view.table not in tables:
            continue

        def month(view=view, key=key):
            ms = _raw(martviews.months)(snap, scope, key) if view.month else []
            return ms[0] if ms else None

        marts[key] = [
            lambda key=key, month=month: [
                _raw(fn)(snap, scope, key, flt, m)
                for m in [month()]
                for fn in (martviews.kpis, martviews.chart, martviews.rows)
                if fn is not martviews.chart or martviews.VIEWS[key].chart
            ]
        ]
    return marts | {
        "overview": [lambda: _raw(queries.publish_info)(snap), lambda: _raw(queries.monthly_series)(snap, scope)],
        "deals": deals,
        "deal": deal_page,
        "quality": [lambda: _raw(queries.validation_results)(snap), lambda: _raw(queries.issue_summary)(snap),
                    lambda: _raw(queries.quarantine)(snap), lambda: _raw(queries.load_log)(snap)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)
    settings = Settings.from_env(args.home)
    snap = db.current_snapshot(settings.serving_path)
    if snap is None:
        raise SystemExit(f"no snapshot at {settings.serving_path}: run `salescope run` first")
    cur = db.cursor(snap)
    n_opps = cur.execute("SELECT count(*) FROM marts.fct_opportunities").fetchone()[0]
    cur.close()
    scopes, deal_id = pick_scopes(snap)
    results: dict[str, dict[str, float]] = {}
    for role, scope in scopes.items():
        for page, fns in page_queries(snap, scope, deal_id).items():
            if page == "quality" and role != "executive":
                continue  # not scoped: once is enough
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                for fn in fns:
                    fn()
                times.append((time.perf_counter() - started) * 1000)
            results.setdefault(page, {})[role] = round(statistics.median(times), 1)
    over = {f"{p}/{r}": ms for p, by_role in results.items() for r, ms in by_role.items() if ms > BUDGET_MS}
    report = {"snapshot": snap.path, "opportunities": n_opps, "budget_ms": BUDGET_MS, "median_ms": results,
              "over_budget": over}
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    raise SystemExit(1 if over else 0)


if __name__ == "__main__":
    main()
