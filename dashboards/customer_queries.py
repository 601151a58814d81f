"""The SQL of the customers page and the account 360 page (``?account=ID``).

Like ``queries.py``: every function is cached with ``st.cache_data`` and takes the snapshot identity and
the user's ``Scope``. Accounts are scoped by their owner (``scope.row_filter`` on
``owner_user_id``: a rep their own accounts, a manager the accounts owned by their team); deals and
invoices of an account additionally by the opportunity scope. Company-level marts (cohorts, NRR, NPS by
segment) return rows only for scopes that see everything. Aggregation happens in DuckDB; identifiers
are constants, values are parameters. ``ml.customer_ltv`` is joined at query time (ML runs after dbt)
and only when the snapshot has it.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboards.db import Snapshot
from dashboards.queries import DealFilter, available_tables, run_query
from dashboards.scope import Scope, row_filter

PROFILE = "marts.mart_customer_profile"
LTV = "ml.customer_ltv"
COHORTS = "marts.mart_customer_cohorts"
NPS = "marts.mart_nps"
CONTACTS = "marts.dim_contacts"
TOUCHPOINTS = "marts.fct_touchpoints"
DEALS = "marts.fct_opportunities"
PROJECTS = "marts.mart_project_delivery"
INVOICES = "marts.fct_invoices"
NPS_RESPONSES = "marts.fct_nps_responses"

TIERS = ("A", "B", "C", "D")
# bins of the LTV histogram: floor(log10(LTV) * BINS_PER_DECADE), i.e. half a decade per bin
BINS_PER_DECADE = 2


def has_ltv(snap: Snapshot) -> bool:
    return LTV in available_tables(snap)


def _ltv_sql(snap: Snapshot) -> tuple[str, str]:
    """(columns, join) of the ML LTV model; typed NULL columns when the snapshot has no ``ml.customer_ltv``."""
    if has_ltv(snap):
        return (
            "l.tier, l.lifecycle AS ml_lifecycle, l.p_alive::DOUBLE AS p_alive, "
            "l.predicted_ltv_12m_cny::DOUBLE AS predicted_ltv_12m_cny, "
            "l.predicted_ltv_24m_cny::DOUBLE AS predicted_ltv_24m_cny",
            f"LEFT JOIN {LTV} AS l ON l.account_id = p.account_id",
        )
    return (
        "NULL::VARCHAR AS tier, NULL::VARCHAR AS ml_lifecycle, NULL::DOUBLE AS p_alive, "
        "NULL::DOUBLE AS predicted_ltv_12m_cny, NULL::DOUBLE AS predicted_ltv_24m_cny",
        "",
    )


def account_where(scope: Scope, flt: DealFilter | None = None) -> tuple[str, list]:
    """The scope over ``mart_customer_profile AS p`` (by owner), ANDed with the narrowing filters."""
    where, params = row_filter(scope, owner="p.owner_user_id")
    flt = flt or DealFilter()
    if flt.region:
        where += " AND p.region = ?"
        params.append(str(flt.region))
    if flt.team_id:
        where += " AND p.owner_user_id IN (SELECT f.user_id FROM marts.dim_users AS f WHERE f.team_id = ?)"
        params.append(str(flt.team_id))
    if flt.owner_user_id:
        where += " AND p.owner_user_id = ?"
        params.append(str(flt.owner_user_id))
    return where, params


def _account_in_scope(scope: Scope, alias: str) -> tuple[str, list]:
    """``<alias>.account_id`` is an account the scope may open (owner scope)."""
    where, params = row_filter(scope, owner="p.owner_user_id")
    return f"{alias}.account_id IN (SELECT p.account_id FROM {PROFILE} AS p WHERE {where})", params


# ---- the customers overview ----------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def kpis(snap: Snapshot, scope: Scope, flt: DealFilter, as_of: date | None) -> dict[str, float | None]:
    """Customers, repurchase rate (METRICS.md: over customers whose first purchase is at least 12 months
    before the as-of date, as mart_kpi_monthly), predicted 12-month LTV and at-risk customers."""
    where, params = account_where(scope, flt)
    ml = has_ltv(snap)
    ltv = "sum(l.predicted_ltv_12m_cny)" if ml else "NULL"
    risk = "count(*) FILTER (WHERE l.lifecycle = 'at_risk')" if ml else "NULL"
    join = f"LEFT JOIN {LTV} AS l ON l.account_id = p.account_id" if ml else ""
    df = run_query(
        snap,
        f"""
        SELECT count(*) FILTER (WHERE p.is_customer)::DOUBLE AS customers,
               avg(CASE WHEN p.is_repurchaser THEN 1.0 ELSE 0.0 END)
                   FILTER (WHERE p.is_customer AND p.first_purchase_date + INTERVAL 12 MONTH <= ?::DATE)::DOUBLE
                   AS repurchase_rate,
               ({ltv})::DOUBLE AS predicted_ltv_12m, ({risk})::DOUBLE AS at_risk
        FROM {PROFILE} AS p {join}
        WHERE {where}""",
        [as_of, *params],
    )
    return {k: (None if pd.isna(v) else float(v)) for k, v in df.iloc[0].items()}


@st.cache_data(max_entries=16, show_spinner=False)
def nrr_trend(snap: Snapshot, scope: Scope) -> pd.DataFrame:
    """12-month net revenue retention per first-purchase cohort (company level; empty for other scopes)."""
    if not scope.is_everything or COHORTS not in available_tables(snap):
        return pd.DataFrame(
            {"cohort_month": pd.Series(dtype="datetime64[ns]"), "nrr": pd.Series(dtype=float)}
        )
    df = run_query(
        snap,
        f"""
        SELECT c.cohort_month::DATE AS cohort_month, max(c.net_revenue_retention_12m)::DOUBLE AS nrr
        FROM {COHORTS} AS c
        WHERE c.net_revenue_retention_12m IS NOT NULL
        GROUP BY 1 ORDER BY 1""",
    )
    df["cohort_month"] = pd.to_datetime(df["cohort_month"])
    return df


@st.cache_data(max_entries=16, show_spinner=False)
def cohort_retention(snap: Snapshot, scope: Scope, max_offset: int = 24) -> pd.DataFrame:
    """Retention per cohort month and month offset 1..max_offset (company level; empty for other scopes)."""
    if not scope.is_everything or COHORTS not in available_tables(snap):
        return pd.DataFrame(
            columns=["cohort_month", "month_offset", "cohort_customers", "customers_retained", "retention"]
        )
    df = run_query(
        snap,
        f"""
        SELECT c.cohort_month::DATE AS cohort_month, c.month_offset::INTEGER AS month_offset,
               c.cohort_customers::BIGINT AS cohort_customers, c.customers_retained::BIGINT AS customers_retained,
               c.retention::DOUBLE AS retention
        FROM {COHORTS} AS c
        WHERE c.month_offset BETWEEN 1 AND ?
        ORDER BY c.cohort_month, c.month_offset""",
        [int(max_offset)],
    )
    df["cohort_month"] = pd.to_datetime(df["cohort_month"])
    return df


@st.cache_data(max_entries=64, show_spinner=False)
def tier_lifecycle(snap: Snapshot, scope: Scope, flt: DealFilter) -> pd.DataFrame:
    """Customers per tier and lifecycle (the ML lifecycle, which adds at_risk; the mart's without ML), with
    their predicted 12-month LTV and mean P(alive)."""
    where, params = account_where(scope, flt)
    cols, join = _ltv_sql(snap)
    return run_query(
        snap,
        f"""
        WITH a AS (SELECT p.lifecycle, {cols} FROM {PROFILE} AS p {join} WHERE p.is_customer AND {where})
        SELECT a.tier, coalesce(a.ml_lifecycle, a.lifecycle) AS lifecycle, count(*)::BIGINT AS customers,
               sum(a.predicted_ltv_12m_cny)::DOUBLE AS predicted_ltv_12m_cny, avg(a.p_alive)::DOUBLE AS p_alive
        FROM a GROUP BY ALL ORDER BY a.tier NULLS LAST, lifecycle""",
        params,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def ltv_histogram(snap: Snapshot, scope: Scope, flt: DealFilter) -> pd.DataFrame:
    """Customers per predicted 12-month LTV bin (log scale, ``BINS_PER_DECADE`` bins per power of ten) and
    tier; ``low``/``high`` are the bin's edges in CNY."""
    if not has_ltv(snap):
        return pd.DataFrame(columns=["bin", "low", "high", "tier", "customers"])
    where, params = account_where(scope, flt)
    return run_query(
        snap,
        f"""
        WITH b AS (
            SELECT floor(log10(greatest(l.predicted_ltv_12m_cny, 1)) * {BINS_PER_DECADE})::INTEGER AS bin, l.tier
            FROM {PROFILE} AS p JOIN {LTV} AS l ON l.account_id = p.account_id
            WHERE l.predicted_ltv_12m_cny IS NOT NULL AND p.is_customer AND {where})
        SELECT b.bin, pow(10, b.bin / {BINS_PER_DECADE}.0)::DOUBLE AS low,
               pow(10, (b.bin + 1) / {BINS_PER_DECADE}.0)::DOUBLE AS high, b.tier, count(*)::BIGINT AS customers
        FROM b GROUP BY ALL ORDER BY b.bin, b.tier NULLS LAST""",
        params,
    )


@st.cache_data(max_entries=16, show_spinner=False)
def nps_by_segment(snap: Snapshot, scope: Scope) -> pd.DataFrame:
    """NPS and responses per segment for the latest year and the latest quarter (company level)."""
    cols = [
        "segment_type",
        "segment",
        "year_start",
        "nps_year",
        "responses_year",
        "quarter_start",
        "nps_quarter",
        "responses_quarter",
    ]
    if not scope.is_everything or NPS not in available_tables(snap):
        return pd.DataFrame(columns=cols)
    return run_query(
        snap,
        f"""
        WITH latest AS (
            SELECT n.period_type, max(n.period_start) AS period_start FROM {NPS} AS n
            WHERE n.period_type IN ('year', 'quarter') GROUP BY 1),
        r AS (SELECT n.* FROM {NPS} AS n JOIN latest USING (period_type, period_start))
        SELECT r.segment_type, r.segment,
               max(r.period_start) FILTER (WHERE r.period_type = 'year')::DATE AS year_start,
               max(r.nps) FILTER (WHERE r.period_type = 'year')::DOUBLE AS nps_year,
               max(r.responses) FILTER (WHERE r.period_type = 'year')::BIGINT AS responses_year,
               max(r.period_start) FILTER (WHERE r.period_type = 'quarter')::DATE AS quarter_start,
               max(r.nps) FILTER (WHERE r.period_type = 'quarter')::DOUBLE AS nps_quarter,
               max(r.responses) FILTER (WHERE r.period_type = 'quarter')::BIGINT AS responses_quarter
        FROM r GROUP BY 1, 2
        ORDER BY CASE r.segment_type WHEN 'all' THEN 0 ELSE 1 END, r.segment_type, nps_year DESC NULLS LAST""",
    )


_ACCOUNT_COLS = """p.account_id, p.account_name, p.industry, p.region, p.size_band,
                   coalesce(u.name, p.owner_user_id) AS owner, p.lifecycle, {ltv_cols},
                   p.monetary_cny::DOUBLE AS monetary_cny, p.historical_ltv_cny::DOUBLE AS historical_ltv_cny,
                   p.frequency, p.recency_days, p.touchpoints_90d, p.last_touch_date, p.last_nps_score"""


@st.cache_data(max_entries=64, show_spinner=False)
def at_risk(snap: Snapshot, scope: Scope, flt: DealFilter, limit: int = 200) -> pd.DataFrame:
    """Customers the LTV model puts at risk (P(alive) < 0.5), most predicted value first."""
    if not has_ltv(snap):
        return pd.DataFrame()
    where, params = account_where(scope, flt)
    cols, join = _ltv_sql(snap)
    return run_query(
        snap,
        f"""
        SELECT {_ACCOUNT_COLS.format(ltv_cols=cols)}
        FROM {PROFILE} AS p {join}
        LEFT JOIN marts.dim_users AS u ON u.user_id = p.owner_user_id
        WHERE l.lifecycle = 'at_risk' AND {where}
        ORDER BY l.predicted_ltv_12m_cny DESC NULLS LAST, p.account_id
        LIMIT ?""",
        [*params, int(limit)],
    )


@st.cache_data(max_entries=64, show_spinner=False)
def accounts(snap: Snapshot, scope: Scope, flt: DealFilter, limit: int = 2_000) -> pd.DataFrame:
    """The scope's accounts (customers first, largest purchases first), at most ``limit``."""
    where, params = account_where(scope, flt)
    cols, join = _ltv_sql(snap)
    return run_query(
        snap,
        f"""
        SELECT {_ACCOUNT_COLS.format(ltv_cols=cols)}, count(*) OVER ()::BIGINT AS total
        FROM {PROFILE} AS p {join}
        LEFT JOIN marts.dim_users AS u ON u.user_id = p.owner_user_id
        WHERE {where}
        ORDER BY p.is_customer DESC, p.monetary_cny DESC NULLS LAST, p.account_id
        LIMIT ?""",
        [*params, int(limit)],
    )


# ---- account 360 ---------------------------------------------------------------------------------------


@st.cache_data(max_entries=256, show_spinner=False)
def account_profile(snap: Snapshot, scope: Scope, account_id: str) -> pd.DataFrame:
    """One account, only when the scope may open it (empty otherwise: another rep's account looks like none)."""
    where, params = account_where(scope)
    cols, join = _ltv_sql(snap)
    return run_query(
        snap,
        f"""
        SELECT {_ACCOUNT_COLS.format(ltv_cols=cols)}, p.is_customer, p.first_purchase_date, p.last_purchase_date,
               p.last_nps_date, p.last_nps_category
        FROM {PROFILE} AS p {join}
        LEFT JOIN marts.dim_users AS u ON u.user_id = p.owner_user_id
        WHERE p.account_id = ? AND {where}""",
        [str(account_id), *params],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def account_contacts(snap: Snapshot, scope: Scope, account_id: str) -> pd.DataFrame:
    """The account's contacts; phone, email and WeChat id masked in SQL unless the scope may see PII."""
    in_scope, params = _account_in_scope(scope, "c")
    return run_query(
        snap,
        f"""
        SELECT c.contact_name, c.title, c.is_decision_maker,
               {scope.pii("c.phone", "phone")} AS phone,
               {scope.pii("c.email", "email")} AS email,
               {scope.pii("c.wechat_id")} AS wechat_id
        FROM {CONTACTS} AS c
        WHERE c.account_id = ? AND {in_scope}
        ORDER BY c.is_decision_maker DESC, c.contact_name, c.contact_id""",
        [str(account_id), *params],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def account_touchpoints(snap: Snapshot, scope: Scope, account_id: str, limit: int = 200) -> pd.DataFrame:
    """Every touchpoint of the account, newest first, at most ``limit``; ``total`` counts them all."""
    in_scope, params = _account_in_scope(scope, "t")
    return run_query(
        snap,
        f"""
        SELECT t.occurred_at, t.channel, t.direction, t.duration_minutes, t.subject, c.contact_name,
               t.opportunity_id, coalesce(u.name, t.user_id) AS by_user, count(*) OVER ()::BIGINT AS total
        FROM {TOUCHPOINTS} AS t
        LEFT JOIN {CONTACTS} AS c ON c.contact_id = t.contact_id
        LEFT JOIN marts.dim_users AS u ON u.user_id = t.user_id
        WHERE t.account_id = ? AND {in_scope}
        ORDER BY t.occurred_at DESC, t.touchpoint_id DESC
        LIMIT ?""",
        [str(account_id), *params, int(limit)],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def account_deals(snap: Snapshot, scope: Scope, account_id: str) -> pd.DataFrame:
    """The account's deals within the opportunity scope, newest first."""
    in_scope, params = _account_in_scope(scope, "o")
    opp, opp_params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""
        SELECT o.opportunity_id, o.opportunity_name, coalesce(u.name, o.owner_user_id) AS owner, o.current_stage,
               o.amount_cny::DOUBLE AS amount_cny, o.created_at, o.won_at, o.lost_at, o.expected_close_date
        FROM {DEALS} AS o
        LEFT JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
        WHERE o.account_id = ? AND {in_scope} AND {opp}
        ORDER BY o.created_at DESC, o.opportunity_id""",
        [str(account_id), *params, *opp_params],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def account_projects(snap: Snapshot, scope: Scope, account_id: str) -> pd.DataFrame:
    in_scope, params = _account_in_scope(scope, "d")
    return run_query(
        snap,
        f"""
        SELECT d.project_id, d.project_name, d.project_status, d.planned_end_date, d.actual_or_forecast_end_date,
               d.progress::DOUBLE AS progress, d.task_count, d.overdue_task_count, d.schedule_variance_days
        FROM {PROJECTS} AS d
        WHERE d.account_id = ? AND {in_scope}
        ORDER BY d.planned_end_date DESC NULLS LAST, d.project_id""",
        [str(account_id), *params],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def account_invoices(snap: Snapshot, scope: Scope, account_id: str) -> pd.DataFrame:
    """The account's invoices; outside whole-company scopes only those billing a deal in the opportunity
    scope (as the collections page)."""
    in_scope, params = _account_in_scope(scope, "i")
    if scope.is_everything:
        billed, billed_params = "TRUE", []
    else:
        opp, billed_params = scope.opportunity_filter("o")
        billed = f"i.opportunity_id IN (SELECT o.opportunity_id FROM {DEALS} AS o WHERE {opp})"
    return run_query(
        snap,
        f"""
        SELECT i.invoice_id, i.contract_id, i.invoice_date, i.due_date, i.amount_cny::DOUBLE AS amount_cny,
               i.collected_cny::DOUBLE AS collected_cny, i.unpaid_cny::DOUBLE AS unpaid_cny, i.days_past_due,
               i.aging_bucket, i.is_overdue
        FROM {INVOICES} AS i
        WHERE i.account_id = ? AND {in_scope} AND {billed}
        ORDER BY i.invoice_date DESC, i.invoice_id DESC""",
        [str(account_id), *params, *billed_params],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def account_nps(snap: Snapshot, scope: Scope, account_id: str) -> pd.DataFrame:
    in_scope, params = _account_in_scope(scope, "r")
    return run_query(
        snap,
        f"""
        SELECT r.responded_date, r.score, r.nps_category, c.contact_name, r.comment
        FROM {NPS_RESPONSES} AS r
        LEFT JOIN {CONTACTS} AS c ON c.contact_id = r.contact_id
        WHERE r.account_id = ? AND {in_scope}
        ORDER BY r.responded_date DESC, r.response_id DESC""",
        [str(account_id), *params],
    )
