"""Bookings forecast = won to date + open pipeline closing in the period + deals not yet created.

The open-pipeline part is a discrete-time hazard model with competing outcomes. A forecast is made at an
*origin* O (the first day not yet known; O − 1 is the as-of date): the deals open at O, in their state on the
last weekly snapshot before O, and for each the calendar intervals j = 0 (O to the end of O's month), 1, 2, …
(the following months). One classifier gives, for a deal still open at the start of interval j, the
probability that it is won in j, lost in j or still open at j's end: h_won(j), h_lost(j). Then

    P(won in j | open at O) = h_won(j) × Π_{k<j} (1 − h_won(k) − h_lost(k))

Training rows are the same (deal, interval) rows built at past origins (the 1st, 8th and 15th of every
month), kept only where the interval ended before the training cut-off, so a deal that is still open is
censored, not counted as a loss. The deal-not-yet-created part is ``run_rate``; assembly, levels and the
interval are ``forecast_periods``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

HORIZON_MONTHS = 6  # O's month and five more: the next quarter ends within them from any month
ORIGIN_DAYS = (1, 8, 15)  # past origins the model learns from: month start and weeks 2 and 3
OPEN, WON, LOST = 0, 1, 2
# the first origins see only young deals (the history starts at the data's first day, so every deal open then
# was created in its first weeks): training starts this many days in
BURN_IN_DAYS = 180
MAX_TRAIN_STATES = 150_000  # (deal, origin) pairs expanded into interval rows; a seeded sample above
MAX_TRAIN_ROWS = 150_000  # a seeded sample above this: the probabilities stay unbiased, the fit stays quick
STAGES = ("initial_contact", "needs_confirmed", "proposal", "negotiation")
SNAPSHOT_COLUMNS = (
    "opportunity_id, snapshot_date, stage, CAST(amount_cny AS DOUBLE) AS amount_cny, expected_close_date, "
    "days_in_stage, deal_age_days, push_count, regression_count, amount_change_count, touchpoints_30d, "
    "days_since_last_touch, has_proposal_doc, has_demo, has_decision_maker_contact"
)
FEATURES = [
    "stage_code",
    "days_in_stage",
    "deal_age_days",
    "log_amount",
    "push_count",
    "regression_count",
    "amount_change_count",
    "touchpoints_30d",
    "days_since_last_touch",
    "has_proposal_doc",
    "has_demo",
    "has_decision_maker_contact",
    "j",
    "interval_share",
    "days_to_interval",
    "close_from_start",
    "close_to_end",
    "month_in_quarter",
]


@dataclass
class History:
    """What the forecast reads: the weekly snapshots and each deal's outcome (dates as datetime64[ns]).
    The backtest asks for the same origins many times: their open deals are computed once."""

    snapshots: pd.DataFrame  # SNAPSHOT_COLUMNS
    # opportunity_id, owner_user_id, team_id, region, amount_cny, created_on, won_on, closed_on
    deals: pd.DataFrame
    _open: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.snapshot_dates = np.sort(self.snapshots["snapshot_date"].unique())
        self._rows_by_date = self.snapshots.groupby("snapshot_date").indices
        self.closed_on = self.deals.set_index("opportunity_id")["closed_on"]


def load_history(con) -> History:
    snaps = con.execute(f"SELECT {SNAPSHOT_COLUMNS} FROM marts.fct_pipeline_snapshots").df()
    snaps["snapshot_date"] = pd.to_datetime(snaps["snapshot_date"]).astype("datetime64[ns]")
    snaps["expected_close_date"] = pd.to_datetime(snaps["expected_close_date"]).astype("datetime64[ns]")
    deals = con.execute(
        """SELECT opportunity_id, coalesce(owner_user_id, 'unassigned') AS owner_user_id,
                  coalesce(team_id, 'unassigned') AS team_id, coalesce(region, 'unassigned') AS region,
                  CAST(amount_cny AS DOUBLE) AS amount_cny, CAST(created_at AS DATE) AS created_on,
                  CAST(won_at AS DATE) AS won_on, CAST(coalesce(won_at, lost_at) AS DATE) AS closed_on
           FROM marts.fct_opportunities"""
    ).df()
    for c in ("created_on", "won_on", "closed_on"):
        deals[c] = pd.to_datetime(deals[c]).astype("datetime64[ns]")
    return History(snaps, deals)


def month_start(d: date, months: int = 0) -> date:
    m = d.year * 12 + d.month - 1 + months
    return date(m // 12, m % 12 + 1, 1)


def origins_between(first: date, last: date, days: tuple[int, ...] = ORIGIN_DAYS) -> list[date]:
    """Every origin on the given days of the month in [first, last]."""
    out, m = [], month_start(first)
    while m <= last:
        out += [m.replace(day=d) for d in days if first <= m.replace(day=d) <= last]
        m = month_start(m, 1)
    return out


def state_day(snapshot_dates: np.ndarray, origin: date) -> np.datetime64 | None:
    """The last snapshot date before the origin: the state a forecast made at the origin starts from."""
    dates = snapshot_dates[snapshot_dates <= np.datetime64(origin - timedelta(days=1), "ns")]
    return dates[-1] if len(dates) else None


def open_at(history: History, origin: date) -> pd.DataFrame:
    """The deals open at the origin, in their state on the last snapshot before it (ages moved to O − 1).
    Deals created after that snapshot are left to the new-pipeline run rate (``run_rate``)."""
    if origin in history._open:
        return history._open[origin]
    day_before = np.datetime64(origin - timedelta(days=1), "ns")
    snap_day = state_day(history.snapshot_dates, origin)
    if snap_day is None:
        return history.snapshots.iloc[0:0].assign(origin=pd.Series(dtype="datetime64[ns]"))
    s = history.snapshots.iloc[history._rows_by_date[snap_day]]
    closed_before = s["opportunity_id"].map(history.closed_on) <= day_before
    s = s[~closed_before.fillna(False).to_numpy()].copy()
    stale = int((day_before - snap_day) / np.timedelta64(1, "D"))
    for c in ("days_in_stage", "deal_age_days"):
        s[c] = s[c].astype(float) + stale
    s["origin"] = np.datetime64(origin, "ns")
    history._open[origin] = s
    return s


def intervals(origin: date, horizon: int = HORIZON_MONTHS) -> list[tuple[date, date]]:
    """[start, end] of interval j = 0 (origin to its month's end), then whole months."""
    out = []
    for j in range(horizon):
        start = origin if j == 0 else month_start(origin, j)
        out.append((start, month_start(origin, j + 1) - timedelta(days=1)))
    return out


def interval_rows(states: pd.DataFrame, horizon: int = HORIZON_MONTHS) -> pd.DataFrame:
    """One row per (deal open at its origin, interval j) with the model's features."""
    if states.empty:
        return states.iloc[0:0]
    spans = []  # one row per (origin, j): the interval and its deal-independent features
    for origin in states["origin"].unique():
        o = pd.Timestamp(origin).date()
        for j, (start, end) in enumerate(intervals(o, horizon)):
            spans.append(
                {
                    "origin": origin,
                    "j": j,
                    "start": np.datetime64(start, "ns"),
                    "end": np.datetime64(end, "ns"),
                    "interval_share": ((end - start).days + 1) / end.day,
                    "days_to_interval": (start - o).days,
                    "month_in_quarter": (start.month - 1) % 3 + 1,
                }
            )
    rows = states.merge(pd.DataFrame(spans), on="origin", how="inner")
    ecd = rows["expected_close_date"]
    rows["close_from_start"] = ((ecd - rows["start"]) / np.timedelta64(1, "D")).astype(float)
    rows["close_to_end"] = ((ecd - rows["end"]) / np.timedelta64(1, "D")).astype(float)
    rows["stage_code"] = rows["stage"].map({s: i for i, s in enumerate(STAGES)}).fillna(len(STAGES))
    rows["log_amount"] = np.log1p(rows["amount_cny"].astype(float).clip(lower=0))
    for c in ("has_proposal_doc", "has_demo", "has_decision_maker_contact"):
        rows[c] = rows[c].astype("boolean").fillna(False).astype(float)
    for c in ("push_count", "regression_count", "amount_change_count", "touchpoints_30d"):
        rows[c] = pd.to_numeric(rows[c], errors="coerce").astype(float)
    dslt = pd.to_numeric(rows["days_since_last_touch"], errors="coerce").astype(float)
    rows["days_since_last_touch"] = dslt.fillna(rows["deal_age_days"])
    return rows


def label_rows(rows: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    """Each row's outcome in its interval; rows of deals already closed before the interval are dropped."""
    d = deals.set_index("opportunity_id")
    closed = rows["opportunity_id"].map(d["closed_on"])
    won = rows["opportunity_id"].map(d["won_on"]).notna()
    at_risk = closed.isna() | (closed >= rows["start"])
    rows = rows[at_risk.to_numpy()].copy()
    closed, won = closed[at_risk], won[at_risk]
    inside = (closed >= rows["start"]) & (closed <= rows["end"])
    rows["outcome"] = np.where(inside & won, WON, np.where(inside, LOST, OPEN))
    return rows


def training_rows(
    history: History, cutoff: date, horizon: int = HORIZON_MONTHS, seed: int = 0
) -> pd.DataFrame:
    """Labelled rows of every past origin whose interval ended before the cut-off (known on cut-off − 1).
    Above MAX_TRAIN_STATES (deal, origin) pairs a seeded sample of them is expanded (large drops)."""
    dates = history.snapshot_dates
    if not len(dates):
        return pd.DataFrame()
    first = pd.Timestamp(dates[0]).date() + timedelta(days=1 + BURN_IN_DAYS)
    origins = origins_between(first, cutoff - timedelta(days=1))
    states = pd.concat([open_at(history, o) for o in origins], ignore_index=True) if origins else None
    if states is None or states.empty:
        return pd.DataFrame()
    if len(states) > MAX_TRAIN_STATES:
        states = states.sample(MAX_TRAIN_STATES, random_state=seed)
    rows = interval_rows(states, horizon)
    rows = rows[rows["end"] < np.datetime64(cutoff, "ns")]
    return label_rows(rows, history.deals)


@dataclass
class HazardModel:
    classifier: HistGradientBoostingClassifier | None
    base_rates: np.ndarray  # class shares, used when too few rows to fit
    classes: np.ndarray

    def hazards(self, rows: pd.DataFrame) -> np.ndarray:
        """n × 3 (open, won, lost) probabilities for each row's interval."""
        out = np.zeros((len(rows), 3))
        if self.classifier is None or not len(rows):
            out[:] = self.base_rates
            return out
        p = self.classifier.predict_proba(rows[FEATURES].to_numpy(dtype=float))
        for k, c in enumerate(self.classes):
            out[:, int(c)] = p[:, k]
        return out


def fit_hazard(train: pd.DataFrame, seed: int = 0) -> HazardModel:
    counts = np.bincount(train["outcome"].to_numpy(dtype=int), minlength=3) if len(train) else np.zeros(3)
    base = (counts + 1.0) / (counts.sum() + 3.0)
    if len(train) < 200 or (counts > 0).sum() < 2:
        return HazardModel(None, base, np.arange(3))
    if len(train) > MAX_TRAIN_ROWS:
        train = train.sample(MAX_TRAIN_ROWS, random_state=seed)
    clf = HistGradientBoostingClassifier(
        # a tree's fixed cost dominates on small data, which also needs fewer trees
        max_iter=int(np.clip(len(train) // 1000, 20, 80)),
        learning_rate=0.15,
        max_leaf_nodes=31 if len(train) >= 50_000 else 15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=[0],
        early_stopping=False,
        random_state=seed,
    )
    # one OpenMP thread: its threads spin-wait at every split, so when anything else wants the 2 cores (dbt of
    # a parallel run, the tests' other worker) a 150,000-row fit took 30-63 s on 2 threads against 6 s on one
    # (scale 1, measured; 2026-12-03). On small data the start-up per split costs more than it saves anyway
    with threadpool_limits(limits=1, user_api="openmp"):
        clf.fit(train[FEATURES].to_numpy(dtype=float), train["outcome"].to_numpy(dtype=int))
    return HazardModel(clf, base, clf.classes_)


def win_by_interval(model: HazardModel, rows: pd.DataFrame) -> pd.DataFrame:
    """P(won in interval j | open at the origin) for each (deal, j) row of ``interval_rows``."""
    rows = rows.sort_values(["origin", "opportunity_id", "j"]).reset_index(drop=True)
    h = model.hazards(rows)
    stay = np.clip(h[:, OPEN], 0.0, 1.0)
    # survival to the start of j: the product of the earlier intervals' "still open" (per deal and origin)
    log_stay = pd.Series(np.log(np.maximum(stay, 1e-12)))
    key = [rows["origin"], rows["opportunity_id"]]
    before = log_stay.groupby(key).cumsum() - log_stay
    rows["p_won"] = np.exp(before.to_numpy()) * h[:, WON]
    return rows
