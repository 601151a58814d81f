"""The one query layer: all SQL of the dashboards lives here.

Every function is cached with ``st.cache_data`` and takes the snapshot identity (so a new publish is a new
cache key) and, for business rows, the user's ``Scope`` (so one user's cached rows never serve another
scope). Filters are parameterised; the only text put into SQL is the constant fragment from
``Scope.opportunity_filter``. Aggregation happens in DuckDB; pandas only receives the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
import streamlit as st

from dashboards.db import Snapshot, cursor
from dashboards.scope import Scope

MONTHLY_COLUMNS = (
    "month",
    "bookings_cny",
    "won_count",
    "lost_count",
    "win_rate",
    "cycle_days_mean",
    "cycle_days_median",
    "open_pipeline_cny",
    "open_count",
)


@dataclass(frozen=True)
class PublishInfo:
    published_at: datetime | None
    run_id: str | None
    as_of: date | None
    quality_status: str | None


def _df(snap: Snapshot, sql: str, params: list | None = None) -> pd.DataFrame:
    cur = cursor(snap)  # one cursor per call: the shared connection is not thread-safe
    try:
        return cur.execute(sql, params or []).df()
    finally:
        cur.close()


@st.cache_data(max_entries=16, show_spinner=False)
def publish_info(snap: Snapshot) -> PublishInfo | None:
    """The latest publish record: what this snapshot is. Not row data, so not scoped."""
    df = _df(
        snap,
        """SELECT published_at, run_id, as_of, quality_status
           FROM meta.publish_log
           ORDER BY published_at DESC NULLS LAST
           LIMIT 1""",
    )
    if df.empty:
        return None
    r = df.iloc[0]

    def clean(v):
        return None if pd.isna(v) else v

    published_at = clean(r["published_at"])
    as_of = clean(r["as_of"])
    return PublishInfo(
        published_at=pd.Timestamp(published_at).to_pydatetime() if published_at is not None else None,
        run_id=clean(r["run_id"]),
        as_of=pd.Timestamp(as_of).date() if as_of is not None else None,
        quality_status=clean(r["quality_status"]),
    )


_MART_MONTHLY_SQL = """
SELECT month::DATE AS month,
       bookings_cny::DOUBLE AS bookings_cny,
       won_count::BIGINT AS won_count,
       lost_count::BIGINT AS lost_count,
       win_rate::DOUBLE AS win_rate,
       cycle_days_mean::DOUBLE AS cycle_days_mean,
       cycle_days_median::DOUBLE AS cycle_days_median,
       open_pipeline_cny::DOUBLE AS open_pipeline_cny,
       open_count::BIGINT AS open_count
FROM marts.mart_bookings_monthly
ORDER BY month
"""

# The same figures as mart_bookings_monthly (METRICS.md), over the scope's opportunities only, on the
# mart's month spine. {scope} is the constant fragment from Scope.opportunity_filter.
_SCOPED_MONTHLY_SQL = """
WITH spine AS (
    SELECT DISTINCT month::DATE AS month FROM marts.mart_bookings_monthly
),
opp AS (
    SELECT o.opportunity_id, o.amount_cny, o.created_at, o.won_at, o.lost_at, o.cycle_days
    FROM marts.fct_opportunities AS o
    WHERE {scope}
),
won AS (
    SELECT date_trunc('month', won_at)::DATE AS month,
           sum(amount_cny) AS bookings_cny,
           count(*) AS won_count,
           avg(cycle_days) AS cycle_days_mean,
           median(cycle_days) AS cycle_days_median
    FROM opp WHERE won_at IS NOT NULL
    GROUP BY 1
),
lost AS (
    SELECT date_trunc('month', lost_at)::DATE AS month, count(*) AS lost_count
    FROM opp WHERE lost_at IS NOT NULL
    GROUP BY 1
),
open_at_month_end AS (
    -- open as of the month's last day: created by then, neither won nor lost by then
    SELECT s.month, sum(o.amount_cny) AS open_pipeline_cny, count(*) AS open_count
    FROM spine AS s
    JOIN opp AS o
      ON o.created_at < s.month + INTERVAL 1 MONTH
     AND (o.won_at IS NULL OR o.won_at >= s.month + INTERVAL 1 MONTH)
     AND (o.lost_at IS NULL OR o.lost_at >= s.month + INTERVAL 1 MONTH)
    GROUP BY 1
)
SELECT s.month,
       coalesce(w.bookings_cny, 0)::DOUBLE AS bookings_cny,
       coalesce(w.won_count, 0)::BIGINT AS won_count,
       coalesce(l.lost_count, 0)::BIGINT AS lost_count,
       CASE WHEN coalesce(w.won_count, 0) + coalesce(l.lost_count, 0) > 0
            THEN coalesce(w.won_count, 0) / (coalesce(w.won_count, 0) + coalesce(l.lost_count, 0))
       END::DOUBLE AS win_rate,
       w.cycle_days_mean::DOUBLE AS cycle_days_mean,
       w.cycle_days_median::DOUBLE AS cycle_days_median,
       coalesce(p.open_pipeline_cny, 0)::DOUBLE AS open_pipeline_cny,
       coalesce(p.open_count, 0)::BIGINT AS open_count
FROM spine AS s
LEFT JOIN won AS w USING (month)
LEFT JOIN lost AS l USING (month)
LEFT JOIN open_at_month_end AS p USING (month)
ORDER BY s.month
"""


def scoped_monthly_sql(scope: Scope) -> tuple[str, list]:
    where, params = scope.opportunity_filter("o")
    return _SCOPED_MONTHLY_SQL.format(scope=where), params


@st.cache_data(max_entries=64, show_spinner=False)
def monthly_series(snap: Snapshot, scope: Scope, *, from_facts: bool = False) -> pd.DataFrame:
    """One row per month (MONTHLY_COLUMNS). The whole-company mart when the scope sees everything;
    otherwise the same figures computed in SQL from the scope's opportunities. ``from_facts`` forces
    the second path (tests use it to check both agree)."""
    if scope.is_everything and not from_facts:
        df = _df(snap, _MART_MONTHLY_SQL)
    else:
        sql, params = scoped_monthly_sql(scope)
        df = _df(snap, sql, params)
    df["month"] = pd.to_datetime(df["month"])
    return df[list(MONTHLY_COLUMNS)]


@st.cache_data(max_entries=64, show_spinner=False)
def opportunities(snap: Snapshot, scope: Scope, limit: int = 10_000) -> pd.DataFrame:
    """The scope's opportunities, largest first."""
    where, params = scope.opportunity_filter("o")
    sql = f"""
        SELECT o.opportunity_id, o.account_id, o.owner_user_id, o.team_id, o.region, o.current_stage,
               o.amount_cny::DOUBLE AS amount_cny, o.created_at, o.won_at, o.lost_at,
               o.is_open, o.expected_close_date
        FROM marts.fct_opportunities AS o
        WHERE {where}
        ORDER BY o.amount_cny DESC NULLS LAST, o.opportunity_id
        LIMIT ?"""
    return _df(snap, sql, [*params, int(limit)])
