"""The bookings forecast against the generator's truth, on a drop it was not developed on.

    python bench/forecast_truth.py [--scale 1] [--seed 2027] [--home DIR]

Runs the whole pipeline on the demo drop (or reuses the home's published snapshot), then compares:
- the open-pipeline component (ml.forecast, company) for each of the three months after the as-of date with
  what the deals open on the as-of date really brought in those months (``_truth/opportunity_outcomes.csv``,
  which the pipeline never reads), beside stage-default weighting of the same deals;
- the noise floor: the WAPE the model would show if outcomes were drawn from its own probabilities;
- the total's rolling-origin backtest (ml.forecast_accuracy_summary).
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from models_ml import bookings_forecast as bf
from models_ml.models import STAGE_DEFAULT

MONTHS = 3
NOISE_DRAWS = 2000


def wape(f, a) -> float:
    f, a = np.asarray(f, float), np.asarray(a, float)
    return float(np.abs(f - a).sum() / a.sum())


def bias(f, a) -> float:
    f, a = np.asarray(f, float), np.asarray(a, float)
    return float((f - a).sum() / a.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--home", type=Path, default=Path("bench-results/forecast-truth-home"))
    ap.add_argument("--reuse", action="store_true", help="use the home's published snapshot as it is")
    args = ap.parse_args()
    if not args.reuse:
        cmd = [
            sys.executable,
            "-m",
            "salescope.cli",
            "run",
            "--scale",
            str(args.scale),
            "--seed",
            str(args.seed),
        ]
        subprocess.run([*cmd, "--home", str(args.home)], check=True)
    truth_file = next(args.home.glob(f"landing/demo-scale*-seed{args.seed}/_truth/opportunity_outcomes.csv"))
    con = duckdb.connect(str(args.home / "serving" / "serving.duckdb"), read_only=True)
    fc = con.execute("SELECT * FROM ml.forecast WHERE level = 'company' AND period_type = 'month'").df()
    as_of = pd.Timestamp(fc["as_of"].iloc[0]).date()
    origin = as_of + timedelta(days=1)

    # the deals open on the as-of date, and what they really did
    history = bf.load_history(con)
    open_now = bf.open_at(history, origin)
    truth = pd.read_csv(truth_file, parse_dates=["closed_at"])
    won = open_now.merge(truth[truth["outcome"] == "won"], on="opportunity_id")
    months = [bf.month_start(origin, k) for k in range(MONTHS)]
    won["month"] = won["closed_at"].dt.to_period("M").dt.start_time.dt.date
    actual = [float(won.loc[won["month"] == m, "amount_cny"].sum()) for m in months]

    opened = fc[fc["component"] == "open_pipeline"]
    model_open = pd.Series(
        opened["forecast_cny"].to_numpy(), index=[pd.Timestamp(d).date() for d in opened["period"]]
    )
    model = [float(model_open.get(m, np.nan)) for m in months]
    ecd = open_now["expected_close_date"].dt.to_period("M").dt.start_time.dt.date
    p_stage = open_now["stage"].map(STAGE_DEFAULT).fillna(0.0)
    stage = [float((open_now["amount_cny"] * p_stage)[ecd == m].sum()) for m in months]

    # noise floor: outcomes drawn from the model's own probabilities (refitted exactly as the run did)
    model_fit = bf.fit_hazard(bf.training_rows(history, origin))
    p = bf.win_by_interval(model_fit, bf.interval_rows(open_now))
    prob = p.pivot_table(index="opportunity_id", columns="j", values="p_won").reindex(columns=range(MONTHS))
    amount = p.groupby("opportunity_id")["amount_cny"].first().reindex(prob.index).to_numpy()
    pm = prob.fillna(0.0).to_numpy()
    rng = np.random.default_rng(0)
    u = rng.random((len(pm), NOISE_DRAWS))
    cum = np.cumsum(pm, axis=1)
    month_of = (u[:, :, None] >= cum[:, None, :]).sum(axis=2)  # MONTHS = not won in the three months
    expected = (pm * amount[:, None]).sum(axis=0)
    floor = [
        wape(expected, [(amount * (month_of[:, s] == k)).sum() for k in range(MONTHS)])
        for s in range(NOISE_DRAWS)
    ]

    summary = con.execute(
        """SELECT method, wape, bias, share_model_better FROM ml.forecast_accuracy_summary
           WHERE origin_type = 'month_start' AND horizon = 0 ORDER BY method"""
    ).df()
    out = {
        "drop": {
            "scale": args.scale,
            "seed": args.seed,
            "as_of": str(as_of),
            "open_deals": int(len(open_now)),
        },
        "open_pipeline_next_3_months": {
            "months": [str(m) for m in months],
            "actual_cny": [round(x, 2) for x in actual],
            "model_cny": [round(x, 2) for x in model],
            "stage_default_cny": [round(x, 2) for x in stage],
            "model_wape": wape(model, actual),
            "model_bias": bias(model, actual),
            "stage_default_wape": wape(stage, actual),
            "stage_default_bias": bias(stage, actual),
            "noise_floor_wape_median": float(np.median(floor)),
            "noise_floor_wape_p90": float(np.percentile(floor, 90)),
        },
        "total_backtest_month_start": summary.round(4).to_dict(orient="records"),
    }
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
