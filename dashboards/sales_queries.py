"""Cached, scoped queries of the sales pages: performance (业绩), forecast (预测) and funnel (销售漏斗).

Every function takes the snapshot identity and the user's ``Scope`` (so the cache is keyed on both). The
scope is applied in SQL (``Scope.opportunity_filter`` / ``scope.row_filter``); the URL filters only AND with
it. Identifiers come from the constants below; every user value travels as a query parameter. Figures are
aggregated in DuckDB over the pre-aggregated marts; pandas only receives the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from dashboards.db import Snapshot
from dashboards.queries import DealFilter, available_tables, run_query
from dashboards.scope import Scope, row_filter

# the ordered stages of mart_funnel; the last one has no later stage, so no conversion
FUNNEL_STAGES = ("initial_contact", "needs_confirmed", "proposal", "negotiation", "won", "contract_signed")
LAST_STAGE_ORDER = len(FUNNEL_STAGES)
TABLE_LIMIT = 500


def _month_start(month: str) -> date:
    """'2026-05' -> 2026-05-01 (raises on anything else, so only real months reach SQL)."""
    return date.fromisoformat(f"{month}-01")


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _narrow(flt: DealFilter, cols: dict[str, str]) -> tuple[str, list]:
    """The URL filters as extra AND clauses over the given columns (region/team/rep -> column)."""
    sql, params = "", []
    for key, value in (("region", flt.region), ("team", flt.team_id), ("rep", flt.owner_user_id)):
        if value and key in cols:
            sql += f" AND {cols[key]} = ?"
            params.append(str(value))
    return sql, params


# ---- performance (mart_rep_performance: one row per user and month) ------------------------------------

_PERF_COLS = {"region": "r.region", "team": "r.team_id", "rep": "r.user_id"}
# the additive measures, summed over the rows of a group and period (METRICS.md: roll up sums, not averages)
_PERF_MEASURES = """
    sum(r.bookings_cny)::DOUBLE AS bookings_cny,
    sum(r.quota_cny)::DOUBLE AS quota_cny,
    (sum(r.bookings_cny) / nullif(sum(r.quota_cny), 0))::DOUBLE AS attainment,
    sum(r.won_count)::BIGINT AS won_count,
    sum(r.lost_count)::BIGINT AS lost_count,
    (sum(r.won_count) / nullif(sum(r.won_count) + sum(r.lost_count), 0))::DOUBLE AS win_rate,
    (sum(r.bookings_cny) / nullif(sum(r.won_count), 0))::DOUBLE AS avg_deal_size_cny,
    (sum(r.cycle_days_mean * r.won_count) / nullif(sum(r.won_count) FILTER (WHERE r.cycle_days_mean IS NOT NULL), 0))::DOUBLE
        AS cycle_days_mean,
    (sum(r.open_pipeline_cny) FILTER (WHERE r.month = ?))::DOUBLE AS open_pipeline_cny,
    sum(r.touchpoints)::BIGINT AS touchpoints"""


@dataclass(frozen=True)
class Period:
    """Months ``start`` .. ``end`` (both first days of months, inclusive)."""

    start: date
    end: date

    @classmethod
    def of(cls, month: str, span: str) -> Period:
        """The period ending with ``month``: the month, the quarter to date or the year to date."""
        end = _month_start(month)
        if span == "quarter":
            start = date(end.year, (end.month - 1) // 3 * 3 + 1, 1)
        elif span == "ytd":
            start = date(end.year, 1, 1)
        else:
            start = end
        return cls(start, end)

    @property
    def end_exclusive(self) -> date:
        return _next_month(self.end)


def _perf_where(scope: Scope, flt: DealFilter, period: Period | None) -> tuple[str, list]:
    where, params = row_filter(scope, owner="r.user_id", team="r.team_id")
    extra, extra_params = _narrow(flt, _PERF_COLS)
    where = f"({where}){extra}"
    params = [*params, *extra_params]
    if period is not None:
        where += " AND r.month >= ? AND r.month <= ?"
        params += [period.start, period.end]
    return where, params


@st.cache_data(max_entries=64, show_spinner=False)
def perf_months(snap: Snapshot, scope: Scope) -> list[str]:
    """The months of mart_rep_performance inside the scope, newest first ('YYYY-MM')."""
    where, params = _perf_where(scope, DealFilter(), None)
    df = run_query(
        snap,
        f"SELECT DISTINCT strftime(r.month, '%Y-%m') AS m FROM marts.mart_rep_performance AS r "
        f"WHERE {where} ORDER BY m DESC",
        params,
    )
    return df["m"].dropna().tolist()


@st.cache_data(max_entries=128, show_spinner=False)
def perf_totals(snap: Snapshot, scope: Scope, flt: DealFilter, period: Period) -> dict[str, float | None]:
    """Bookings, quota, attainment, win rate... of everything in scope and filters over the period."""
    where, params = _perf_where(scope, flt, period)
    df = run_query(
        snap,
        f"SELECT {_PERF_MEASURES} FROM marts.mart_rep_performance AS r WHERE {where}",
        [period.end, *params],
    )
    return {k: (None if pd.isna(v) else float(v)) for k, v in df.iloc[0].items()}


# group -> (select list, group by) over mart_rep_performance; the user level keeps people who sell
_PERF_GROUPS = {
    "region": ("r.region AS group_id", "r.region"),
    "team": ("r.team_id AS group_id, r.region", "r.team_id, r.region"),
    "user": (
        "r.user_id AS group_id, any_value(r.user_name) AS user_name, r.team_id, r.region",
        "r.user_id, r.team_id, r.region",
    ),
}


PERF_RANKS = {
    "attainment": "attainment DESC NULLS LAST, bookings_cny DESC",
    "bookings": "bookings_cny DESC NULLS LAST, attainment DESC NULLS LAST",
}


@st.cache_data(max_entries=128, show_spinner=False)
def perf_breakdown(
    snap: Snapshot, scope: Scope, flt: DealFilter, period: Period, by: str, rank: str = "attainment"
) -> pd.DataFrame:
    """One row per region, team or user (``by``) in scope and filters: the period's figures, best first by
    ``rank`` (attainment or bookings); the leaderboard when ``by='user'``."""
    select, group = _PERF_GROUPS[by]
    where, params = _perf_where(scope, flt, period)
    having = (
        (
            "HAVING bool_or(r.role = 'sales_rep') OR sum(r.won_count) + sum(r.lost_count) > 0 "
            "OR sum(r.quota_cny) > 0"
        )
        if by == "user"
        else ""
    )
    team_name = (
        "(SELECT any_value(u.team_name) FROM marts.dim_users AS u WHERE u.team_id = r.team_id) AS team_name,"
        if by != "region"
        else ""
    )
    return run_query(
        snap,
        f"""
        SELECT {select}, {team_name} {_PERF_MEASURES}
        FROM marts.mart_rep_performance AS r
        WHERE {where} AND r.{"region" if by == "region" else "team_id" if by == "team" else "user_id"} IS NOT NULL
        GROUP BY {group}
        {having}
        ORDER BY {PERF_RANKS[rank]}, group_id
        LIMIT ?""",
        [period.end, *params, TABLE_LIMIT],
    )


@st.cache_data(max_entries=128, show_spinner=False)
def perf_trend(snap: Snapshot, scope: Scope, flt: DealFilter, end: date, months: int = 12) -> pd.DataFrame:
    """Bookings, quota and attainment by month, the ``months`` months up to ``end``."""
    first = end
    for _ in range(months - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    where, params = _perf_where(scope, flt, Period(first, end))
    return run_query(
        snap,
        f"""
        SELECT r.month::DATE AS month, sum(r.bookings_cny)::DOUBLE AS bookings_cny, sum(r.quota_cny)::DOUBLE AS quota_cny,
               (sum(r.bookings_cny) / nullif(sum(r.quota_cny), 0))::DOUBLE AS attainment
        FROM marts.mart_rep_performance AS r WHERE {where}
        GROUP BY 1 ORDER BY 1""",
        params,
    )


@st.cache_data(max_entries=128, show_spinner=False)
def rep_deals(
    snap: Snapshot, scope: Scope, flt: DealFilter, period: Period, limit: int = TABLE_LIMIT
) -> pd.DataFrame:
    """The deals behind the figures: won or lost in the period, or open at its end (created by then and
    neither won nor lost by then). Status is won, lost or open."""
    where, params = scope.opportunity_filter("o")
    extra, extra_params = _narrow(flt, {"region": "o.region", "team": "o.team_id", "rep": "o.owner_user_id"})
    start, end = period.start, period.end_exclusive
    return run_query(
        snap,
        f"""
        WITH d AS (
            SELECT o.*,
                   CASE WHEN o.won_at >= ? AND o.won_at < ? THEN 'won'
                        WHEN o.lost_at >= ? AND o.lost_at < ? THEN 'lost'
                        WHEN o.created_at < ? AND (o.won_at IS NULL OR o.won_at >= ?)
                             AND (o.lost_at IS NULL OR o.lost_at >= ?) THEN 'open' END AS status
            FROM marts.fct_opportunities AS o
            WHERE ({where}){extra}
        )
        SELECT d.opportunity_id, d.opportunity_name, a.account_name, d.status, d.current_stage,
               d.amount_cny::DOUBLE AS amount_cny, d.created_at, d.won_at, d.lost_at, d.expected_close_date
        FROM d LEFT JOIN marts.dim_accounts AS a ON a.account_id = d.account_id
        WHERE d.status IS NOT NULL
        ORDER BY CASE d.status WHEN 'won' THEN 0 WHEN 'open' THEN 1 ELSE 2 END, d.amount_cny DESC NULLS LAST,
                 d.opportunity_id
        LIMIT ?""",
        [start, end, start, end, end, end, end, *params, *extra_params, int(limit)],
    )


@st.cache_data(max_entries=64, show_spinner=False)
def manager_team(snap: Snapshot, scope: Scope) -> str | None:
    """The team a sales manager's scope is restricted to (None for other roles)."""
    if scope.role != "sales_manager":
        return None
    if scope.team_id:
        return scope.team_id
    df = run_query(
        snap, "SELECT u.team_id FROM marts.dim_users AS u WHERE u.user_id = ?", [str(scope.user_id)]
    )
    return None if df.empty or pd.isna(df.iloc[0, 0]) else str(df.iloc[0, 0])


