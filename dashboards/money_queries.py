"""Cached, scoped queries of the money pages: collections (回款), delivery (项目交付) and channels (渠道).

Same rules as ``queries.py``: every function takes the snapshot identity and the user's ``Scope`` (so the
cache is keyed on both), aggregates in DuckDB over the pre-built marts, and puts only constant SQL
fragments into the text; values (scope ids, months, statuses) travel as ``?`` parameters.

Scope:
- contracts (mart_collections) are scoped through their deal: ``opportunity_id`` -> ``fct_opportunities``
  filtered with ``Scope.opportunity_filter`` (a rep: own deals; a manager: the team).
- invoices (fct_invoices) and sales-to-cash rows carry their deal's owner, team and region, so the same filter
  applies to them directly (no join).
- DSO, delivery and channels are company-level marts: read only when ``scope.is_everything``; for any other
  scope these functions return an empty result without querying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from dashboards.db import Snapshot
from dashboards.queries import run_query
from dashboards.scope import Scope

AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")
# (step key, duration column of mart_sales_to_cash), in the order a deal goes through them
SALES_TO_CASH_STEPS = (
    ("created_to_won", "created_to_won_days"),
    ("won_to_signed", "won_to_signed_days"),
    ("signed_to_project_start", "signed_to_project_start_days"),
    ("project_start_to_first_invoice", "project_start_to_first_invoice_days"),
    ("first_invoice_to_first_payment", "first_invoice_to_first_payment_days"),
)
# schedule variance histogram: (bin key, lower bound inclusive, upper bound inclusive); None = open end
VARIANCE_BINS = (
    ("early", None, -1),
    ("on_time", 0, 0),
    ("1_15", 1, 15),
    ("16_30", 16, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("over_90", 91, None),
)
DOCS = ("contract", "proposal", "acceptance")
PROJECT_STATUSES = ("planning", "in_progress", "on_hold", "completed")
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear")


@dataclass(frozen=True)
class Period:
    """Calendar months ``start`` .. ``end`` inclusive, each as its first day."""

    start: date
    end: date


def _via_opportunity(scope: Scope, alias: str) -> tuple[str, list]:
    """Rows with an ``opportunity_id`` that the scope may see: everything, or those of the scope's deals."""
    if scope.is_everything:
        return "TRUE", []
    opp_where, params = scope.opportunity_filter("o")
    return (
        f"{alias}.opportunity_id IN (SELECT o.opportunity_id FROM marts.fct_opportunities AS o "
        f"WHERE {opp_where})"
    ), params


def _invoice_scope(scope: Scope) -> tuple[str, list]:
    """fct_invoices carries its deal's owner, team and region: the deal filter applies to it directly."""
    return scope.opportunity_filter("i")


def _record(df: pd.DataFrame) -> dict[str, float | None]:
    return {k: (None if pd.isna(v) else float(v)) for k, v in df.iloc[0].items()}


# ---- months a page can pick ------------------------------------------------------------------------------

# the month column of each table whose month span feeds a period picker (identifiers only from here)
MONTH_COLUMNS = {
    "marts.mart_dso_monthly": "month",
    "marts.fct_invoices": "invoice_date",
    "marts.mart_channel_roi": "month",
}


@st.cache_data(max_entries=32, show_spinner=False)
def month_span(snap: Snapshot, table: str, as_of: date | None) -> list[date]:
    """Every month from the table's first to its last (capped at the as-of month), oldest first.

    Only the month span of a whole table is read (no row values), so it is not scoped."""
    col = MONTH_COLUMNS[table]
    df = run_query(
        snap,
        f"SELECT min(date_trunc('month', r.{col}))::DATE AS lo, max(date_trunc('month', r.{col}))::DATE AS hi "
        f"FROM {table} AS r",
    )
    lo, hi = df.iloc[0]["lo"], df.iloc[0]["hi"]
    if pd.isna(lo) or pd.isna(hi):
        return []
    hi = pd.Timestamp(hi)
    if as_of is not None:
        hi = min(hi, pd.Timestamp(as_of).replace(day=1))
    return [m.date() for m in pd.date_range(pd.Timestamp(lo), hi, freq="MS")]


