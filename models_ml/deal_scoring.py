"""Deal scoring end to end: training rows, time-based backtest, champion/challenger, scores with reasons.

Labels: a snapshot row is labelled when its deal closed on or before the training cut-off (the as-of
date); only snapshots at least ``label_gap_days`` before the cut-off are used, so that deals still open
at the cut-off (mostly slow, losing ones) do not bias the recent rows. Backtest: train on what was known
``backtest_days`` before the cut-off, test on later snapshots of the other deals (a deal is in one fold).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from threadpoolctl import threadpool_limits

from models_ml import features as F
from models_ml.metrics import calibration_table, evaluate
from models_ml.models import NB_FIELDS, MainScorer, NaiveBayesScorer, stage_default_proba
from models_ml.reasons import contributions, contributions_encoded, explain, reference_values
from models_ml.registry import ModelRegistry

log = logging.getLogger(__name__)
CODE_VERSION = "deal-scoring-1"


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    label_gap_days: int = 90
    backtest_days: int = 180
    min_closed_deals: int = 200
    max_train_rows: int = 60_000
    permutation_rows: int = 4000
    folds: int = 2
    max_iter: int = 150  # boosting rounds of the main model
    threads: int = 1  # OpenMP threads: on a shared 2-core machine one thread is ~10x faster than two


# SALESCOPE_ML_TRAINING=fast (tests, quick demos): a quarter of the boosting rounds and a tenth of the
# permutation-importance rows; the same features, folds, calibration and promotion rules
FAST_TRAINING = TrainConfig(permutation_rows=300, max_train_rows=20_000, max_iter=40)


@dataclass
class DealModel:
    """What is stored in the registry: the scorer, the naive Bayes baseline and reason references."""

    kind: str  # gradient_boosting_calibrated | naive_bayes
    main: MainScorer | None
    baseline: NaiveBayesScorer
    reference: dict
    features: list[str]
    note: str = ""

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.main is not None:
            return self.main.predict_encoded(self.main.encode(X))
        return self.baseline.predict_proba(X)[:, 1]


@dataclass
class TrainResult:
    model: DealModel
    fallback: bool
    message: str
    n_closed_deals: int
    n_training_rows: int
    training_window: tuple[str, str]
    backtest: dict = field(default_factory=dict)  # main (or baseline) metrics
    baselines: dict = field(default_factory=dict)  # {'stage_default': {...}, 'naive_bayes': {...}}
    calibration: pd.DataFrame | None = None
    importance: pd.DataFrame | None = None
    data_hash: str = ""
    seconds: float = 0.0


def _fit(X: pd.DataFrame, y: np.ndarray, cfg: TrainConfig, fallback: bool) -> DealModel:
    nb = NaiveBayesScorer().fit(X, y)
    ref = reference_values(X)
    if fallback:
        return DealModel(
            "naive_bayes",
            None,
            nb,
            ref,
            NB_FIELDS,
            note=f"fewer than {cfg.min_closed_deals} closed deals: naive Bayes baseline scores",
        )
    main = MainScorer(seed=cfg.seed, folds=cfg.folds, max_iter=cfg.max_iter).fit(
        X, y, X["opportunity_id"].to_numpy()
    )
    return DealModel("gradient_boosting_calibrated", main, nb, ref, F.FEATURES)


def _sample(mask: np.ndarray, cap: int, seed: int) -> np.ndarray:
    idx = np.flatnonzero(mask)
    if len(idx) > cap:
        idx = np.sort(np.random.default_rng(seed).choice(idx, cap, replace=False))
    return idx


def data_hash(X: pd.DataFrame, y) -> str:
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(X[F.FEATURES + ["opportunity_id"]], index=False).to_numpy().tobytes())
    h.update(np.asarray(y, dtype=np.int8).tobytes())
    return h.hexdigest()


def train(
    snapshots: pd.DataFrame, outcomes: pd.DataFrame, as_of: date, cfg: TrainConfig | None = None
) -> TrainResult:
    """Train (with backtest) on every snapshot on or before ``as_of`` and outcomes known by ``as_of``."""
    cfg = cfg or TrainConfig()
    with threadpool_limits(limits=cfg.threads, user_api="openmp"):
        return _train(snapshots, outcomes, as_of, cfg)


def _train(snapshots: pd.DataFrame, outcomes: pd.DataFrame, as_of: date, cfg: TrainConfig) -> TrainResult:
    t0 = time.perf_counter()
    snaps = snapshots[pd.to_datetime(snapshots["snapshot_date"]).dt.date <= as_of]
    snaps = snaps.sort_values(["snapshot_date", "opportunity_id"], kind="stable")  # input order never matters
    X = F.build_features(snaps, outcomes)
    sd = pd.to_datetime(X["snapshot_date"])
    y_all = F.label(X, outcomes, as_of)
    cut = pd.Timestamp(as_of - timedelta(days=cfg.label_gap_days))
    train_mask = (y_all.notna() & (sd <= cut)).to_numpy()
    n_closed = int(X.loc[train_mask, "opportunity_id"].nunique())
    fallback = n_closed < cfg.min_closed_deals
    message = (
        f"only {n_closed} closed deals to learn from (fewer than {cfg.min_closed_deals}): "
        "the naive Bayes baseline alone scores the open deals"
        if fallback
        else f"trained on {n_closed} closed deals"
    )

    # backtest: what was known at T, tested on the snapshots after T of the deals closed since
    bt_split = as_of - timedelta(days=cfg.backtest_days)
    y_bt = F.label(X, outcomes, bt_split)
    bt_train = (y_bt.notna() & (sd <= pd.Timestamp(bt_split - timedelta(days=cfg.label_gap_days)))).to_numpy()
    train_deals = set(X.loc[bt_train, "opportunity_id"])
    bt_test = (
        y_all.notna() & (sd > pd.Timestamp(bt_split)) & (sd <= cut) & ~X["opportunity_id"].isin(train_deals)
    ).to_numpy()
    backtest: dict = {}
    baselines: dict = {}
    calib = importance = None
    bt_fallback = int(X.loc[bt_train, "opportunity_id"].nunique()) < cfg.min_closed_deals
    if bt_train.any() and bt_test.any() and len(np.unique(y_bt[bt_train])) == 2:
        tr = _sample(bt_train, cfg.max_train_rows, cfg.seed)
        m = _fit(X.iloc[tr], y_bt.to_numpy()[tr].astype(int), cfg, fallback or bt_fallback)
        Xt = X[bt_test]
        yt = y_all[bt_test].to_numpy().astype(int)
        p = m.predict(Xt)
        backtest = evaluate(yt, p) | {"model_kind": m.kind, "split_date": str(bt_split)}
        baselines = {
            "stage_default": evaluate(yt, stage_default_proba(Xt)),
            "naive_bayes": evaluate(yt, m.baseline.predict_proba(Xt)[:, 1]),
        }
        calib = calibration_table(yt, p)
        if m.main is not None and len(np.unique(yt)) == 2:
            sub = _sample(np.ones(len(Xt), bool), cfg.permutation_rows, cfg.seed)
            # on the encoded columns: the same shuffles and scores as on the raw ones (the encoding is column
            # by column), without encoding every shuffled copy again
            cols = m.main.encoded_columns()
            pi = permutation_importance(
                m.main.encoded_classifier(),
                m.main.encode(Xt.iloc[sub]),
                yt[sub],
                scoring="roc_auc",
                n_repeats=3,
                random_state=cfg.seed,
                n_jobs=1,
            )
            importance = (
                pd.DataFrame(
                    {
                        "feature": cols,
                        "importance_mean": pi.importances_mean,
                        "importance_std": pi.importances_std,
                    }
                )
                .sort_values("importance_mean", ascending=False, kind="stable")
                .reset_index(drop=True)
            )

    idx = _sample(train_mask, cfg.max_train_rows, cfg.seed)
    if len(idx) == 0 or len(np.unique(y_all.to_numpy()[idx])) < 2:
        raise ValueError("no closed deals with both outcomes before the cut-off: nothing to learn from")
    y = y_all.to_numpy()[idx].astype(int)
    model = _fit(X.iloc[idx], y, cfg, fallback)
    window = (str(sd[train_mask].min().date()), str(sd[train_mask].max().date()))
    return TrainResult(
        model=model,
        fallback=fallback,
        message=message,
        n_closed_deals=n_closed,
        n_training_rows=len(idx),
        training_window=window,
        backtest=backtest,
        baselines=baselines,
        calibration=calib,
        importance=importance,
        data_hash=data_hash(X.iloc[idx], y),
        seconds=time.perf_counter() - t0,
    )


def score_frame(
    model: DealModel, X: pd.DataFrame, with_reasons: bool = True, threads: int = 1
) -> pd.DataFrame:
    """win_probability, score 1–99 and reasons (JSON, zh + en) for feature rows."""
    with threadpool_limits(limits=threads, user_api="openmp"):
        return _score_frame(model, X, with_reasons)


def _score_frame(model: DealModel, X: pd.DataFrame, with_reasons: bool) -> pd.DataFrame:
    if len(X) == 0:
        empty = pd.DataFrame(
            {
                "opportunity_id": pd.Series(dtype=object),
                "win_probability": pd.Series(dtype=float),
                "score": pd.Series(dtype=int),
            }
        )
        return empty.assign(reasons=pd.Series(dtype=object)) if with_reasons else empty
    p = np.clip(model.predict(X), 0.0, 1.0)
    out = pd.DataFrame(
        {
            "opportunity_id": X["opportunity_id"].to_numpy(),
            "win_probability": p,
            "score": np.clip(np.rint(p * 100), 1, 99).astype(int),
        }
    )
    if with_reasons:
        Xr = X.reset_index(drop=True)
        if model.main is not None:
            contrib = contributions_encoded(model.main, Xr, model.reference)
        else:
            contrib = contributions(model.predict, Xr, model.reference)
        out["reasons"] = [
            json.dumps(r, ensure_ascii=False) for r in explain(X.reset_index(drop=True), contrib)
        ]
    return out


def open_deal_features(snapshots: pd.DataFrame, outcomes: pd.DataFrame, as_of: date) -> pd.DataFrame:
    snaps = snapshots[pd.to_datetime(snapshots["snapshot_date"]).dt.date == as_of]
    return F.build_features(snaps, outcomes)


def config_hash(cfg: TrainConfig) -> str:
    return hashlib.sha256(json.dumps([CODE_VERSION, asdict(cfg)], sort_keys=True).encode()).hexdigest()


@dataclass
class ScoringRun:
    model_version: str
    fallback: bool
    message: str
    promoted: bool
    promotion_reason: str
    scores: pd.DataFrame
    train: TrainResult | None


def run(
    snapshots: pd.DataFrame,
    outcomes: pd.DataFrame,
    as_of: date,
    models_dir: Path,
    cfg: TrainConfig | None = None,
) -> ScoringRun:
    """Train a challenger, register it, score every open deal with the champion."""
    cfg = cfg or TrainConfig()
    res = train(snapshots, outcomes, as_of, cfg)
    Xo = open_deal_features(snapshots, outcomes, as_of)
    reg = ModelRegistry(models_dir)
    if res.fallback:
        scores = score_frame(res.model, Xo)
        version, promoted, why = "naive_bayes_fallback", False, res.message
    else:
        existing = reg.find(res.data_hash, config_hash(cfg))
        if existing:
            version, promoted, why = (
                existing,
                existing == reg.champion(),
                "same data and settings as " + existing,
            )
        else:
            meta = {
                "model_kind": res.model.kind,
                "as_of": str(as_of),
                "training_window": list(res.training_window),
                "features": res.model.features,
                "n_training_rows": res.n_training_rows,
                "n_closed_deals": res.n_closed_deals,
                "backtest": res.backtest,
                "baselines": res.baselines,
                "data_hash": res.data_hash,
                "config_hash": config_hash(cfg),
                "config": asdict(cfg),
                "training_seconds": round(res.seconds, 2),
            }
            version, promoted, why = reg.register(res.model, meta)
        champion = reg.champion() or version
        model = res.model if champion == version else reg.load(champion)
        scores = score_frame(model, Xo)
        version = champion
    scores.insert(1, "as_of", as_of)
    scores["model_version"] = version
    return ScoringRun(version, res.fallback, res.message, promoted, why, scores, res)


# Retraining on a schedule (reusable_champion): the champion scores until it is due, or until the deals
# closed by the run's as-of date differ by more than this share from those closed by the champion's
DRIFT_CLOSED_SHARE = 0.10


def _closed_by(outcomes: pd.DataFrame, day: date) -> int:
    closed = F.closed_deals(outcomes)
    return int((closed["closed_on"] <= pd.Timestamp(day)).sum())


def reusable_champion(
    models_dir: Path, as_of: date, outcomes: pd.DataFrame, retrain_days: int, cfg: TrainConfig | None = None
) -> tuple[str | None, str]:
    """The champion to score with instead of training (or None) and why: it was trained with the same
    settings 0 to ``retrain_days - 1`` days before ``as_of`` and the deals closed by ``as_of`` are within
    ``DRIFT_CLOSED_SHARE`` of those closed by its as-of date (drift in what there is to learn from)."""
    if retrain_days <= 0:
        return None, "retraining every run (SALESCOPE_ML_RETRAIN_DAYS=0)"
    reg = ModelRegistry(models_dir)
    champion = reg.champion()
    if champion is None:
        return None, "no champion yet"
    meta = reg.metadata(champion)
    if meta.get("config_hash") != config_hash(cfg or TrainConfig()):
        return None, f"{champion} was trained with other settings"
    if not meta.get("as_of"):
        return None, f"{champion} does not record the as-of date it was trained on"
    trained_on = date.fromisoformat(str(meta["as_of"]))
    age = (as_of - trained_on).days
    if age < 0:
        return None, f"{champion} was trained as of {trained_on}, after {as_of}"
    if age >= retrain_days:
        return None, f"{champion} is {age} days old (retrain every {retrain_days})"
    then, now = _closed_by(outcomes, trained_on), _closed_by(outcomes, as_of)
    if then == 0 or abs(now - then) / then > DRIFT_CLOSED_SHARE:
        return None, f"closed deals {then:,} -> {now:,} since {champion} was trained: drift"
    return champion, f"{champion} trained as of {trained_on} ({age} days, retrain every {retrain_days})"


def score_with_champion(
    version: str, why: str, snapshots: pd.DataFrame, outcomes: pd.DataFrame, as_of: date, models_dir: Path
) -> ScoringRun:
    """Score the open deals of ``as_of`` with a registered model, training nothing (``train`` is None)."""
    model = ModelRegistry(models_dir).load(version)
    scores = score_frame(model, open_deal_features(snapshots, outcomes, as_of))
    scores.insert(1, "as_of", as_of)
    scores["model_version"] = version
    return ScoringRun(version, False, "no training this run", False, why, scores, None)


def write_tables(con, run_: ScoringRun, models_dir: Path) -> dict[str, int]:
    """ml.deal_scores, ml.feature_importance, ml.calibration, ml.model_registry, ml.model_metrics."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    res = run_.train
    tables: dict[str, pd.DataFrame] = {
        "deal_scores": run_.scores[
            ["opportunity_id", "as_of", "win_probability", "score", "reasons", "model_version"]
        ]
    }
    if res is not None:  # a model was trained this run: its metrics replace the last ones
        tables |= _training_tables(run_)
    reg = ModelRegistry(models_dir).table()
    if reg.empty:
        reg = pd.DataFrame({"model_version": pd.Series(dtype=str), "is_champion": pd.Series(dtype=bool)})
    tables["model_registry"] = reg
    counts = {}
    for name, df in tables.items():
        write_table(con, f"ml.{name}", df)
        counts[f"ml.{name}"] = len(df)
    return counts


