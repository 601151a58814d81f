"""Bookings from deals not yet created: a seasonal time series per horizon.

For an origin O (the d-th of month M) and a horizon j, the quantity is Σ amount of the deals created after
the snapshot the open-pipeline part starts from (the last one before O; so no deal falls between the two
parts) and won in month M + j (from O on). Its history is the same quantity at the d-th of every earlier month, known
once month M + j has ended. Holt-Winters exponential smoothing with additive yearly seasonality
(statsmodels) forecasts it from 24 or more known months; with 12 to 23, the seasonal naive (the same month a
year before); with fewer, the mean of what is known.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from models_ml.bookings_forecast import intervals, month_start, state_day

SEASON = 12


@dataclass(frozen=True)
class RunRate:
    forecast: float  # CNY, never below 0
    sigma: float  # CNY, the standard deviation of the method's errors on the known history
    method: str  # ets, seasonal_naive, mean, none


def created_and_won(deals: pd.DataFrame, origin: date, j: int, snapshot_dates: np.ndarray) -> float:
    """Σ amount of deals created after the origin's state snapshot and won in interval j of that origin."""
    start, end = intervals(origin, j + 1)[j]
    seen = state_day(snapshot_dates, origin)
    after = np.datetime64(origin - timedelta(days=1), "ns") if seen is None else seen
    s, e = np.datetime64(start, "ns"), np.datetime64(end, "ns")
    won = deals["won_on"]
    mask = (deals["created_on"] > after) & (won >= s) & (won <= e)
    return float(deals.loc[mask, "amount_cny"].sum())


class RunRates:
    """The run rate of one history at any origin and horizon. Series values and fitted models are kept, so
    the backtest pays for each once; ``known_by`` (default: the origin) lets it reuse a model fitted at an
    earlier refit date, using only what was known then."""

    def __init__(self, deals: pd.DataFrame, first: date, snapshot_dates: np.ndarray) -> None:
        self.deals, self.first, self.snapshot_dates = deals, first, snapshot_dates
        self._values: dict[tuple[date, int], float] = {}
        self._fits: dict[tuple[int, int, date], tuple[object, date | None]] = {}

    def series(self, day: int, j: int, known_by: date) -> pd.Series:
        """The quantity at the given day of every month from ``first`` on whose month M + j ended by
        ``known_by`` (known on known_by − 1), oldest first, indexed by the past origin."""
        out, m = {}, month_start(self.first)
        while True:
            past = m.replace(day=min(day, 28))
            if month_start(past, j + 1) > known_by:  # month M + j not over: not known yet
                break
            if past >= self.first:
                if (past, j) not in self._values:
                    self._values[(past, j)] = created_and_won(self.deals, past, j, self.snapshot_dates)
                out[past] = self._values[(past, j)]
            m = month_start(m, 1)
        return pd.Series(out, dtype=float)

    def at(self, origin: date, j: int, known_by: date | None = None) -> RunRate:
        """The new-pipeline bookings of interval j from the origin (the series is of the origin's day of the
        month, so a mid-month origin's shorter month 0 is built in)."""
        key = (origin.day, j, known_by or origin)
        if key not in self._fits:
            known = self.series(origin.day, j, known_by or origin)
            self._fits[key] = (fit_series(known), known.index[-1] if len(known) else None)
        fitted, last = self._fits[key]
        if last is None:
            return RunRate(0.0, 0.0, "none")
        months_ahead = (origin.year * 12 + origin.month) - (last.year * 12 + last.month)
        return fitted.at(max(months_ahead, 1))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FittedSeries:
    method: str  # ets, seasonal_naive, mean, none
    y: np.ndarray
    ets: object | None = None

    def at(self, steps_ahead: int) -> RunRate:
        """The forecast ``steps_ahead`` months past the last known value (1 = the next month)."""
        y = self.y
        if self.method == "none":
            return RunRate(0.0, 0.0, "none")
        if self.method == "ets":
            f = float(self.ets.forecast(steps_ahead)[-1])  # type: ignore[attr-defined]
            resid = self.ets.resid  # type: ignore[attr-defined]
            sigma = float(np.sqrt(np.mean(np.square(resid)))) * np.sqrt(steps_ahead)
            return RunRate(max(f, 0.0), sigma, "ets")
        if self.method == "seasonal_naive":
            idx = len(y) - SEASON + (steps_ahead - 1) % SEASON
            diffs = y[SEASON:] - y[:-SEASON]
            sigma = float(np.std(diffs)) if len(diffs) > 1 else float(np.std(y))
            return RunRate(max(float(y[idx]), 0.0), sigma, "seasonal_naive")
        return RunRate(float(y.mean()), float(np.std(y)), "mean")


def fit_series(known: pd.Series) -> FittedSeries:
    """Holt-Winters from 24 known months, seasonal naive from 12, the mean below."""
    y = known.to_numpy(dtype=float)
    if len(y) == 0:
        return FittedSeries("none", y)
    if len(y) >= 2 * SEASON:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on short, noisy series
            ets = ExponentialSmoothing(
                y, seasonal="add", seasonal_periods=SEASON, trend="add", damped_trend=True
            ).fit()
        return FittedSeries("ets", y, ets)
    return FittedSeries("seasonal_naive" if len(y) >= SEASON else "mean", y)


def forecast_series(known: pd.Series, steps_ahead: int) -> RunRate:
    """Forecast ``steps_ahead`` months past the last known value (1 = the next month)."""
    return fit_series(known).at(steps_ahead)
