"""Pages that show one mart each (funnel, performance, forecast, channels, customers, delivery, collections).

Each view is a constant: the mart, how the user's scope applies to its rows, the columns, the KPIs and the
chart, all aggregated in DuckDB. Identifiers come only from these constants; user values (month, filters,
scope ids) always travel as query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from dashboards.db import Snapshot
from dashboards.queries import DealFilter, _df
from dashboards.scope import Scope, row_filter


@dataclass(frozen=True)
class Kpi:
    key: str  # i18n kpi.<key>, help.<key>
    sql: str  # an aggregate over the page's rows (alias r)
    kind: str  # money, percent, number, days, ratio


@dataclass(frozen=True)
class MartView:
    key: str
    table: str
    columns: tuple[str, ...]
    order_by: str
    owner: str | None = None  # scope by owner (CRM user id) column
    team: str | None = None  # scope by team column
    via_opportunity: bool = False  # scope through opportunity_id -> fct_opportunities
    month: str | None = None  # the period column the month picker filters on
    where: str = "TRUE"  # a constant predicate (e.g. one level of a rolled-up mart)
    filters: dict[str, str] = field(default_factory=dict)  # region/team/rep -> column
    kpis: tuple[Kpi, ...] = ()
    chart: tuple[str, str, str] | None = None  # (x column, y aggregate, bar|line)
    money_cols: tuple[str, ...] = ()
    pct_cols: tuple[str, ...] = ()


VIEWS: dict[str, MartView] = {
    v.key: v
    for v in (
        MartView(
            "performance", "marts.mart_rep_performance",
            ("user_name", "team_id", "region", "bookings_cny", "quota_cny", "attainment", "won_count", "lost_count",
             "win_rate", "avg_deal_size_cny", "cycle_days_mean", "open_pipeline_cny", "touchpoints"),
            "attainment DESC NULLS LAST, bookings_cny DESC, user_name",
            owner="r.user_id", team="r.team_id", month="month",
            where="r.role = 'sales_rep'",
            filters={"region": "r.region", "team": "r.team_id", "rep": "r.user_id"},
            kpis=(Kpi("bookings", "sum(r.bookings_cny)", "money"), Kpi("quota", "sum(r.quota_cny)", "money"),
                  Kpi("attainment", "sum(r.bookings_cny) / nullif(sum(r.quota_cny), 0)", "percent"),
                  Kpi("win_rate", "sum(r.won_count) / nullif(sum(r.won_count) + sum(r.lost_count), 0)", "percent")),
            chart=("user_name", "sum(r.attainment)", "bar"),
            money_cols=("bookings_cny", "quota_cny", "avg_deal_size_cny", "open_pipeline_cny"),
            pct_cols=("attainment", "win_rate"),
        ),
        MartView(
            "funnel", "marts.mart_funnel",
            ("stage", "reached_count", "passed_count", "strict_next_count", "median_days_in_stage"),
            "min(stage_order)",
            team="r.team_id", filters={"team": "r.team_id"},
            kpis=(Kpi("reached", "sum(r.reached_count) FILTER (WHERE r.stage_order = 1)", "number"),
                  Kpi("signed", "sum(r.reached_count) FILTER (WHERE r.stage = 'contract_signed')", "number")),
            chart=("stage", "sum(r.reached_count)", "funnel"),
        ),
        MartView(
            "forecast", "marts.mart_forecast",
            ("period_type", "period_start", "quota_cny", "bookings_to_date_cny", "open_pipeline_cny",
             "weighted_pipeline_cny", "pipeline_coverage", "forecast_at_start_cny", "forecast_current_cny",
             "actual_bookings_cny", "forecast_abs_pct_error"),
            "period_start DESC, period_type",
            where="r.level = 'company'",
            kpis=(Kpi("forecast", "arg_max(r.forecast_current_cny, r.period_start) FILTER (WHERE "
                      "r.period_type = 'quarter')", "money"),
                  Kpi("coverage", "arg_max(r.pipeline_coverage, r.period_start) FILTER (WHERE "
                      "r.period_type = 'quarter')", "ratio"),
                  Kpi("forecast_error", "avg(r.forecast_abs_pct_error) FILTER (WHERE r.period_type = 'month' AND "
                      "r.is_closed_period)", "percent")),
            chart=("period_start", "sum(r.actual_bookings_cny) FILTER (WHERE r.period_type = 'month')", "line"),
            money_cols=("quota_cny", "bookings_to_date_cny", "open_pipeline_cny", "weighted_pipeline_cny",
                        "forecast_at_start_cny", "forecast_current_cny", "actual_bookings_cny"),
            pct_cols=("forecast_abs_pct_error",),
        ),
        MartView(
            "channels", "marts.mart_channel_roi",
            ("channel", "leads", "opportunities", "spend_cny", "cost_per_opportunity_cny", "won_count",
             "bookings_first_touch_cny", "bookings_last_touch_cny", "bookings_linear_cny", "roi_first_touch",
             "roi_last_touch", "roi_linear", "new_customers_linear", "cac_cny"),
            "spend_cny DESC NULLS LAST, channel",
            month="month",
            kpis=(Kpi("spend", "sum(r.spend_cny)", "money"), Kpi("leads", "sum(r.leads)", "number"),
                  Kpi("roi", "(sum(r.bookings_linear_cny) - sum(r.spend_cny)) / nullif(sum(r.spend_cny), 0)",
                      "ratio")),
            chart=("channel", "sum(r.roi_linear)", "bar"),
            money_cols=("spend_cny", "cost_per_opportunity_cny", "bookings_first_touch_cny",
                        "bookings_last_touch_cny", "bookings_linear_cny", "cac_cny"),
        ),
        MartView(
            "customers", "marts.mart_customer_profile",
            ("account_id", "account_name", "industry", "region", "lifecycle", "frequency", "monetary_cny",
             "historical_ltv_cny", "recency_days", "touchpoints_90d", "last_nps_score"),
            "monetary_cny DESC NULLS LAST, account_id",
            owner="r.owner_user_id", filters={"region": "r.region", "rep": "r.owner_user_id"},
            where="r.is_customer",
            kpis=(Kpi("customers", "count(*)", "number"), Kpi("ltv", "sum(r.historical_ltv_cny)", "money"),
                  Kpi("repurchase", "avg(CASE WHEN r.is_repurchaser THEN 1.0 ELSE 0.0 END)", "percent")),
            chart=("lifecycle", "count(*)", "bar"),
            money_cols=("monetary_cny", "historical_ltv_cny"),
        ),
        MartView(
            "delivery", "marts.mart_project_delivery",
            ("project_id", "project_name", "project_status", "planned_end_date", "actual_or_forecast_end_date",
             "progress", "task_count", "overdue_task_count", "schedule_variance_days", "has_acceptance_report"),
            "schedule_variance_days DESC NULLS LAST, project_id",
            kpis=(Kpi("projects", "count(*)", "number"),
                  Kpi("progress", "avg(r.progress) FILTER (WHERE NOT r.is_finished)", "percent"),
                  Kpi("overdue_tasks", "sum(r.overdue_task_count)", "number")),
            chart=("project_status", "count(*)", "bar"),
            pct_cols=("progress",),
        ),
        MartView(
            "collections", "marts.mart_collections",
            ("contract_id", "account_id", "signed_date", "contract_status", "contract_value_cny", "invoiced_cny",
             "collected_cny", "billed_pct", "collected_pct", "receivables_cny", "ar_current", "ar_1_30",
             "ar_31_60", "ar_61_90", "ar_over_90"),
            "receivables_cny DESC NULLS LAST, contract_id",
            via_opportunity=True,
            kpis=(Kpi("contract_value", "sum(r.contract_value_cny)", "money"),
                  Kpi("collected_pct", "sum(r.collected_cny) / nullif(sum(r.contract_value_cny), 0)", "percent"),
                  Kpi("receivables", "sum(r.receivables_cny)", "money"),
                  Kpi("over_90", "sum(r.ar_over_90)", "money")),
            money_cols=("contract_value_cny", "invoiced_cny", "collected_cny", "receivables_cny", "ar_current",
                        "ar_1_30", "ar_31_60", "ar_61_90", "ar_over_90"),
            pct_cols=("billed_pct", "collected_pct"),
        ),
    )
}


def _where(view: MartView, scope: Scope, flt: DealFilter, month: str | None) -> tuple[str, list]:
    if view.via_opportunity:
        opp_where, params = scope.opportunity_filter("o")
        where = f"r.opportunity_id IN (SELECT o.opportunity_id FROM marts.fct_opportunities AS o WHERE {opp_where})"
    elif view.owner or view.team:
        where, params = row_filter(scope, owner=view.owner, team=view.team)
    else:  # company-level rows: only roles that see everything
        where, params = ("TRUE", []) if scope.is_everything else ("FALSE", [])
    where = f"({view.where}) AND ({where})"
    for key, value in (("region", flt.region), ("team", flt.team_id), ("rep", flt.owner_user_id)):
        if value and key in view.filters:
            where += f" AND {view.filters[key]} = ?"
            params.append(str(value))
    if view.month and month:
        where += f" AND strftime(r.{view.month}, '%Y-%m') = ?"
        params.append(month)
    return where, params


@st.cache_data(max_entries=128, show_spinner=False)
def months(snap: Snapshot, scope: Scope, key: str) -> list[str]:
    view = VIEWS[key]
    where, params = _where(view, scope, DealFilter(), None)
    df = _df(snap, f"SELECT DISTINCT strftime(r.{view.month}, '%Y-%m') AS m FROM {view.table} AS r "
                   f"WHERE {where} ORDER BY m DESC", params)
    return df["m"].dropna().tolist()


@st.cache_data(max_entries=128, show_spinner=False)
def rows(snap: Snapshot, scope: Scope, key: str, flt: DealFilter, month: str | None, limit: int = 5_000) -> pd.DataFrame:
    view = VIEWS[key]
    where, params = _where(view, scope, flt, month)
    if key == "funnel":  # summed over cohorts, sources and the scope's teams, per stage
        sql = f"""SELECT r.stage, sum(r.reached_count)::BIGINT AS reached_count, sum(r.passed_count)::BIGINT AS passed_count,
                         sum(r.strict_next_count)::BIGINT AS strict_next_count,
                         median(r.median_days_in_stage)::DOUBLE AS median_days_in_stage
                  FROM {view.table} AS r WHERE {where} GROUP BY r.stage ORDER BY {view.order_by} LIMIT ?"""
        df = _df(snap, sql, [*params, int(limit)])
        reached = df["reached_count"].where(df["reached_count"] > 0)
        return df.assign(passing_conversion=df["passed_count"] / reached, strict_conversion=df["strict_next_count"] / reached)
    cols = ", ".join(f"r.{c}" for c in view.columns)
    return _df(snap, f"SELECT {cols} FROM {view.table} AS r WHERE {where} ORDER BY {view.order_by} LIMIT ?",
               [*params, int(limit)])


@st.cache_data(max_entries=128, show_spinner=False)
def kpis(snap: Snapshot, scope: Scope, key: str, flt: DealFilter, month: str | None) -> dict[str, float | None]:
    view = VIEWS[key]
    if not view.kpis:
        return {}
    where, params = _where(view, scope, flt, month)
    aggs = ", ".join(f"({k.sql})::DOUBLE AS {k.key}" for k in view.kpis)
    df = _df(snap, f"SELECT {aggs} FROM {view.table} AS r WHERE {where}", params)
    return {k: (None if pd.isna(v) else float(v)) for k, v in df.iloc[0].items()}


@st.cache_data(max_entries=128, show_spinner=False)
def chart(snap: Snapshot, scope: Scope, key: str, flt: DealFilter, month: str | None) -> pd.DataFrame:
    view = VIEWS[key]
    x, y, _kind = view.chart
    where, params = _where(view, scope, flt, None if view.chart[2] == "line" else month)
    order = "min(r.stage_order)" if key == "funnel" else ("x" if _kind == "line" else "y DESC NULLS LAST")
    return _df(snap, f"SELECT r.{x} AS x, ({y})::DOUBLE AS y FROM {view.table} AS r WHERE {where} "
                     f"GROUP BY r.{x} ORDER BY {order} LIMIT 40", params)
