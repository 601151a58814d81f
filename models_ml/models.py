"""The deal-scoring models: stage default, Odoo-style naive Bayes, and the calibrated main model."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from models_ml.features import CATEGORICAL, NUMERIC
from salescope.settings import DBT_PROJECT_DIR

# the "stage default" weighting of METRICS.md: one file, the dbt seed the forecast mart also reads
STAGE_PROBABILITIES_CSV = DBT_PROJECT_DIR / "seeds" / "stage_probabilities.csv"


def load_stage_defaults(path: Path = STAGE_PROBABILITIES_CSV) -> dict[str, float]:
    """{stage: default win probability in [0, 1]} from the seed CSV (columns stage, default_probability)."""
    with path.open(encoding="utf-8", newline="") as f:
        return {row["stage"]: float(row["default_probability"]) for row in csv.DictReader(f)}


STAGE_DEFAULT = load_stage_defaults()
NB_FIELDS = ["stage", "lead_source", "industry", "team_id", "owner_user_id"]


def stage_default_proba(features: pd.DataFrame) -> np.ndarray:
    return features["stage"].map(STAGE_DEFAULT).fillna(0.1).to_numpy(dtype=float)


class NaiveBayesScorer:
    """Odoo's predictive lead scoring: frequency tables of won/lost per field value, Laplace-smoothed."""

    kind = "naive_bayes"

    def __init__(self, fields: list[str] | None = None, alpha: float = 1.0):
        self.fields = fields or NB_FIELDS
        self.alpha = alpha

    def fit(self, X: pd.DataFrame, y) -> NaiveBayesScorer:
        y = np.asarray(y, dtype=int)
        self.n_ = {c: int((y == c).sum()) for c in (0, 1)}
        self.tables_: dict[str, dict] = {}
        for f in self.fields:
            ct = pd.crosstab(X[f].astype(str).to_numpy(), y)
            self.tables_[f] = {
                "values": {v: (float(ct.loc[v].get(0, 0)), float(ct.loc[v].get(1, 0))) for v in ct.index},
                "k": len(ct.index) + 1,  # +1 for an unseen value
            }
        return self

    def log_odds(self, X: pd.DataFrame) -> np.ndarray:
        n0, n1 = self.n_[0], self.n_[1]
        lo = np.full(len(X), np.log((n1 + self.alpha) / (n0 + self.alpha)))
        for f in self.fields:
            t = self.tables_[f]
            k = t["k"]
            vals = X[f].astype(str)
            c0 = (
                vals.map(pd.Series({v: c[0] for v, c in t["values"].items()}, dtype=float))
                .fillna(0.0)
                .to_numpy()
            )
            c1 = (
                vals.map(pd.Series({v: c[1] for v, c in t["values"].items()}, dtype=float))
                .fillna(0.0)
                .to_numpy()
            )
            lo += np.log((c1 + self.alpha) / (n1 + self.alpha * k)) - np.log(
                (c0 + self.alpha) / (n0 + self.alpha * k)
            )
        return lo

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.log_odds(X)))
        return np.column_stack([1 - p, p])


def main_pipeline(seed: int, max_iter: int = 150) -> Pipeline:
    pre = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
                ),
                CATEGORICAL,
            ),
            ("num", "passthrough", NUMERIC),
        ],
        verbose_feature_names_out=False,
    )
    hgb = HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=max_iter,
        max_leaf_nodes=31,
        min_samples_leaf=80,
        l2_regularization=1.0,
        categorical_features=list(range(len(CATEGORICAL))),
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("features", pre), ("gbm", hgb)])


class MainScorer:
    """Gradient boosting over the snapshot features in a Pipeline, sigmoid-calibrated on deal-grouped folds."""

    kind = "gradient_boosting_calibrated"

    def __init__(self, seed: int = 0, folds: int = 3, max_iter: int = 150):
        self.seed = seed
        self.folds = folds
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y, groups) -> MainScorer:
        y = np.asarray(y, dtype=int)
        splits = list(GroupKFold(n_splits=self.folds).split(X, y, groups))
        # ensemble=False: out-of-fold decisions fit the sigmoid, one pipeline refitted on all rows scores
        self.model_ = CalibratedClassifierCV(
            main_pipeline(self.seed, self.max_iter), method="sigmoid", cv=splits, ensemble=False
        )
        self.model_.fit(X[CATEGORICAL + NUMERIC], y)
        fitted = self.model_.calibrated_classifiers_[0]
        self.pipeline_ = fitted.estimator
        self.calibrator_ = fitted.calibrators[0]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(X[CATEGORICAL + NUMERIC])

    # encoded space: encode once, then predict many perturbed copies cheaply (reasons)
    def encode(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.named_steps["features"].transform(X[CATEGORICAL + NUMERIC])

    def encoded_columns(self) -> list[str]:
        return list(self.pipeline_.named_steps["features"].get_feature_names_out())

    def predict_encoded(self, Z: np.ndarray) -> np.ndarray:
        d = self.pipeline_.named_steps["gbm"].decision_function(Z)
        return np.clip(self.calibrator_.predict(d), 0.0, 1.0)