# ---- collections (回款) ------------------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def collection_totals(snap: Snapshot, scope: Scope) -> dict[str, float | None]:
    """Contract value, invoiced, collected, billed % and collected % (sums, then ratios), receivables and
    their aging buckets, over the scope's contracts (mart_collections, state on the as-of date)."""
    where, params = _via_opportunity(scope, "r")
    buckets = ", ".join(f"sum(r.ar_{b})::DOUBLE AS ar_{b}" for b in AGING_BUCKETS)
    df = run_query(
        snap,
        f"""
        SELECT count(*)::DOUBLE AS contracts,
               sum(r.contract_value_cny)::DOUBLE AS contract_value_cny,
               sum(r.invoiced_cny)::DOUBLE AS invoiced_cny,
               sum(r.collected_cny)::DOUBLE AS collected_cny,
               (sum(r.invoiced_cny) / nullif(sum(r.contract_value_cny), 0))::DOUBLE AS billed_pct,
               (sum(r.collected_cny) / nullif(sum(r.contract_value_cny), 0))::DOUBLE AS collected_pct,
               sum(r.receivables_cny)::DOUBLE AS receivables_cny,
               {buckets}
        FROM marts.mart_collections AS r WHERE {where}""",
        params,
    )
    return _record(df)


@st.cache_data(max_entries=64, show_spinner=False)
def contracts(snap: Snapshot, scope: Scope, limit: int = 2_000) -> pd.DataFrame:
    """The scope's contracts, largest receivables first, with the account name."""
    where, params = _via_opportunity(scope, "r")
    buckets = ", ".join(f"r.ar_{b}::DOUBLE AS ar_{b}" for b in AGING_BUCKETS)
    return run_query(
        snap,
        f"""
        SELECT r.contract_id, coalesce(a.account_name, r.account_id) AS account_name, r.signed_date,
               r.contract_status, r.contract_value_cny::DOUBLE AS contract_value_cny,
               r.invoiced_cny::DOUBLE AS invoiced_cny, r.collected_cny::DOUBLE AS collected_cny,
               r.billed_pct::DOUBLE AS billed_pct, r.collected_pct::DOUBLE AS collected_pct,
               r.receivables_cny::DOUBLE AS receivables_cny, {buckets}
        FROM marts.mart_collections AS r
        LEFT JOIN marts.dim_accounts AS a ON a.account_id = r.account_id
        WHERE {where}
        ORDER BY r.receivables_cny DESC NULLS LAST, r.contract_id
        LIMIT ?""",
        [*params, int(limit)],
    )


@st.cache_data(max_entries=64, show_spinner=False)
def invoiced_by_month(snap: Snapshot, scope: Scope, period: Period) -> pd.DataFrame:
    """Per invoice month in the period: invoiced, and how much of those invoices is collected by the as-of
    date (fct_invoices). Months without invoices are absent."""
    where, params = _invoice_scope(scope)
    return run_query(
        snap,
        f"""
        SELECT date_trunc('month', i.invoice_date)::DATE AS month,
               count(*)::BIGINT AS invoices,
               sum(i.amount_cny)::DOUBLE AS invoiced_cny,
               sum(i.collected_cny)::DOUBLE AS collected_cny,
               sum(i.unpaid_cny)::DOUBLE AS unpaid_cny
        FROM marts.fct_invoices AS i
        WHERE {where} AND i.invoice_date >= ? AND i.invoice_date < ? + INTERVAL 1 MONTH
        GROUP BY 1 ORDER BY 1""",
        [*params, period.start, period.end],
    )


