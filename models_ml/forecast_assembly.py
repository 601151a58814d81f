"""``ml.forecast``: won to date + open pipeline + new pipeline per period, level and group, with an 80% interval.

Periods: the month of the origin (the day after the as-of date) and the next three; its quarter and the
next. Levels: company, region, team, rep (a deal counts for its current owner, team and region). The
interval is simulated: each open deal is won in one interval j or not at all, drawn from its hazard
probabilities; the new-pipeline bookings get the run-rate's error (normal, the method's error deviation),
spread over groups by their share of the last 12 months' bookings. low/high are the 10th and 90th
percentiles of the simulated totals; won to date has no uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import sparse

from models_ml import bookings_forecast as bf
from models_ml.run_rate import RunRates

LEVELS = ("company", "region", "team", "rep")
LEVEL_COLUMN = {"company": None, "region": "region", "team": "team_id", "rep": "owner_user_id"}
COMPONENTS = ("won_to_date", "open_pipeline", "new_pipeline", "total")
SIMULATIONS = 2000
INTERVAL = (10, 90)  # percentiles: an 80% interval
COLUMNS = [
    "period_type",
    "period",
    "period_end",
    "level",
    "group_id",
    "component",
    "forecast_cny",
    "low_cny",
    "high_cny",
    "as_of",
]


@dataclass(frozen=True)
class Period:
    kind: str  # month or quarter
    start: date
    end: date


def periods(origin: date) -> list[Period]:
    months = [
        Period("month", bf.month_start(origin, k), bf.month_start(origin, k + 1) - timedelta(days=1))
        for k in range(4)
    ]
    q0 = bf.month_start(origin, -((origin.month - 1) % 3))
    quarters = [
        Period("quarter", bf.month_start(q0, 3 * k), bf.month_start(q0, 3 * k + 3) - timedelta(days=1))
        for k in range(2)
    ]
    return months + quarters


def _intervals_in(origin: date, p: Period) -> list[int]:
    return [
        j for j, (s, e) in enumerate(bf.intervals(origin, bf.HORIZON_MONTHS)) if s >= p.start and e <= p.end
    ]


def _groups(seen: pd.DataFrame, deals: pd.DataFrame) -> tuple[list[tuple[str, str]], sparse.csr_matrix]:
    """(level, group_id) keys of every group in ``seen`` and a sparse groups × deals 0/1 membership."""
    keys: list[tuple[str, str]] = [("company", "all")]
    for level in LEVELS[1:]:
        keys += [(level, g) for g in sorted(set(seen[LEVEL_COLUMN[level]].astype(str)))]
    index = {k: i for i, k in enumerate(keys)}
    r, c = [], []
    for level in LEVELS:
        col = ["all"] * len(deals) if level == "company" else deals[LEVEL_COLUMN[level]].astype(str).tolist()
        for d, g in enumerate(col):
            r.append(index[(level, g)])
            c.append(d)
    return keys, sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(keys), len(deals)))


def build_forecast(
    history: bf.History,
    model: bf.HazardModel,
    as_of: date,
    seed: int = 0,
    simulations: int = SIMULATIONS,
) -> pd.DataFrame:
    origin = as_of + timedelta(days=1)
    first = pd.Timestamp(history.snapshot_dates[0]).date() if len(history.snapshot_dates) else as_of
    deals = history.deals
    rows = bf.interval_rows(bf.open_at(history, origin))
    p = bf.win_by_interval(model, rows) if len(rows) else rows.assign(p_won=pd.Series(dtype=float))
    # one row per open deal: its amount, groups and P(won in j) for j = 0 … H−1
    prob = p.pivot_table(index="opportunity_id", columns="j", values="p_won", aggfunc="sum").reindex(
        columns=range(bf.HORIZON_MONTHS), fill_value=0.0
    )
    prob = prob.fillna(0.0)
    info = deals.set_index("opportunity_id").reindex(prob.index)
    amount = p.groupby("opportunity_id")["amount_cny"].first().reindex(prob.index).to_numpy(dtype=float)
    won_day = deals["won_on"]
    day = np.datetime64(as_of, "ns")
    last_year = (won_day > np.datetime64(as_of - timedelta(days=365), "ns")) & (won_day <= day)
    # the groups: those with an open deal or a booking in the last 12 months (which covers won to date)
    keys, member = _groups(pd.concat([info.reset_index(), deals[last_year]]), info.reset_index())
    share = _shares(deals[last_year], keys)
    rates = RunRates(deals, first, history.snapshot_dates)
    rr = [rates.at(origin, j) for j in range(bf.HORIZON_MONTHS)]

    rng = np.random.default_rng(seed)
    # one uniform draw per deal and simulation: the deal is won in interval j when it falls in
    # [cum(j−1), cum(j)) of its cumulative probabilities (above the last: not won within the horizon)
    pm = prob.to_numpy()
    cum = np.hstack([np.zeros((len(pm), 1)), np.cumsum(pm, axis=1)])
    u = rng.random((len(pm), simulations), dtype=np.float32)
    noise = rng.standard_normal((bf.HORIZON_MONTHS, simulations))

    out: list[pd.DataFrame] = []
    for per in periods(origin):
        js = _intervals_in(origin, per)
        if js:  # the period's intervals are consecutive: one range of the cumulative probabilities
            in_p = (u >= cum[:, js[0], None]) & (u < cum[:, js[-1] + 1, None])
        else:
            in_p = np.zeros(u.shape, dtype=bool)
        open_sims = member @ (in_p * amount[:, None])  # groups × simulations
        open_mean = member @ (pm[:, js].sum(axis=1) * amount) if js else np.zeros(len(keys))
        new_mean_co = sum(rr[j].forecast for j in js)
        new_sims_co = np.clip(
            sum(rr[j].forecast + rr[j].sigma * noise[j] for j in js) if js else np.zeros(simulations), 0, None
        )
        new_mean = share * new_mean_co
        new_sims = share[:, None] * new_sims_co[None, :]
        wtd_mask = (won_day >= np.datetime64(per.start, "ns")) & (won_day <= day)
        wtd = _by_group(deals[wtd_mask], keys)
        total_sims = wtd[:, None] + open_sims + new_sims
        # every group at once: percentiles along the simulations
        lo_o, hi_o = np.percentile(open_sims, INTERVAL, axis=1)
        lo_n, hi_n = np.percentile(new_sims, INTERVAL, axis=1)
        lo_t, hi_t = np.percentile(total_sims, INTERVAL, axis=1)
        levels, groups = [k[0] for k in keys], [k[1] for k in keys]
        for component, mean, low, high in (
            ("won_to_date", wtd, wtd, wtd),
            ("open_pipeline", open_mean, lo_o, hi_o),
            ("new_pipeline", new_mean, lo_n, hi_n),
            ("total", wtd + open_mean + new_mean, lo_t, hi_t),
        ):
            out.append(
                pd.DataFrame(
                    {
                        "period_type": per.kind,
                        "period": per.start,
                        "period_end": per.end,
                        "level": levels,
                        "group_id": groups,
                        "component": component,
                        "forecast_cny": np.asarray(mean, dtype=float),
                        "low_cny": np.asarray(low, dtype=float),
                        "high_cny": np.asarray(high, dtype=float),
                    }
                )
            )
    order = {c: i for i, c in enumerate(COMPONENTS)}
    df = pd.concat(out, ignore_index=True)
    # one block per (period, group), its components in COMPONENTS order
    df = df.sort_values(
        ["period_type", "period", "level", "group_id", "component"],
        key=lambda c: c.map(order) if c.name == "component" else c,
        kind="stable",
    ).reset_index(drop=True)
    df["as_of"] = as_of
    return df[COLUMNS]


def _by_group(deals: pd.DataFrame, keys: list[tuple[str, str]]) -> np.ndarray:
    """Σ amount per (level, group) key."""
    totals = {("company", "all"): float(deals["amount_cny"].sum())}
    for level in LEVELS[1:]:
        for gid, v in deals.groupby(deals[LEVEL_COLUMN[level]].astype(str))["amount_cny"].sum().items():
            totals[(level, str(gid))] = float(v)
    return np.array([totals.get(k, 0.0) for k in keys])


def _shares(deals: pd.DataFrame, keys: list[tuple[str, str]]) -> np.ndarray:
    """Each group's share of the last 12 months' bookings (the company's is 1)."""
    sums = _by_group(deals, keys)
    return sums / sums[0] if sums[0] > 0 else np.where(np.array([k[0] == "company" for k in keys]), 1.0, 0.0)


__all__ = ["COLUMNS", "COMPONENTS", "LEVELS", "Period", "build_forecast", "periods"]
