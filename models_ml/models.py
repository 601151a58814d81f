"""The deal-scoring models: stage default, Odoo-style naive Bayes, and the calibrated main model."""

from __future__ import annotations

import copy
import csv
from collections.abc import Sequence
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

    def encoded_classifier(self) -> CalibratedClassifierCV:
        """The calibrated model for encoded rows (``encode``'s output): the same predict_proba as ``model_``
        on the raw rows, without encoding them again (permutation importance permutes encoded columns)."""
        clf = copy.copy(self.model_)
        fitted = copy.copy(self.model_.calibrated_classifiers_[0])
        fitted.estimator = self.pipeline_.named_steps["gbm"]
        clf.calibrated_classifiers_ = [fitted]
        return clf

    def predict_replaced(
        self,
        Z: np.ndarray,
        zref: np.ndarray,
        replacements: Sequence[tuple[Sequence[int], np.ndarray]],
        chunk: int = 32_768,
    ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """``predict_encoded(Z)`` and, per (columns, rows) of ``replacements``, ``predict_encoded`` of
        ``Z[rows]`` with those columns set to ``zref``'s values: the same numbers bit for bit (each row's
        leaf values added in the same order as scikit-learn does), with fewer trees walked: a tree that never
        splits on the replaced columns gives a row the leaf it gave the row unchanged. ``chunk`` rows at a
        time keep every tree's leaf values (150 trees: 39 MB).

        None when the fitted booster does not expose its trees the way scikit-learn 1.9 does: the caller
        then predicts the replaced copies with ``predict_encoded``."""
        gbm = self.pipeline_.named_steps["gbm"]
        try:
            if gbm.n_trees_per_iteration_ != 1:
                return None
            trees = [it[0] for it in gbm._predictors]
            baseline = gbm._baseline_prediction.ravel()[0]
            bitsets, f_idx_map = gbm._bin_mapper.make_known_categories_bitsets()
            position = _preprocessed_positions(gbm, Z.shape[1])
            X = gbm._preprocess_X(Z, reset=False)
            xref = gbm._preprocess_X(zref.reshape(1, -1), reset=False)[0]
            splits_on = [set(t.nodes["feature_idx"][t.nodes["is_leaf"] == 0].tolist()) for t in trees]
        except AttributeError:
            return None

        def leaves(tree, rows: np.ndarray) -> np.ndarray:  # one thread: OpenMP start-up per call costs more
            return tree.predict(rows, known_cat_bitsets=bitsets, f_idx_map=f_idx_map, n_threads=1)

        def proba(raw: np.ndarray) -> np.ndarray:
            return np.clip(self.calibrator_.predict(raw), 0.0, 1.0)

        n = len(X)
        base = np.empty(n)
        replaced = [np.empty(len(rows)) for _, rows in replacements]
        cols_p = [np.array([position[j] for j in cols]) for cols, _ in replacements]
        walk = [[k for k, used in enumerate(splits_on) if used.intersection(c.tolist())] for c in cols_p]
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            Xc = X[start:stop]
            leaf = np.empty((len(trees), stop - start))
            raw = np.zeros(stop - start)
            raw += baseline
            for k, tree in enumerate(trees):
                leaf[k] = leaves(tree, Xc)
                raw += leaf[k]
            base[start:stop] = proba(raw)
            for r, (_, rows) in enumerate(replacements):
                sel = (rows >= start) & (rows < stop)
                local = rows[sel] - start
                if not len(local):
                    continue
                Xg = Xc[local]
                Xg[:, cols_p[r]] = xref[cols_p[r]]
                again = set(walk[r])
                raw = np.zeros(len(local))
                raw += baseline
                for k, tree in enumerate(trees):
                    raw += leaves(tree, Xg) if k in again else leaf[k, local]
                replaced[r][sel] = proba(raw)
        return base, replaced


def _preprocessed_positions(gbm: HistGradientBoostingClassifier, n_features: int) -> dict[int, int]:
    """{column of the booster's input: column of the matrix its trees read} (categorical columns first)."""
    pre = gbm._preprocessor
    if pre is None:
        return {j: j for j in range(n_features)}
    order: list[int] = []
    for _, transformer, cols in pre.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        order.extend(np.arange(n_features)[cols].tolist())
    return {j: k for k, j in enumerate(order)}
