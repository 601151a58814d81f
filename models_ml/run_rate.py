"""Bookings from deals not yet created: a seasonal time series per horizon.

For an origin O (the d-th of month M) and a horizon j, the quantity is Σ amount of the deals created on or
after O and won in month M + j. Its history is the same quantity at the d-th of every earlier month, known
once month M + j has ended. Holt-Winters exponential smoothing with additive yearly seasonality
(statsmodels) forecasts it from 24 or more known months; with 12 to 23, the seasonal naive (the same month a
year before); with fewer, the mean of what is known.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models_ml.bookings_forecast import intervals, month_start

SEASON = 12


@dataclass(frozen=True)
class RunRate:
    forecast: float  # CNY, never below 0
    sigma: float  # CNY, the standard deviation of the method's errors on the known history
    method: str  # ets, seasonal_naive, mean, none


def created_and_won(deals: pd.DataFrame, origin: date, j: int) -> float:
    """Σ amount of deals created on or after the origin and won in interval j of that origin."""
    start, end = intervals(origin, j + 1)[j]
    o, s, e = (np.datetime64(x, "ns") for x in (origin, start, end))
    won = deals["won_on"]
    mask = (deals["created_on"] >= o) & (won >= s) & (won <= e)
    return float(deals.loc[mask, "amount_cny"].sum())


def history(deals: pd.DataFrame, origin: date, j: int, first: date) -> pd.Series:
    """The quantity at the same day of every month from ``first`` on whose month M + j ended before the
    origin (so known on origin − 1), oldest first, indexed by the past origin."""
    out, m = {}, month_start(first)
    while True:
        past = m.replace(day=min(origin.day, 28))
        if month_start(past, j + 1) > origin:  # month M + j not over by the origin: not known yet
            break
        if past >= first:
            out[past] = created_and_won(deals, past, j)
        m = month_start(m, 1)
    return pd.Series(out, dtype=float)


def forecast_series(known: pd.Series, steps_ahead: int) -> RunRate:
    """Forecast ``steps_ahead`` months past the last known value (1 = the next month)."""
    y = known.to_numpy(dtype=float)
    if len(y) == 0:
        return RunRate(0.0, 0.0, "none")
    if len(y) >= 2 * SEASON:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on short, noisy series
            fit = ExponentialSmoothing(
                y, seasonal="add", seasonal_periods=SEASON, trend="add", damped_trend=True
            ).fit()
        f = float(fit.forecast(steps_ahead)[-1])
        sigma = float(np.sqrt(np.mean(np.square(fit.resid)))) * np.sqrt(steps_ahead)
        return RunRate(max(f, 0.0), sigma, "ets")
    if len(y) >= SEASON:
        idx = len(y) - SEASON + steps_ahead - 1
        f = float(y[idx]) if idx < len(y) else float(y[-SEASON:].mean())
        diffs = y[SEASON:] - y[:-SEASON]
        sigma = float(np.std(diffs)) if len(diffs) > 1 else float(np.std(y))
        return RunRate(max(f, 0.0), sigma, "seasonal_naive")
    return RunRate(float(y.mean()), float(np.std(y)), "mean")


def run_rate(deals: pd.DataFrame, origin: date, j: int, first: date) -> RunRate:
    """The new-pipeline bookings of interval j from the origin, from what was known the day before it."""
    known = history(deals, origin, j, first)
    if known.empty:
        return RunRate(0.0, 0.0, "none")
    last = known.index[-1]
    months_ahead = (origin.year * 12 + origin.month) - (last.year * 12 + last.month)
    # the series is of the same day of the month, so a mid-month origin's shorter month 0 is built in
    return forecast_series(known, max(months_ahead, 1))
