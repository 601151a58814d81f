"""ML bench: deal-score quality on the generator's truth, LTV recovery, training and scoring times.

    .venv/bin/python bench/bench_ml.py [--scale 2] [--seed 2027] [--scale10] [--out bench/results_ml.json]
    .venv/bin/python bench/bench_ml.py --make-warehouse /tmp/scale10.duckdb --scale 10
    .venv/bin/python bench/bench_ml.py --step /tmp/scale10.duckdb [--repeats 3] [--label after]

- Deal scores: a fresh drop (a seed not used in development), the ML inputs built from its CSVs
  (models_ml.reference_frames, the dbt interface), trained as of the drop's as-of date, and the open deals'
  scores compared with `_truth/opportunity_outcomes.csv` (how each open deal really ended): ROC AUC of the
  model, the stage-default weighting and the naive Bayes baseline; expected calibration error (10 bins).
- LTV: BG/NBD and Gamma-Gamma parameters recovered from data simulated with known values; on the drop,
  predicted 12-month purchases against `_truth/customer_future.csv`.
- Times: training at scale 10 (with --scale10), scoring 100,000 open deals (with and without reasons).
- The deal-scoring step alone (``--step WAREHOUSE``, a DuckDB file holding ``marts.fct_pipeline_snapshots``
  and ``marts.fct_opportunities``, e.g. written by ``--make-warehouse FILE --scale 10``): what
  ``ml_deal_scores`` does on a training run (load the snapshots, train, score the open deals with reasons,
  write the ml.* tables), phase by phase, median of ``--repeats``; 100,000 deals drawn from the open ones
  scored with reasons; digests of the probabilities, reasons, importances and calibration, so that two
  versions of the code can be shown to write the same tables; and the reasons against the reference
  computation (every group of every deal set in the raw features, encoded again and predicted).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
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
from models_ml.reasons import contributions, explain  # noqa: E402
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


def _digest(*frames: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for f in frames:
        h.update(pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def make_warehouse(path: Path, scale: float, seed: int, as_of: date = AS_OF) -> None:
    """A DuckDB file with the two marts the deal-scoring step reads, from a clean generated drop."""
    with tempfile.TemporaryDirectory() as tmp:
        drop = _drop(Path(tmp), scale, seed, as_of)
        con = duckdb.connect(str(path))
        build_reference_marts(con, drop, as_of)
        con.execute("DROP SCHEMA IF EXISTS ref CASCADE")
        con.close()


def scoring_step(warehouse: Path, repeats: int = 3, as_of: date = AS_OF) -> dict:
    """The ml_deal_scores step of a training run on ``warehouse``, phase by phase (median of ``repeats``)."""
    times: dict[str, list[float]] = {}
    load_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine shows here

    def timed(name: str, fn, *a, **k):
        t0 = time.perf_counter()
        out = fn(*a, **k)
        times.setdefault(name, []).append(time.perf_counter() - t0)
        return out

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            src = duckdb.connect(str(warehouse), read_only=True)
            outcomes = timed("load_outcomes", F.load_outcomes, src)
            snaps = timed("load_snapshots", F.load_snapshots, src, until=as_of)
            src.close()
            n_snapshots = len(snaps)
            models = Path(tmp) / f"models{i}"
            t0 = time.perf_counter()
            res = D.train(snaps, outcomes, as_of)
            times.setdefault("train", []).append(time.perf_counter() - t0)
            Xo = timed("open_deal_features", D.open_deal_features, snaps, outcomes, as_of)
            timed("score_without_reasons", D.score_frame, res.model, Xo, with_reasons=False)
            scores = timed("score_with_reasons", D.score_frame, res.model, Xo)
            big = Xo.sample(100_000, replace=True, random_state=0).reset_index(drop=True)
            big_scores = timed("score_100k_with_reasons", D.score_frame, res.model, big)
            del big
            run_ = timed("run_total", D.run, snaps, outcomes, as_of, models)  # train + register + score
            out = duckdb.connect()
            timed("write_tables", D.write_tables, out, run_, models)
            out.close()
            shutil.rmtree(models)
            del snaps
    med = {k: round(statistics.median(v), 2) for k, v in times.items()}
    runs = {k: [round(x, 2) for x in v] for k, v in times.items()}
    step = med["load_outcomes"] + med["load_snapshots"] + med["run_total"] + med["write_tables"]
    # the reasons against the reference computation: each group set to its typical value in the raw
    # features, encoded again and predicted, for every group of every open deal
    t0 = time.perf_counter()
    ref = contributions(res.model.predict, Xo.reset_index(drop=True), res.model.reference)
    ref_seconds = time.perf_counter() - t0
    ref_reasons = [json.dumps(r, ensure_ascii=False) for r in explain(Xo.reset_index(drop=True), ref)]
    importance = res.importance if res.importance is not None else pd.DataFrame()
    return {
        "open_deals": int(len(Xo)),
        "snapshot_rows": n_snapshots,
        "repeats": repeats,
        "load_average_1_5_15_min": load_before,
        "median_seconds": med,
        "runs_seconds": runs,
        "step_seconds": round(step, 2),
        "reference_reasons_seconds": round(ref_seconds, 2),
        "reasons_equal_reference": bool(
            (scores["reasons"].to_numpy() == np.array(ref_reasons, dtype=object)).all()
        ),
        "digest": {
            "scores": _digest(scores[["opportunity_id", "win_probability", "score", "reasons"]]),
            "scores_100k": _digest(big_scores[["win_probability", "reasons"]]),
            "importance": _digest(importance),
            "calibration": _digest(res.calibration) if res.calibration is not None else "",
            "backtest_roc_auc": res.backtest.get("roc_auc"),
        },
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
    ap.add_argument(
        "--make-warehouse", type=Path, help="write the scoring inputs of --scale to this DuckDB file"
    )
    ap.add_argument("--step", type=Path, help="time the deal-scoring step on this DuckDB file and stop")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--label", default="", help="key suffix for --step results (e.g. before, after)")
    args = ap.parse_args()
    if args.make_warehouse:
        make_warehouse(args.make_warehouse, args.scale, args.seed, args.as_of)
        return
    if args.step:
        step = scoring_step(args.step, args.repeats, args.as_of)
        print(json.dumps(step, indent=1))
        results = json.loads(args.out.read_text()) if args.out.exists() else {}
        results[f"scoring_step_{args.step.stem}{'_' + args.label if args.label else ''}"] = step
        args.out.write_text(json.dumps(results, indent=1, default=float))
        return
    # keep the figures of an earlier run that this run does not remeasure (e.g. scale 10 without --scale10)
    results: dict = json.loads(args.out.read_text()) if args.out.exists() else {}
    results |= {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
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