@st.cache_data(max_entries=64, show_spinner=False)
def overdue_summary(snap: Snapshot, scope: Scope) -> dict[str, float | None]:
    """Count and unpaid amount of the scope's overdue invoices (all of them, not only the listed ones)."""
    where, params = _invoice_scope(scope)
    df = run_query(
        snap,
        f"""
        SELECT count(*)::DOUBLE AS overdue_invoices, coalesce(sum(i.unpaid_cny), 0)::DOUBLE AS overdue_unpaid_cny
        FROM marts.fct_invoices AS i WHERE i.is_overdue AND {where}""",
        params,
    )
    return _record(df)


@st.cache_data(max_entries=64, show_spinner=False)
def overdue_invoices(snap: Snapshot, scope: Scope, limit: int = 500) -> pd.DataFrame:
    """The scope's overdue invoices (unpaid past their due date), longest overdue first."""
    where, params = _invoice_scope(scope)
    return run_query(
        snap,
        f"""
        SELECT i.invoice_id, i.contract_id, coalesce(a.account_name, i.account_id) AS account_name,
               coalesce(u.name, i.owner_user_id) AS owner, i.invoice_date, i.due_date,
               i.amount_cny::DOUBLE AS amount_cny, i.unpaid_cny::DOUBLE AS unpaid_cny,
               i.days_past_due::BIGINT AS days_past_due, i.aging_bucket
        FROM marts.fct_invoices AS i
        LEFT JOIN marts.dim_accounts AS a ON a.account_id = i.account_id
        LEFT JOIN marts.dim_users AS u ON u.user_id = i.owner_user_id
        WHERE i.is_overdue AND {where}
        ORDER BY i.days_past_due DESC, i.unpaid_cny DESC, i.invoice_id
        LIMIT ?""",
        [*params, int(limit)],
    )


@st.cache_data(max_entries=64, show_spinner=False)
def dso_series(snap: Snapshot, scope: Scope, period: Period) -> pd.DataFrame:
    """DSO by month in the period (mart_dso_monthly). Company-level: empty unless the scope sees everything."""
    if not scope.is_everything:
        return pd.DataFrame(columns=["month", "receivables_cny", "invoiced_90d_cny", "dso"])
    df = run_query(
        snap,
        """
        SELECT r.month::DATE AS month, r.receivables_cny::DOUBLE AS receivables_cny,
               r.invoiced_90d_cny::DOUBLE AS invoiced_90d_cny, r.dso::DOUBLE AS dso
        FROM marts.mart_dso_monthly AS r
        WHERE r.month >= ? AND r.month <= ?
        ORDER BY r.month""",
        [period.start, period.end],
    )
    df["month"] = pd.to_datetime(df["month"])
    return df


@st.cache_data(max_entries=64, show_spinner=False)
def sales_to_cash(snap: Snapshot, scope: Scope) -> pd.DataFrame:
    """Median days of each step from created to first payment, and how many won deals completed the step
    (mart_sales_to_cash: deals won by the as-of date), plus the lead-to-cash median; one row per step."""
    where, params = scope.opportunity_filter("r")
    parts = [
        f"SELECT {i} AS step_order, '{key}' AS step, median(r.{col})::DOUBLE AS median_days, "
        f"count(r.{col})::BIGINT AS deals FROM marts.mart_sales_to_cash AS r WHERE {where}"
        for i, (key, col) in enumerate((*SALES_TO_CASH_STEPS, ("lead_to_cash", "lead_to_cash_days")))
    ]
    return run_query(snap, " UNION ALL ".join(parts) + " ORDER BY step_order", params * len(parts))


# ---- delivery (项目交付; company level) -----------------------------------------------------------------------


def _status_where(status: str | None) -> tuple[str, list]:
    return ("r.project_status = ?", [status]) if status else ("TRUE", [])


@st.cache_data(max_entries=64, show_spinner=False)
def project_statuses(snap: Snapshot, scope: Scope) -> list[str]:
    if not scope.is_everything:
        return []
    df = run_query(
        snap, "SELECT DISTINCT r.project_status AS s FROM marts.mart_project_delivery AS r ORDER BY 1"
    )
    return [s for s in df["s"].dropna().tolist()]