def _level_where(scope: Scope) -> tuple[str, list]:
    """Scope over a rolled-up mart (level, group_id): team rows by the team scope, region and company rows only
    for roles that see everything."""
    team_where, params = row_filter(scope, team="r.group_id")
    everything = "TRUE" if scope.is_everything else "FALSE"
    return (
        f"((r.level = 'team' AND {team_where}) OR (r.level IN ('company', 'region') AND {everything}))",
        params,
    )


@st.cache_data(max_entries=128, show_spinner=False)
def velocity(snap: Snapshot, scope: Scope, level: str, group_id: str, month: date) -> dict[str, float | None]:
    """mart_sales_velocity's row for the group and month (trailing 12 months), when the scope may see it."""
    where, params = _level_where(scope)
    df = run_query(
        snap,
        f"""
        SELECT r.sales_velocity_cny_per_day::DOUBLE AS velocity, r.win_rate_12m::DOUBLE AS win_rate_12m,
               r.avg_deal_size_12m_cny::DOUBLE AS avg_deal_size_12m, r.cycle_days_mean_12m::DOUBLE AS cycle_12m,
               r.open_count::DOUBLE AS open_count
        FROM marts.mart_sales_velocity AS r
        WHERE {where} AND r.level = ? AND r.group_id = ? AND r.month = ?""",
        [*params, level, group_id, month],
    )
    if df.empty:
        return {}
    return {k: (None if pd.isna(v) else float(v)) for k, v in df.iloc[0].items()}


