"""Calendar arithmetic on day numbers (days since 1970-01-01) and second timestamps.

Times are naive wall-clock times in Asia/Shanghai: ``ts = day * 86400 + seconds_of_day``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

DAY = 86400
EPOCH = date(1970, 1, 1)
BUSINESS_START = 9 * 3600  # working hours used for timestamps of business events
BUSINESS_END = 19 * 3600


def day_of(d: date) -> int:
    return (d - EPOCH).days


def date_of(day: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + int(day))


def month_start(days: np.ndarray) -> np.ndarray:
    """Day number of the first of the month of each day."""
    return (
        np.asarray(days)
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def add_months(days: np.ndarray, months) -> np.ndarray:
    """First of the month ``months`` after the month of each day."""
    m = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]") + np.asarray(months)
    return m.astype("datetime64[D]").astype(np.int64)


def quarter_start(days: np.ndarray) -> np.ndarray:
    m = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return (m - m % 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday)."""
    return (np.asarray(days) + 3) % 7


def business_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds of the day within working hours, whole minutes."""
    return (rng.integers(BUSINESS_START // 60, BUSINESS_END // 60, size=n) * 60).astype(np.int64)


@dataclass(frozen=True)
class Timeline:
    """The export window: data from ``start`` (about three years before) up to ``as_of``.

    The simulation runs on past ``as_of`` (to ``horizon``) so the truth files can tell what happened
    next; the export then cuts everything after ``as_of``.
    """

    as_of: date

    @property
    def as_of_day(self) -> int:
        return day_of(self.as_of)

    @property
    def start_day(self) -> int:
        """First of the month about three years before as_of (2026-06-30 -> 2023-07-01)."""
        d = self.as_of
        try:
            back = d.replace(year=d.year - 3)
        except ValueError:  # 29 February
            back = d.replace(year=d.year - 3, day=28)
        return int(month_start(np.array([day_of(back) + 1]))[0])

    @property
    def cutoff_ts(self) -> int:
        """First second after the as-of day: exported timestamps are strictly below it."""
        return (self.as_of_day + 1) * DAY

    @property
    def horizon_day(self) -> int:
        """End of the simulated future used for the truth files (12 months after as_of)."""
        return self.as_of_day + 365

    @property
    def span_days(self) -> int:
        return self.as_of_day - self.start_day