@st.cache_data(max_entries=64, show_spinner=False)
def delivery_totals(snap: Snapshot, scope: Scope, status: str | None) -> dict[str, float | None]:
    """Project counts, mean progress of unfinished projects, overdue tasks, schedule variance and document
    completeness (share of the projects that should have each document that do)."""
    if not scope.is_everything:
        return {}
    where, params = _status_where(status)
    df = run_query(
        snap,
        f"""
        SELECT count(*)::DOUBLE AS projects,
               count(*) FILTER (WHERE NOT r.is_finished)::DOUBLE AS active_projects,
               avg(r.progress) FILTER (WHERE NOT r.is_finished)::DOUBLE AS progress,
               coalesce(sum(r.overdue_task_count), 0)::DOUBLE AS overdue_tasks,
               count(*) FILTER (WHERE r.overdue_task_count > 0)::DOUBLE AS projects_with_overdue,
               median(r.schedule_variance_days)::DOUBLE AS variance_median,
               (count(*) FILTER (WHERE r.schedule_variance_days > 0)
                / nullif(count(r.schedule_variance_days), 0))::DOUBLE AS late_share,
               avg(CASE WHEN r.has_contract_doc THEN 1.0 ELSE 0.0 END)::DOUBLE AS doc_contract,
               avg(CASE WHEN r.has_proposal_doc THEN 1.0 ELSE 0.0 END)::DOUBLE AS doc_proposal,
               avg(CASE WHEN r.has_acceptance_report THEN 1.0 ELSE 0.0 END)
                   FILTER (WHERE r.is_finished)::DOUBLE AS doc_acceptance
        FROM marts.mart_project_delivery AS r WHERE {where}""",
        params,
    )
    return _record(df)


def _variance_bin_sql() -> str:
    whens = []
    for key, lo, hi in VARIANCE_BINS:
        cond = " AND ".join(
            c
            for c in (
                f"r.schedule_variance_days >= {lo}" if lo is not None else "",
                f"r.schedule_variance_days <= {hi}" if hi is not None else "",
            )
            if c
        )
        whens.append(f"WHEN {cond} THEN '{key}'")
    return "CASE " + " ".join(whens) + " END"