# ---- forecast (mart_forecast, ml.forecast, ml.forecast_accuracy, fct_pipeline_snapshots) -----------------

_FORECAST_COLS = """r.period_type, r.period_start, r.period_end, r.level, r.group_id, r.is_closed_period,
    r.quota_cny::DOUBLE AS quota_cny, r.bookings_to_date_cny::DOUBLE AS bookings_to_date_cny,
    r.open_pipeline_cny::DOUBLE AS open_pipeline_cny, r.pipeline_in_period_cny::DOUBLE AS pipeline_in_period_cny,
    r.weighted_pipeline_cny::DOUBLE AS weighted_pipeline_cny, r.pipeline_coverage::DOUBLE AS pipeline_coverage,
    r.forecast_at_start_cny::DOUBLE AS forecast_at_start_cny, r.forecast_current_cny::DOUBLE AS forecast_current_cny,
    r.actual_bookings_cny::DOUBLE AS actual_bookings_cny, r.forecast_abs_pct_error::DOUBLE AS forecast_abs_pct_error"""


def _forecast_relation(snap: Snapshot) -> str:
    """marts.mart_forecast, with the ML-weighted pipeline and current forecast of ml.forecast_weighted (rows
    looked at on the as-of date) in place of the stage-default ones when the snapshot has them (METRICS.md:
    the ML score where present, else the stage default)."""
    if "ml.forecast_weighted" not in available_tables(snap):
        return "marts.mart_forecast"
    return """(SELECT f.* REPLACE (coalesce(m.weighted_pipeline_cny, f.weighted_pipeline_cny) AS weighted_pipeline_cny,
                                coalesce(m.forecast_current_cny, f.forecast_current_cny) AS forecast_current_cny)
              FROM marts.mart_forecast AS f
              LEFT JOIN ml.forecast_weighted AS m
                ON m.period_type = f.period_type AND m.period_start = f.period_start AND m.level = f.level
               AND m.group_id = f.group_id AND m.as_of = f.reference_date)"""


