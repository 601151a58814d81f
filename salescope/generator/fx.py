"""Daily exchange rates: CNY per unit of USD, EUR and HKD (CNY itself is 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from salescope.generator import tables
from salescope.generator.accounts import CURRENCIES
from salescope.generator.rng import stream

CENTERS = {"CNY": 1.0, "USD": 7.2, "EUR": 7.8, "HKD": 0.92}


@dataclass
class Fx:
    first_day: int
    rates: np.ndarray  # (currency index, day - first_day) -> CNY per unit

    def rate(self, currency: np.ndarray, day: np.ndarray) -> np.ndarray:
        d = np.clip(np.asarray(day, dtype=np.int64) - self.first_day, 0, self.rates.shape[1] - 1)
        return self.rates[np.asarray(currency, dtype=np.int64), d]

    def table(self, last_day: int) -> pa.Table:
        n_days = last_day - self.first_day + 1
        k = len(CURRENCIES)
        day = np.repeat(np.arange(self.first_day, last_day + 1), k)
        cur = np.tile(np.arange(k), n_days)
        return tables.build(
            "fx_rates",
            {
                "rate_date": tables.dates(day),
                "currency": tables.codes(CURRENCIES, cur),
                "rate_to_cny": tables.floats(self.rates[cur, day - self.first_day]),
            },
        )


def build_fx(seed: int, first_day: int, last_day: int) -> Fx:
    """A mean-reverting random walk (in logs) around each currency's centre, rounded to 4 places."""
    rng = stream(seed, "fx")
    n = last_day - first_day + 1
    rates = np.ones((len(CURRENCIES), n))
    theta, sigma = 0.004, 0.0035
    for i, code in enumerate(CURRENCIES):
        if code == "CNY":
            continue
        mu = np.log(CENTERS[code])
        shocks = rng.normal(0.0, sigma, size=n)
        x = np.empty(n)
        x[0] = mu + rng.normal(0.0, 0.02)
        for t in range(1, n):
            x[t] = x[t - 1] + theta * (mu - x[t - 1]) + shocks[t]
        rates[i] = np.round(np.exp(x), 4)
    return Fx(first_day=first_day, rates=rates)