@st.cache_data(max_entries=64, show_spinner=False)
def variance_histogram(snap: Snapshot, scope: Scope, status: str | None) -> pd.DataFrame:
    """Projects per schedule-variance bin (bins computed in SQL), every bin present, in VARIANCE_BINS order."""
    if not scope.is_everything:
        return pd.DataFrame(columns=["bin", "projects"])
    where, params = _status_where(status)
    bins = " UNION ALL ".join(
        f"SELECT {i} AS k, '{key}' AS bin" for i, (key, _lo, _hi) in enumerate(VARIANCE_BINS)
    )
    return run_query(
        snap,
        f"""
        WITH b AS ({bins}),
        p AS (SELECT {_variance_bin_sql()} AS bin FROM marts.mart_project_delivery AS r
              WHERE r.schedule_variance_days IS NOT NULL AND {where})
        SELECT b.bin, count(p.bin)::BIGINT AS projects
        FROM b LEFT JOIN p ON p.bin = b.bin
        GROUP BY b.k, b.bin ORDER BY b.k""",
        params,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def projects_by_status(snap: Snapshot, scope: Scope) -> pd.DataFrame:
    if not scope.is_everything:
        return pd.DataFrame(columns=["project_status", "projects", "overdue_tasks"])
    return run_query(
        snap,
        """
        SELECT r.project_status, count(*)::BIGINT AS projects,
               coalesce(sum(r.overdue_task_count), 0)::BIGINT AS overdue_tasks
        FROM marts.mart_project_delivery AS r GROUP BY 1 ORDER BY projects DESC, 1""",
    )


@st.cache_data(max_entries=64, show_spinner=False)
def projects(snap: Snapshot, scope: Scope, status: str | None, limit: int = 2_000) -> pd.DataFrame:
    """Projects with the most overdue tasks and the largest slip first."""
    if not scope.is_everything:
        return pd.DataFrame()
    where, params = _status_where(status)
    return run_query(
        snap,
        f"""
        SELECT r.project_id, r.project_name, coalesce(a.account_name, r.account_id) AS account_name,
               r.contract_id, r.project_status, r.planned_end_date::DATE AS planned_end_date,
               r.actual_or_forecast_end_date::DATE AS actual_or_forecast_end_date, r.progress::DOUBLE AS progress,
               r.task_count, r.overdue_task_count, r.schedule_variance_days,
               r.has_contract_doc, r.contract_doc_version, r.has_proposal_doc, r.proposal_doc_version,
               r.has_acceptance_report, r.acceptance_report_version
        FROM marts.mart_project_delivery AS r
        LEFT JOIN marts.dim_accounts AS a ON a.account_id = r.account_id
        WHERE {where}
        ORDER BY r.overdue_task_count DESC NULLS LAST, r.schedule_variance_days DESC NULLS LAST, r.project_id
        LIMIT ?""",
        [*params, int(limit)],
    )


# ---- channels (渠道; company level) ------------------------------------------------------------------------

# every ratio recomputed from the period's sums (never an average of monthly ratios)
_CHANNEL_AGGS = """
    sum(r.leads)::BIGINT AS leads,
    sum(r.opportunities)::BIGINT AS opportunities,
    sum(r.spend_cny)::DOUBLE AS spend_cny,
    (sum(r.spend_cny) / nullif(sum(r.opportunities), 0))::DOUBLE AS cost_per_opportunity_cny,
    sum(r.won_count)::BIGINT AS won_count,
    sum(r.bookings_first_touch_cny)::DOUBLE AS bookings_first_touch_cny,
    sum(r.bookings_last_touch_cny)::DOUBLE AS bookings_last_touch_cny,
    sum(r.bookings_linear_cny)::DOUBLE AS bookings_linear_cny,
    ((sum(r.bookings_first_touch_cny) - sum(r.spend_cny)) / nullif(sum(r.spend_cny), 0))::DOUBLE AS roi_first_touch,
    ((sum(r.bookings_last_touch_cny) - sum(r.spend_cny)) / nullif(sum(r.spend_cny), 0))::DOUBLE AS roi_last_touch,
    ((sum(r.bookings_linear_cny) - sum(r.spend_cny)) / nullif(sum(r.spend_cny), 0))::DOUBLE AS roi_linear,
    sum(r.new_customers_linear)::DOUBLE AS new_customers_linear,
    (sum(r.spend_cny) / nullif(sum(r.new_customers_linear), 0))::DOUBLE AS cac_cny
"""


@st.cache_data(max_entries=64, show_spinner=False)
def channel_totals(snap: Snapshot, scope: Scope, period: Period) -> dict[str, float | None]:
    """All channels together over the period (mart_channel_roi)."""
    if not scope.is_everything:
        return {}
    df = run_query(
        snap,
        f"SELECT {_CHANNEL_AGGS} FROM marts.mart_channel_roi AS r WHERE r.month >= ? AND r.month <= ?",
        [period.start, period.end],
    )
    return _record(df)


@st.cache_data(max_entries=64, show_spinner=False)
def channel_table(snap: Snapshot, scope: Scope, period: Period) -> pd.DataFrame:
    """One row per channel over the period, largest spend first."""
    if not scope.is_everything:
        return pd.DataFrame()
    return run_query(
        snap,
        f"""
        SELECT r.channel, {_CHANNEL_AGGS}
        FROM marts.mart_channel_roi AS r WHERE r.month >= ? AND r.month <= ?
        GROUP BY r.channel ORDER BY spend_cny DESC NULLS LAST, r.channel LIMIT 100""",
        [period.start, period.end],
    )