@st.cache_data(max_entries=64, show_spinner=False)
def forecast_periods(snap: Snapshot, scope: Scope, period_type: str) -> list[str]:
    """Period starts ('YYYY-MM') of the scope's forecast rows, newest first."""
    where, params = _level_where(scope)
    df = run_query(
        snap,
        f"SELECT DISTINCT strftime(r.period_start, '%Y-%m') AS p FROM marts.mart_forecast AS r "
        f"WHERE {where} AND r.period_type = ? ORDER BY p DESC",
        [*params, period_type],
    )
    return df["p"].dropna().tolist()


@st.cache_data(max_entries=128, show_spinner=False)
def forecast_rows(snap: Snapshot, scope: Scope, period_type: str, period: str) -> pd.DataFrame:
    """Every forecast row the scope may see for the period: company, regions, teams."""
    where, params = _level_where(scope)
    return run_query(
        snap,
        f"""
        SELECT {_FORECAST_COLS}, (SELECT any_value(u.team_name) FROM marts.dim_users AS u
                                  WHERE r.level = 'team' AND u.team_id = r.group_id) AS team_name
        FROM {_forecast_relation(snap)} AS r
        WHERE {where} AND r.period_type = ? AND r.period_start = ?
        ORDER BY CASE r.level WHEN 'company' THEN 0 WHEN 'region' THEN 1 ELSE 2 END, r.group_id
        LIMIT ?""",
        [*params, period_type, _month_start(period), TABLE_LIMIT],
    )


@st.cache_data(max_entries=128, show_spinner=False)
def forecast_history(
    snap: Snapshot, scope: Scope, period_type: str, level: str, group_id: str, periods: int = 24
) -> pd.DataFrame:
    """The group's forecast rows over time (newest ``periods``), oldest first: forecast at start, current
    forecast and actual bookings, with the absolute percentage error of the closed periods."""
    where, params = _level_where(scope)
    return run_query(
        snap,
        f"""
        SELECT * FROM (
            SELECT {_FORECAST_COLS} FROM {_forecast_relation(snap)} AS r
            WHERE {where} AND r.period_type = ? AND r.level = ? AND r.group_id = ?
            ORDER BY r.period_start DESC LIMIT ?)
        ORDER BY period_start""",
        [*params, period_type, level, group_id, int(periods)],
    )


