"""ML bench: deal-score quality on the generator's truth, LTV recovery, training and scoring times.

    .venv/bin/python bench/bench_ml.py [--scale 2] [--seed 2027] [--scale10] [--out bench/results_ml.json]

- Deal scores: a fresh drop (a seed not used in development), the ML inputs built from its CSVs
  (models_ml.reference_frames, the dbt interface), trained as of the drop's as-of date, and the open deals'
  scores compared with `_truth/opportunity_outcomes.csv` (how each open deal really ended): ROC AUC of the
  model, the stage-default weighting and the naive Bayes baseline; expected calibration error (10 bins).
- LTV: BG/NBD and Gamma-Gamma parameters recovered from data simulated with known values; on the drop,
  predicted 12-month purchases against `_truth/customer_future.csv`.
- Times: training at scale 10 (with --scale10), scoring 100,000 open deals (with and without reasons).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models_ml import deal_scoring as D  # noqa: E402
from models_ml import features as F  # noqa: E402
from models_ml.customer_ltv import customer_ltv  # noqa: E402
from models_ml.ltv import fit_bgnbd, fit_gamma_gamma, simulate_bgnbd  # noqa: E402
from models_ml.metrics import evaluate  # noqa: E402
from models_ml.models import stage_default_proba  # noqa: E402
from models_ml.reference_frames import build_reference_marts  # noqa: E402
from salescope.generator import generate  # noqa: E402

AS_OF = date(2026, 6, 30)


def _drop(tmp: Path, scale: float, seed: int, as_of: date = AS_OF) -> Path:
    out = tmp / f"drop-{scale}-{seed}"
    generate(out, scale=scale, seed=seed, fmt="csv", encoding="utf-8", defect_rate=0.0, as_of=as_of)
    return out


def deal_scores(drop: Path, AS_OF: date = AS_OF) -> dict:  # noqa: N803
    con = duckdb.connect()
    build_reference_marts(con, drop, AS_OF)
    snaps, outcomes = F.load_snapshots(con), F.load_outcomes(con)
    t0 = time.perf_counter()
    res = D.train(snaps, outcomes, AS_OF)
    train_s = time.perf_counter() - t0
    X = D.open_deal_features(snaps, outcomes, AS_OF)
    truth = pd.read_csv(drop / "_truth" / "opportunity_outcomes.csv")
    X = X.merge(truth[["opportunity_id", "outcome"]], on="opportunity_id", how="inner")
    y = (X["outcome"] == "won").astype(int).to_numpy()
    scored = D.score_frame(res.model, X)
    out = {
        "open_deals_evaluated": int(len(X)),
        "closed_deals_trained_on": res.n_closed_deals,
        "training_rows": res.n_training_rows,
        "training_seconds": round(train_s, 1),
        "truth": {
            "model": evaluate(y, scored["win_probability"].to_numpy()),
            "stage_default": evaluate(y, stage_default_proba(X)),
            "naive_bayes": evaluate(y, res.model.baseline.predict_proba(X)[:, 1]),
        },
        "backtest": {"model": res.backtest, **res.baselines},
        "top_features": res.importance.head(8).round(4).to_dict(orient="records")
        if res.importance is not None
        else [],
    }
    # LTV on the same drop against the customers' future
    ltv = customer_ltv(con, AS_OF)
    fut = pd.read_csv(drop / "_truth" / "customer_future.csv")
    m = ltv.table.merge(fut, on="account_id")
    m = m[m["expected_purchases_12m"].notna()]
    out["ltv_on_drop"] = {
        "customers": int(len(m)),
        "bgnbd": {k: round(v, 4) for k, v in ltv.fit.params_dict()["bgnbd"].items()},
        "pearson_expected_vs_actual_purchases_12m": float(
            np.corrcoef(m["expected_purchases_12m"], m["purchases_12m"])[0, 1]
        ),
        "spearman_expected_vs_actual_purchases_12m": float(
            m["expected_purchases_12m"].rank().corr(m["purchases_12m"].rank())
        ),
        "sum_expected_purchases_12m": float(m["expected_purchases_12m"].sum()),
        "sum_actual_purchases_12m": int(m["purchases_12m"].sum()),
        "spearman_predicted_ltv_vs_revenue_12m": float(
            m["predicted_ltv_12m_cny"].rank().corr(m["revenue_12m_cny"].rank())
        ),
    }
    con.close()
    return out, res, X


def ltv_recovery(n: int = 8000, seed: int = 11) -> dict:
    truth = {"r": 0.8, "alpha": 6.0, "a": 1.2, "b": 3.0}
    gg_truth = {"p": 6.0, "q": 4.0, "gamma": 20.0}
    T = np.random.default_rng(seed).uniform(30, 90, n)
    sim = simulate_bgnbd(n, **truth, T=T, seed=seed + 1, **gg_truth)
    t0 = time.perf_counter()
    bg = fit_bgnbd(sim["frequency"], sim["recency"], sim["T"])
    gg = fit_gamma_gamma(sim["frequency"], sim["monetary"])
    secs = time.perf_counter() - t0
    err = {k: abs(getattr(bg, k) / v - 1) for k, v in truth.items()} | {
        k: abs(getattr(gg, k) / v - 1) for k, v in gg_truth.items()
    }
    return {
        "customers": n,
        "true": truth | gg_truth,
        "fitted": {k: getattr(bg, k) for k in truth} | {k: getattr(gg, k) for k in gg_truth},
        "relative_error": err,
        "max_relative_error": max(err.values()),
        "fit_seconds": round(secs, 2),
    }


def scoring_speed(res, X: pd.DataFrame, n: int = 100_000) -> dict:
    big = X.sample(n, replace=True, random_state=0).reset_index(drop=True)
    t0 = time.perf_counter()
    D.score_frame(res.model, big, with_reasons=False)
    plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    D.score_frame(res.model, big, with_reasons=True)
    full = time.perf_counter() - t0
    return {
        "deals": n,
        "probability_and_score_seconds": round(plain, 2),
        "with_reasons_seconds": round(full, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--scale10", action="store_true", help="also time training at scale 10 (about 3 GB RAM)")
    ap.add_argument(
        "--as-of", type=date.fromisoformat, default=AS_OF, help="as-of date of the generated drop"
    )
    ap.add_argument(
        "--quality-only", action="store_true", help="only the deal-score and LTV quality on this drop"
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("results_ml.json"))
    args = ap.parse_args()
    # keep the figures of an earlier run that this run does not remeasure (e.g. scale 10 without --scale10)
    results: dict = json.loads(args.out.read_text()) if args.out.exists() else {}
    results |= {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "as_of": str(AS_OF),
    }
    with tempfile.TemporaryDirectory() as tmp:
        drop = _drop(Path(tmp), args.scale, args.seed, args.as_of)
        scores, res, X = deal_scores(drop, args.as_of)
        suffix = "" if args.as_of == AS_OF else f"_asof{args.as_of}"
        results[f"deal_scores_scale{args.scale:g}_seed{args.seed}{suffix}"] = scores
        print(json.dumps(scores["truth"], indent=1))
        if args.quality_only:
            args.out.write_text(json.dumps(results, indent=1, default=float))
            return
        results["scoring_100k"] = scoring_speed(res, X)
        print(results["scoring_100k"])
        results["ltv_recovery"] = ltv_recovery()
        print(results["ltv_recovery"])
        if args.scale10:
            drop10 = _drop(Path(tmp), 10, args.seed)
            con = duckdb.connect()
            t0 = time.perf_counter()
            build_reference_marts(con, drop10, AS_OF)
            prep = time.perf_counter() - t0
            snaps, outcomes = F.load_snapshots(con), F.load_outcomes(con)
            t0 = time.perf_counter()
            r10 = D.train(snaps, outcomes, AS_OF)
            results["training_scale10"] = {
                "snapshot_rows": int(len(snaps)),
                "closed_deals": r10.n_closed_deals,
                "training_rows_used": r10.n_training_rows,
                "train_seconds": round(time.perf_counter() - t0, 1),
                "reference_marts_seconds": round(prep, 1),
                "backtest_roc_auc": r10.backtest.get("roc_auc"),
            }
            print(results["training_scale10"])
    args.out.write_text(json.dumps(results, indent=1, default=float))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
