"""ML-weighted pipeline per expected-close month, and its backtested accuracy beside the stage default.

Backtest (METRICS.md, forecast accuracy): for each month M after the backtest split, forecast(M) = the
weighted pipeline as of M's first day (deals open on the last snapshot before it, expected to close in M;
bookings to date are 0 on the first day), weighted by the backtest model (trained only on what was known at
the split) and by the stage default; actual(M) = bookings of M (every deal won in M). Absolute percentage
error per month for both weightings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models_ml.models import stage_default_proba


def pipeline_forecast(scored_open: pd.DataFrame) -> pd.DataFrame:
    """scored_open: opportunity_id, amount_cny, expected_close_date, stage, win_probability."""
    df = scored_open.copy()
    df["period"] = pd.to_datetime(df["expected_close_date"]).dt.to_period("M").dt.start_time.dt.date
    df["stage_p"] = stage_default_proba(df)
    g = df.groupby("period", dropna=False)
    out = pd.DataFrame({
        "open_deals": g.size(),
        "open_pipeline_cny": g["amount_cny"].sum(),
        "ml_weighted_cny": g.apply(lambda x: float((x["amount_cny"] * x["win_probability"]).sum()), include_groups=False),
        "stage_weighted_cny": g.apply(lambda x: float((x["amount_cny"] * x["stage_p"]).sum()), include_groups=False),
    }).reset_index()
    return out.sort_values("period").reset_index(drop=True)


def backtest(features: pd.DataFrame, probability: np.ndarray, outcomes: pd.DataFrame, months: int = 6) -> pd.DataFrame:
    """features: snapshot feature rows (any dates) with their model probability; outcomes: fct_opportunities."""
    df = features[["opportunity_id", "snapshot_date", "stage", "amount_cny", "expected_close_date"]].copy()
    df["p"] = probability
    df["stage_p"] = stage_default_proba(df)
    df["snapshot_date"] = pd.to_datetime(df["snapshot_date"])
    won = outcomes[outcomes["is_won"].astype(bool)]
    won_at = pd.to_datetime(won["won_at"])
    won_amount = won["amount_cny"].astype(float)
    rows = []
    for m0 in sorted(df["snapshot_date"].dt.to_period("M").unique())[-months - 1:-1]:
        start = m0.start_time
        end = m0.end_time.normalize()
        snaps = df[df["snapshot_date"] < start]
        if snaps.empty:
            continue
        last = snaps[snaps["snapshot_date"] == snaps["snapshot_date"].max()]
        ecd = pd.to_datetime(last["expected_close_date"])
        due = last[(ecd >= start) & (ecd <= end)]
        actual = float(won_amount[(won_at >= start) & (won_at < end + pd.Timedelta(days=1))].sum())
        ml = float((due["amount_cny"] * due["p"]).sum())
        st = float((due["amount_cny"] * due["stage_p"]).sum())
        rows.append({"period": start.date(), "actual_cny": actual, "ml_forecast_cny": ml, "stage_forecast_cny": st,
                     "ml_ape": abs(ml - actual) / actual if actual else np.nan,
                     "stage_ape": abs(st - actual) / actual if actual else np.nan})
    return pd.DataFrame(rows, columns=["period", "actual_cny", "ml_forecast_cny", "stage_forecast_cny", "ml_ape", "stage_ape"])