@st.cache_data(max_entries=64, show_spinner=False)
def bookings_forecast(
    snap: Snapshot, scope: Scope, period_type: str, level: str, group_id: str
) -> pd.DataFrame:
    """The group's bookings forecast (ml.forecast), one row per period and component: forecast, low, high.
    Company, region and team rows follow the scope like mart_forecast's; rep rows need a whole-company scope."""
    where, params = _level_where(scope)
    if level == "rep":
        if not scope.is_everything:
            return pd.DataFrame()
        where, params = "TRUE", []
    return run_query(
        snap,
        f"""
        SELECT r.period::DATE AS period, r.period_end::DATE AS period_end, r.component,
               r.forecast_cny::DOUBLE AS forecast_cny, r.low_cny::DOUBLE AS low_cny,
               r.high_cny::DOUBLE AS high_cny, r.as_of::DATE AS as_of
        FROM ml.forecast AS r
        WHERE {where} AND r.period_type = ? AND r.level = ? AND r.group_id = ?
        ORDER BY r.period, r.component""",
        [*params, period_type, level, group_id],
    )


@st.cache_data(max_entries=16, show_spinner=False)
def forecast_accuracy_summary(snap: Snapshot, scope: Scope) -> pd.DataFrame:
    """The backtest's WAPE and bias per method, origin type and horizon (company; whole-company scopes)."""
    if not scope.is_everything:
        return pd.DataFrame()
    return run_query(
        snap,
        """
        SELECT r.method, r.origin_type, r.horizon::INTEGER AS horizon, r.periods::INTEGER AS periods,
               r.wape::DOUBLE AS wape, r.bias::DOUBLE AS bias, r.wape_minus_model::DOUBLE AS wape_minus_model,
               r.share_model_better::DOUBLE AS share_model_better
        FROM ml.forecast_accuracy_summary AS r ORDER BY r.origin_type, r.horizon, r.method""",
    )


@st.cache_data(max_entries=16, show_spinner=False)
def forecast_accuracy_months(snap: Snapshot, scope: Scope) -> pd.DataFrame:
    """Month-start forecasts of each month (horizon 0) by method, beside the actual bookings."""
    if not scope.is_everything:
        return pd.DataFrame()
    return run_query(
        snap,
        """
        SELECT r.period::DATE AS period, r.method, r.forecast_cny::DOUBLE AS forecast_cny,
               r.actual_cny::DOUBLE AS actual_cny
        FROM ml.forecast_accuracy AS r
        WHERE r.origin_type = 'month_start' AND r.horizon = 0 ORDER BY r.period, r.method""",
    )


@st.cache_data(max_entries=128, show_spinner=False)
def pipeline_trend(snap: Snapshot, scope: Scope, flt: DealFilter, weeks: int = 52) -> pd.DataFrame:
    """Open pipeline by weekly snapshot date and stage (the last ``weeks`` snapshots), scoped by the deals'
    owner, team and region."""
    where, params = scope.opportunity_filter("s")
    extra, extra_params = _narrow(flt, {"region": "s.region", "team": "s.team_id", "rep": "s.owner_user_id"})
    return run_query(
        snap,
        f"""
        WITH dates AS (
            SELECT DISTINCT snapshot_date FROM marts.fct_pipeline_snapshots ORDER BY snapshot_date DESC LIMIT ?
        )
        SELECT s.snapshot_date::DATE AS snapshot_date, s.stage, sum(s.amount_cny)::DOUBLE AS amount_cny,
               count(*)::BIGINT AS deals
        FROM marts.fct_pipeline_snapshots AS s
        WHERE s.snapshot_date IN (SELECT snapshot_date FROM dates) AND ({where}){extra}
        GROUP BY ALL ORDER BY 1, 2""",
        [int(weeks), *params, *extra_params],
    )


# ---- funnel (mart_funnel: cohort month x lead source x team x stage; fct_stage_transitions) ----------------