def _training_tables(run_: ScoringRun) -> dict[str, pd.DataFrame]:
    """ml.feature_importance, ml.calibration and ml.model_metrics of the model trained this run (scored with
    the champion, nothing trained: the tables keep what the run that trained it wrote)."""
    res = run_.train
    tables: dict[str, pd.DataFrame] = {}
    imp = (
        res.importance
        if res is not None and res.importance is not None
        else pd.DataFrame(
            {
                "feature": pd.Series(dtype=str),
                "importance_mean": pd.Series(dtype=float),
                "importance_std": pd.Series(dtype=float),
            }
        )
    )
    tables["feature_importance"] = imp.assign(model_version=run_.model_version)
    cal = (
        res.calibration
        if res is not None and res.calibration is not None
        else pd.DataFrame(
            {
                "decile": pd.Series(dtype=int),
                "n": pd.Series(dtype=int),
                "mean_predicted": pd.Series(dtype=float),
                "observed_rate": pd.Series(dtype=float),
            }
        )
    )
    tables["calibration"] = cal.assign(model_version=run_.model_version)
    rows = []
    if res is not None:
        for name, m in [("scorer", res.backtest), *res.baselines.items()]:
            if m:
                rows.append(
                    {"model": name, **{k: v for k, v in m.items() if k not in ("model_kind", "split_date")}}
                )
    tables["model_metrics"] = pd.DataFrame(rows) if rows else pd.DataFrame({"model": pd.Series(dtype=str)})
    return tables


def write_table(con, qualified: str, df: pd.DataFrame) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.register("_ml_frame", df)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {qualified} AS SELECT * FROM _ml_frame")
    finally:
        con.unregister("_ml_frame")
