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
    out = pd.DataFrame(
        {
            "open_deals": g.size(),
            "open_pipeline_cny": g["amount_cny"].sum(),
            "ml_weighted_cny": g.apply(
                lambda x: float((x["amount_cny"] * x["win_probability"]).sum()), include_groups=False
            ),
            "stage_weighted_cny": g.apply(
                lambda x: float((x["amount_cny"] * x["stage_p"]).sum()), include_groups=False
            ),
        }
    ).reset_index()
    return out.sort_values("period").reset_index(drop=True)


def backtest(
    features: pd.DataFrame, probability: np.ndarray, outcomes: pd.DataFrame, months: int = 6
) -> pd.DataFrame:
    """features: snapshot feature rows (any dates) with their model probability; outcomes: fct_opportunities."""
    df = features[["opportunity_id", "snapshot_date", "stage", "amount_cny", "expected_close_date"]].copy()
    df["p"] = probability
    df["stage_p"] = stage_default_proba(df)
    df["snapshot_date"] = pd.to_datetime(df["snapshot_date"])
    won = outcomes[outcomes["is_won"].astype(bool)]
    won_at = pd.to_datetime(won["won_at"])
    won_amount = won["amount_cny"].astype(float)
    rows = []
    for m0 in sorted(df["snapshot_date"].dt.to_period("M").unique())[-months - 1 : -1]:
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
        rows.append(
            {
                "period": start.date(),
                "actual_cny": actual,
                "ml_forecast_cny": ml,
                "stage_forecast_cny": st,
                "ml_ape": abs(ml - actual) / actual if actual else np.nan,
                "stage_ape": abs(st - actual) / actual if actual else np.nan,
            }
        )
    return pd.DataFrame(
        rows, columns=["period", "actual_cny", "ml_forecast_cny", "stage_forecast_cny", "ml_ape", "stage_ape"]
    )


def ml_weighted_forecast(con, as_of) -> pd.DataFrame:
    """The ML-weighted pipeline and current forecast of every mart_forecast row looked at on the as-of date.

    METRICS.md, weighted pipeline: Σ amount × win probability, the ML score where present (``ml.deal_scores``
    of this as-of date), else the stage default (the seed CSV). The deals and their state on the as-of date
    are those of ``marts.fct_pipeline_snapshots`` (the same deal-state definition mart_forecast uses), so a
    deal without a score weighs exactly as in ``marts.mart_forecast``. One row per (period_type, period_start,
    level, group_id) whose reference_date is the as-of date; periods that ended before it keep the mart's
    stage-default figures (no score existed then).
    """
    from models_ml.features import table_exists
    from models_ml.models import STAGE_DEFAULT

    # the stage defaults as a VALUES list of parameters (no registered frame: a registration fails while the
    # connection holds an unfinished result, as table_exists leaves one)
    params: dict[str, object] = {"as_of": as_of}
    rows = []
    for i, (stage, p) in enumerate(STAGE_DEFAULT.items()):
        params[f"s{i}"], params[f"p{i}"] = stage, float(p)
        rows.append(f"($s{i}, CAST($p{i} AS DOUBLE))")
    scores = (
        "SELECT opportunity_id, max(CAST(win_probability AS DOUBLE)) AS win_probability FROM ml.deal_scores "
        "WHERE win_probability BETWEEN 0 AND 1 AND CAST(as_of AS DATE) = $as_of GROUP BY opportunity_id"
        if table_exists(con, "ml.deal_scores")
        else "SELECT CAST(NULL AS VARCHAR) AS opportunity_id, CAST(NULL AS DOUBLE) AS win_probability LIMIT 0"
    )
    return con.execute(
        f"""
            WITH stage_defaults(stage, p) AS (VALUES {", ".join(rows)}),
            scores AS ({scores}),
            open_deals AS (
                SELECT s.opportunity_id, coalesce(s.team_id, 'unassigned') AS team_id,
                       coalesce(s.region, 'unassigned') AS region, s.amount_cny, s.expected_close_date,
                       CASE WHEN sc.win_probability IS NOT NULL THEN sc.win_probability ELSE d.p END AS win_probability,
                       sc.win_probability IS NOT NULL AS is_scored
                FROM marts.fct_pipeline_snapshots AS s
                LEFT JOIN scores AS sc ON sc.opportunity_id = s.opportunity_id
                LEFT JOIN stage_defaults AS d ON d.stage = s.stage
                WHERE s.snapshot_date = $as_of
            ),
            periods AS (
                SELECT period_type, period_start, period_end, level, group_id, bookings_to_date_cny
                FROM marts.mart_forecast WHERE reference_date = $as_of
            )
            SELECT p.period_type, p.period_start, p.level, p.group_id, CAST($as_of AS DATE) AS as_of,
                   coalesce(sum(o.amount_cny * o.win_probability), 0)::DOUBLE AS weighted_pipeline_cny,
                   (CAST(p.bookings_to_date_cny AS DOUBLE)
                    + coalesce(sum(o.amount_cny * o.win_probability), 0))::DOUBLE AS forecast_current_cny,
                   count(o.opportunity_id)::BIGINT AS deals_in_period,
                   count(o.opportunity_id) FILTER (WHERE o.is_scored)::BIGINT AS scored_deals
            FROM periods AS p
            LEFT JOIN open_deals AS o
              ON o.expected_close_date BETWEEN p.period_start AND p.period_end
             AND (p.level = 'company' OR (p.level = 'region' AND o.region = p.group_id)
                  OR (p.level = 'team' AND o.team_id = p.group_id))
            GROUP BY p.period_type, p.period_start, p.level, p.group_id, p.bookings_to_date_cny
            ORDER BY p.period_type, p.period_start, p.level, p.group_id""",
        params,
    ).df()
