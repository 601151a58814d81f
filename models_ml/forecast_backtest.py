"""``ml.forecast_accuracy``: a rolling-origin backtest of the company's bookings forecast, four methods.

Origins: the 1st of each of the last ``months`` complete months (horizons 0–3: that month and the next three,
where they are complete), and the 8th and 15th (weeks 2 and 3; horizon 0). Each forecast uses only what was
known the day before its origin: the hazard model is refitted every ``refit_months`` months on rows whose
interval had ended by then; the run rate on months that had ended. Actual = bookings of the target month.

Methods (each = won to date + its estimate of the rest):
- ``model``: open deals × P(won in the month) from the hazard model + the run rate of deals not yet created.
- ``stage_default``: Σ amount × stage default (METRICS.md) over open deals expected to close in the month
  from the origin on; what ``mart_forecast`` reports.
- ``markov``: a monthly stage Markov chain fitted on month-start states (stage → stage, won or lost a month
  later); P(won in month j) = (Pʲ⁺¹ − Pʲ)[stage, won], month 0 scaled by the share of it left.
- ``seasonal_naive``: the bookings of the same month a year before (no won-to-date split).

WAPE = Σ|F − A| ÷ ΣA, bias = Σ(F − A) ÷ ΣA. A paired bootstrap over target months compares each baseline
with the model: the share of resamples in which the model's WAPE is lower, and the 90% interval of the
difference.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from models_ml import bookings_forecast as bf
from models_ml.models import STAGE_DEFAULT
from models_ml.run_rate import RunRates

METHODS = ("model", "stage_default", "markov", "seasonal_naive")
ORIGIN_TYPES = {1: "month_start", 8: "week_2", 15: "week_3"}
STATES = (*bf.STAGES, "won", "lost")
BOOTSTRAPS = 2000
ROW_COLUMNS = ["method", "origin", "origin_type", "horizon", "period", "forecast_cny", "actual_cny", "as_of"]
SUMMARY_COLUMNS = [
    "method",
    "origin_type",
    "horizon",
    "periods",
    "wape",
    "bias",
    "wape_minus_model",
    "diff_low",
    "diff_high",
    "share_model_better",
    "as_of",
]


def monthly_bookings(deals: pd.DataFrame) -> pd.Series:
    won = deals.dropna(subset=["won_on"])
    return won.groupby(won["won_on"].dt.to_period("M"))["amount_cny"].sum()


def won_between(deals: pd.DataFrame, start: date, end: date) -> float:
    w = deals["won_on"]
    return float(
        deals.loc[(w >= np.datetime64(start, "ns")) & (w <= np.datetime64(end, "ns")), "amount_cny"].sum()
    )


def markov_matrix(history: bf.History, cutoff: date) -> np.ndarray:
    """Monthly transition probabilities between month-start states, from pairs known by the cut-off."""
    first = pd.Timestamp(history.snapshot_dates[0]).date() + timedelta(days=1)
    starts = bf.origins_between(first, cutoff, (1,))
    counts = np.zeros((len(STATES), len(STATES)))
    d = history.deals.set_index("opportunity_id")
    for a, b in zip(starts, starts[1:], strict=False):
        s = bf.open_at(history, a)
        frm = s["stage"].map({st: i for i, st in enumerate(bf.STAGES)})
        later = bf.open_at(history, b).set_index("opportunity_id")["stage"]
        closed = s["opportunity_id"].map(d["closed_on"])
        won = s["opportunity_id"].map(d["won_on"]).notna()
        to = s["opportunity_id"].map(later).map({st: i for i, st in enumerate(bf.STAGES)})
        gone = closed.notna() & (closed < np.datetime64(b, "ns"))
        to = to.where(~gone, np.where(won, STATES.index("won"), STATES.index("lost")))
        ok = frm.notna() & to.notna()
        np.add.at(counts, (frm[ok].astype(int).to_numpy(), to[ok].astype(int).to_numpy()), 1)
    counts[len(bf.STAGES) :, :] = 0
    for k in range(len(bf.STAGES), len(STATES)):
        counts[k, k] = 1  # won and lost absorb
    rows = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    for k in range(len(STATES)):
        if rows[k, 0] == 0:
            p[k, k] = 1.0
    return p


def markov_win_by_month(p: np.ndarray, horizon: int) -> np.ndarray:
    """stages × horizon: P(won during month j) from each open stage."""
    won = STATES.index("won")
    power = np.eye(len(STATES))
    out = np.zeros((len(bf.STAGES), horizon))
    prev = power[: len(bf.STAGES), won].copy()
    for j in range(horizon):
        power = power @ p
        out[:, j] = power[: len(bf.STAGES), won] - prev
        prev = power[: len(bf.STAGES), won].copy()
    return out


def _origin_forecasts(
    history: bf.History,
    model: bf.HazardModel,
    markov: np.ndarray,
    origin: date,
    horizons: list[int],
    rates: RunRates,
    fitted_at: date,
    bookings: pd.Series,
) -> list[dict]:
    deals = history.deals
    states = bf.open_at(history, origin)
    rows = bf.interval_rows(states, max(horizons) + 1)
    p = bf.win_by_interval(model, rows) if len(rows) else None
    mk = markov_win_by_month(markov, max(horizons) + 1)
    stage_idx = states["stage"].map({st: i for i, st in enumerate(bf.STAGES)})
    start0, end0 = bf.intervals(origin, 1)[0]
    share0 = ((end0 - start0).days + 1) / end0.day  # the share of month 0 still ahead of the origin
    out = []
    for j in horizons:
        start, end = bf.intervals(origin, j + 1)[j]
        period = bf.month_start(start)
        wtd = won_between(deals, period, origin - timedelta(days=1)) if j == 0 else 0.0
        amount = states["amount_cny"].astype(float)
        model_open = (
            float((p[p["j"] == j]["p_won"] * p[p["j"] == j]["amount_cny"]).sum()) if p is not None else 0.0
        )
        new = rates.at(origin, j, known_by=fitted_at.replace(day=origin.day)).forecast
        ecd = states["expected_close_date"]
        due = (ecd >= np.datetime64(start, "ns")) & (ecd <= np.datetime64(end, "ns"))
        stage_p = states["stage"].map(STAGE_DEFAULT).fillna(0.0).astype(float)
        mk_p = stage_idx.map(lambda i, j=j: mk[int(i), j] if pd.notna(i) else 0.0).astype(float)
        if j == 0:
            mk_p = mk_p * share0
        naive = bookings.get(pd.Period(period, "M") - 12, np.nan)
        actual = float(bookings.get(pd.Period(period, "M"), 0.0))
        kind = ORIGIN_TYPES[origin.day]
        for method, f in (
            ("model", wtd + model_open + new),
            ("stage_default", wtd + float((amount[due] * stage_p[due]).sum())),
            ("markov", wtd + float((amount * mk_p).sum())),
            ("seasonal_naive", float(naive)),
        ):
            out.append(
                {
                    "method": method,
                    "origin": origin,
                    "origin_type": kind,
                    "horizon": j,
                    "period": period,
                    "forecast_cny": f,
                    "actual_cny": actual,
                }
            )
    return out


def backtest(
    history: bf.History, as_of: date, months: int = 12, refit_months: int = 3, seed: int = 0
) -> pd.DataFrame:
    """One row per (method, origin, horizon) whose target month had ended by the as-of date."""
    if not len(history.snapshot_dates):
        return pd.DataFrame(columns=ROW_COLUMNS)
    first = pd.Timestamp(history.snapshot_dates[0]).date() + timedelta(days=1)
    last_complete = bf.month_start(as_of + timedelta(days=1), -1)  # the newest month ended by the as-of date
    targets = [bf.month_start(last_complete, -k) for k in range(months - 1, -1, -1)]
    targets = [t for t in targets if t > bf.month_start(first, 12)]  # a year of history before the first
    bookings = monthly_bookings(history.deals)
    out: list[dict] = []
    rates = RunRates(history.deals, first, history.snapshot_dates)
    model = markov = None
    fitted_at: date | None = None
    for t in targets:
        if (
            fitted_at is None
            or (t.year * 12 + t.month) - (fitted_at.year * 12 + fitted_at.month) >= refit_months
        ):
            model = bf.fit_hazard(bf.training_rows(history, t), seed=seed)
            markov = markov_matrix(history, t)
            fitted_at = t
        horizons = [j for j in range(4) if bf.month_start(t, j) <= last_complete]
        assert model is not None and markov is not None
        out += _origin_forecasts(history, model, markov, t, horizons, rates, fitted_at, bookings)
        for day in (8, 15):
            out += _origin_forecasts(
                history, model, markov, t.replace(day=day), [0], rates, fitted_at, bookings
            )
    df = pd.DataFrame(out, columns=ROW_COLUMNS[:-1])
    df["as_of"] = as_of
    return df[ROW_COLUMNS]


def wape(f: np.ndarray, a: np.ndarray) -> float:
    return float(np.abs(f - a).sum() / a.sum()) if a.sum() else float("nan")


def summarise(rows: pd.DataFrame, as_of: date, seed: int = 0) -> pd.DataFrame:
    """WAPE, bias and the paired bootstrap against the model, per method, origin type and horizon."""
    out = []
    rng = np.random.default_rng(seed)
    for (kind, h), part in rows.dropna(subset=["forecast_cny"]).groupby(
        ["origin_type", "horizon"], sort=True
    ):
        wide = part.pivot_table(index="period", columns="method", values="forecast_cny")
        actual = part.groupby("period")["actual_cny"].first().reindex(wide.index).to_numpy()
        n = len(wide)
        draws = rng.integers(0, n, size=(BOOTSTRAPS, n)) if n else np.zeros((0, 0), int)
        m = wide["model"].to_numpy() if "model" in wide else None
        for method in METHODS:
            if method not in wide:
                continue
            ok = wide[method].notna().to_numpy()
            f, a = wide[method].to_numpy()[ok], actual[ok]
            row = {
                "method": method,
                "origin_type": kind,
                "horizon": int(h),
                "periods": int(ok.sum()),
                "wape": wape(f, a),
                "bias": float((f - a).sum() / a.sum()) if a.sum() else float("nan"),
                "wape_minus_model": np.nan,
                "diff_low": np.nan,
                "diff_high": np.nan,
                "share_model_better": np.nan,
            }
            if m is not None and method != "model" and ok.all() and n:
                err_b = np.abs(wide[method].to_numpy()[draws] - actual[draws]).sum(axis=1)
                err_m = np.abs(m[draws] - actual[draws]).sum(axis=1)
                diff = (err_b - err_m) / actual[draws].sum(axis=1)
                row |= {
                    "wape_minus_model": row["wape"] - wape(m, actual),
                    "diff_low": float(np.percentile(diff, 5)),
                    "diff_high": float(np.percentile(diff, 95)),
                    "share_model_better": float((diff > 0).mean()),
                }
            out.append(row)
    df = pd.DataFrame(out, columns=SUMMARY_COLUMNS[:-1])
    df["as_of"] = as_of
    return df[SUMMARY_COLUMNS]
