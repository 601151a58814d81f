"""Evaluation of probability scores: ROC AUC, PR AUC, Brier, log-loss, calibration by decile, lift, ECE."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Deciles of the predicted probability: count, mean predicted, observed win rate."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    decile = np.empty(len(p), dtype=int)
    decile[order] = np.minimum((np.arange(len(p)) * bins) // max(len(p), 1), bins - 1)
    df = pd.DataFrame({"decile": decile + 1, "y": y, "p": p})
    t = df.groupby("decile").agg(n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
    return t.reset_index()


def expected_calibration_error(y, p, bins: int = 10) -> float:
    t = calibration_table(y, p, bins)
    return float(np.sum(t["n"] / t["n"].sum() * (t["mean_predicted"] - t["observed_rate"]).abs()))


def lift_top_decile(y, p) -> float:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    k = max(1, len(p) // 10)
    top = np.argsort(-p, kind="stable")[:k]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def evaluate(y, p) -> dict:
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    both = len(np.unique(y)) == 2
    return {
        "n": int(len(y)),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
        "lift_top_decile": lift_top_decile(y, p),
    }