@dataclass(frozen=True)
class FunnelFilter:
    """Narrowing filters of the funnel page; they AND with the scope."""

    cohort_from: str | None = None  # 'YYYY-MM', inclusive
    cohort_to: str | None = None
    lead_source: str | None = None
    region: str | None = None
    team_id: str | None = None
    owner_user_id: str | None = None  # mart_funnel has no rep: then the same counts come from the facts


_STAGE_VALUES = ", ".join(
    f"('{s}', {i}, {repr(FUNNEL_STAGES[i]) if i < LAST_STAGE_ORDER else 'NULL'})"
    for i, s in enumerate(FUNNEL_STAGES, start=1)
)
# mart_funnel's grain rebuilt from the facts for the deals matching {where} (over fct_opportunities AS o): one
# row per deal and stage reached (reached_count = 1); passed = reached a later stage; strict = moved from the
# stage to the next one directly at least once. The deals are filtered first, so only their transitions are read.
_FUNNEL_FACTS = """(
    WITH d AS (
        SELECT o.opportunity_id, date_trunc('month', o.created_date)::DATE AS cohort_month,
               coalesce(o.lead_source, 'unknown') AS lead_source, coalesce(o.team_id, 'unassigned') AS team_id
        FROM marts.fct_opportunities AS o WHERE {where}
    ),
    x AS (
        SELECT t.opportunity_id, t.stage, t.stage_order, t.next_stage FROM marts.fct_stage_transitions AS t
        WHERE t.opportunity_id IN (SELECT opportunity_id FROM d)
    ),
    s AS (SELECT * FROM (VALUES {stages}) AS v(stage, stage_order, next_stage)),
    f AS (SELECT opportunity_id, max(stage_order) AS furthest FROM x WHERE stage_order IS NOT NULL GROUP BY 1),
    strict AS (SELECT DISTINCT x.opportunity_id, x.stage FROM x JOIN s ON s.stage = x.stage AND s.next_stage = x.next_stage)
    SELECT d.cohort_month, d.lead_source, d.team_id, s.stage, s.stage_order, 1 AS reached_count,
           (f.furthest > s.stage_order)::INT AS passed_count, (k.opportunity_id IS NOT NULL)::INT AS strict_next_count
    FROM d
    JOIN f ON f.opportunity_id = d.opportunity_id
    JOIN s ON s.stage_order <= f.furthest
    LEFT JOIN strict AS k ON k.opportunity_id = d.opportunity_id AND k.stage = s.stage
)"""


def _deal_funnel_where(scope: Scope, f: FunnelFilter) -> tuple[str, list]:
    """The funnel filters over fct_opportunities AS o (cohort = created month, as in mart_funnel)."""
    return _funnel_where(
        scope,
        f,
        cohort="date_trunc('month', o.created_date)",
        team="o.team_id",
        source="coalesce(o.lead_source, 'unknown')",
        region="o.region",
        owner="o.owner_user_id",
    )


def _funnel_from(scope: Scope, f: FunnelFilter) -> tuple[str, str, list]:
    """(relation, where, params) of the funnel rows: mart_funnel, or the facts when a rep is picked (the mart
    has no rep); the facts are filtered inside the relation."""
    if f.owner_user_id:
        where, params = _deal_funnel_where(scope, f)
        return _FUNNEL_FACTS.format(where=where, stages=_STAGE_VALUES), "TRUE", params
    where, params = _funnel_where(scope, f)
    return "marts.mart_funnel", where, params


def _funnel_where(
    scope: Scope,
    f: FunnelFilter,
    *,
    cohort: str = "r.cohort_month",
    team: str = "r.team_id",
    source: str = "r.lead_source",
    region: str | None = None,
    owner: str = "r.owner_user_id",
) -> tuple[str, list]:
    where, params = row_filter(scope, team=team)
    where = f"({where})"
    if f.owner_user_id:
        where += f" AND {owner} = ?"
        params.append(f.owner_user_id)
    if f.cohort_from:
        where += f" AND {cohort} >= ?"
        params.append(_month_start(f.cohort_from))
    if f.cohort_to:
        where += f" AND {cohort} <= ?"
        params.append(_month_start(f.cohort_to))
    if f.lead_source:
        where += f" AND {source} = ?"
        params.append(f.lead_source)
    if f.team_id:
        where += f" AND {team} = ?"
        params.append(f.team_id)
    if f.region:  # mart_funnel has no region: a region is its users' teams
        col = region or team
        where += (
            f" AND {col} = ?"
            if region
            else f" AND {col} IN (SELECT u.team_id FROM marts.dim_users AS u WHERE u.region = ?)"
        )
        params.append(f.region)
    return where, params


@st.cache_data(max_entries=64, show_spinner=False)
def funnel_choices(snap: Snapshot, scope: Scope) -> tuple[list[str], list[str]]:
    """Cohort months (newest first) and lead sources of the scope's funnel rows."""
    where, params = row_filter(scope, team="r.team_id")
    months = run_query(
        snap,
        f"SELECT DISTINCT strftime(r.cohort_month, '%Y-%m') AS m FROM marts.mart_funnel AS r "
        f"WHERE {where} ORDER BY m DESC",
        params,
    )
    sources = run_query(
        snap,
        f"SELECT DISTINCT r.lead_source AS s FROM marts.mart_funnel AS r WHERE {where} ORDER BY s",
        params,
    )
    return months["m"].dropna().tolist(), sources["s"].dropna().tolist()


# per stage: counts summed over the filtered cohorts, sources and teams, the conversions recomputed from the
# sums (never averaged), and the bottleneck: the lowest passing conversion among stages that have a next one
_FUNNEL_SQL = """
WITH s AS (
    SELECT {group} r.stage, min(r.stage_order) AS stage_order, sum(r.reached_count)::BIGINT AS reached_count,
           sum(r.passed_count)::BIGINT AS passed_count, sum(r.strict_next_count)::BIGINT AS strict_next_count
    FROM {source} AS r WHERE {where}
    GROUP BY ALL
),
c AS (
    SELECT s.*,
           CASE WHEN s.stage_order < {last} THEN (s.passed_count / nullif(s.reached_count, 0)) END::DOUBLE
               AS passing_conversion,
           CASE WHEN s.stage_order < {last} THEN (s.strict_next_count / nullif(s.reached_count, 0)) END::DOUBLE
               AS strict_conversion
    FROM s
)
SELECT c.*,
       coalesce(c.passing_conversion IS NOT NULL AND row_number() OVER (
           PARTITION BY {partition} c.passing_conversion IS NULL ORDER BY c.passing_conversion, c.stage_order) = 1,
           FALSE) AS is_bottleneck
FROM c ORDER BY {order} c.stage_order
"""


@st.cache_data(max_entries=128, show_spinner=False)
def funnel_stages(snap: Snapshot, scope: Scope, f: FunnelFilter) -> pd.DataFrame:
    """One row per stage: reached, passed, strict next, passing and strict conversion, is_bottleneck (from
    mart_funnel; from the facts when a rep is picked, as the mart has no rep)."""
    source, where, params = _funnel_from(scope, f)
    sql = _FUNNEL_SQL.format(
        group="", source=source, where=where, last=LAST_STAGE_ORDER, partition="", order=""
    )
    return run_query(snap, sql, params)


# breakdown dimension -> the mart column (constants only)
FUNNEL_BREAKDOWNS = {
    "cohort": "strftime(r.cohort_month, '%Y-%m')",
    "lead_source": "r.lead_source",
    "team": "r.team_id",
}


@st.cache_data(max_entries=128, show_spinner=False)
def funnel_breakdown(snap: Snapshot, scope: Scope, f: FunnelFilter, by: str) -> pd.DataFrame:
    """Per group (cohort month, lead source or team) and stage: the same columns as ``funnel_stages``, with
    each group's own bottleneck."""
    source, where, params = _funnel_from(scope, f)
    sql = _FUNNEL_SQL.format(
        group=f"{FUNNEL_BREAKDOWNS[by]} AS grp,",
        source=source,
        where=where,
        last=LAST_STAGE_ORDER,
        partition="c.grp,",
        order="c.grp DESC," if by == "cohort" else "c.grp,",
    )
    return run_query(snap, f"SELECT * FROM ({sql}) LIMIT ?", [*params, 60 * LAST_STAGE_ORDER])


@st.cache_data(max_entries=128, show_spinner=False)
def days_in_stage(snap: Snapshot, scope: Scope, f: FunnelFilter) -> pd.DataFrame:
    """Days in each stage (METRICS.md: from entering a stage to leaving it, or to the as-of date while still in
    it), one value per entry into the stage, for the deals of the filtered cohorts: quartiles, 10th and 90th
    percentiles and the number of entries. Read per entry, not per deal, to stay within the page's time budget."""
    where, params = _deal_funnel_where(scope, f)
    return run_query(
        snap,
        f"""
        SELECT stage, stage_order, entries, q[1] AS p10, q[2] AS q1, q[3] AS median, q[4] AS q3, q[5] AS p90
        FROM (SELECT t.stage, min(t.stage_order) AS stage_order, count(*)::BIGINT AS entries,
                     quantile_cont(t.days_in_stage::DOUBLE, [0.1, 0.25, 0.5, 0.75, 0.9]) AS q  -- one sort for all five
              FROM marts.fct_stage_transitions AS t
              WHERE t.days_in_stage IS NOT NULL AND t.stage_order IS NOT NULL
                AND t.opportunity_id IN (SELECT o.opportunity_id FROM marts.fct_opportunities AS o WHERE {where})
              GROUP BY t.stage)
        ORDER BY stage_order""",
        params,
    )


# ---- bottleneck simulator (瓶颈模拟: dashboards/whatif.py) ------------------------------------------------

# the deals in scope and filters that arrived at a stage or were won since {since}, with their outcome, and
# their whole stage history (a deal's first arrival at a stage may lie before the window: whatif decides)
_WHATIF_DEALS = """
SELECT o.opportunity_id, o.owner_user_id, o.team_id, o.region, o.is_won, o.won_at, o.amount_cny::DOUBLE AS amount_cny,
       o.created_date, o.cycle_days::DOUBLE AS cycle_days
FROM marts.fct_opportunities AS o
WHERE {where}
  AND (o.won_at >= ? OR o.opportunity_id IN (SELECT t.opportunity_id FROM marts.fct_stage_transitions AS t
                                             WHERE t.entered_at >= ?))
"""


def load_whatif_history(
    snap: Snapshot, scope: Scope, flt: DealFilter, since: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transitions, deals) for the bottleneck simulator, uncached (``salescope whatif`` calls it outside
    Streamlit; the page calls ``whatif_history``): the deals in scope and filters (region, team, rep) with a
    stage entry or a win on or after ``since``, and every stage-transition row of those deals."""
    where, params = scope.opportunity_filter("o")
    extra, extra_params = _narrow(flt, {"region": "o.region", "team": "o.team_id", "rep": "o.owner_user_id"})
    deals_sql = _WHATIF_DEALS.format(where=f"({where}){extra}")
    deal_params = [*params, *extra_params, since, since]
    deals = run_query(snap, deals_sql + " ORDER BY o.opportunity_id", deal_params)
    transitions = run_query(
        snap,
        f"""
        SELECT t.opportunity_id, t.entry_number, t.stage, t.stage_order, t.entered_at, t.exited_at,
               t.days_in_stage, t.next_stage, t.is_first_entry, t.owner_user_id, t.team_id, t.region
        FROM marts.fct_stage_transitions AS t
        WHERE t.opportunity_id IN (SELECT opportunity_id FROM ({deals_sql}))
        ORDER BY t.opportunity_id, t.entry_number""",
        deal_params,
    )
    return transitions, deals


@st.cache_data(max_entries=64, show_spinner=False)
def whatif_history(
    snap: Snapshot, scope: Scope, flt: DealFilter, since: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``load_whatif_history``, cached per snapshot, scope, filters and window start."""
    return load_whatif_history(snap, scope, flt, since)
