"""The one query layer: ``run_query`` executes every SQL of the dashboards; the queries of the overview,
deals and quality pages live here (``sales_queries``, ``money_queries``, ``customer_queries`` hold the others).

Every function is cached with ``st.cache_data`` and takes the snapshot identity (so a new publish is a new
cache key) and, for business rows, the user's ``Scope`` (so one user's cached rows never serve another
scope). Filters are parameterised (``DealFilter`` narrows a scope, never widens it); the only text put into
SQL is the constant fragments from ``Scope``. Aggregation happens in DuckDB; pandas only receives the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
import streamlit as st

from dashboards.db import Snapshot, reading
from dashboards.scope import Scope

log = logging.getLogger("salescope.dashboards.queries")

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


# called with (sql, seconds) after every query; the dashboard bench sets it to time each page's queries
on_query: Callable[[str, float], None] | None = None
SLOW_QUERY_S = 0.3  # the per-page budget: one query over it is worth a log line


def run_query(snap: Snapshot, sql: str, params: list | None = None) -> pd.DataFrame:
    """Run one read-only query on the snapshot and return its rows: the one place the dashboards execute SQL.

    Values always travel in ``params``; callers cache the result (``st.cache_data``) keyed on the snapshot and,
    for business rows, the user's ``Scope``."""
    # one cursor per call (the shared connection is not thread-safe), held open against a concurrent publish
    with reading(snap) as cur:
        started = time.perf_counter()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            seconds = time.perf_counter() - started
            if seconds > SLOW_QUERY_S:
                log.warning("slow dashboard query (%.0f ms): %s", seconds * 1000, " ".join(sql.split())[:200])
            if on_query is not None:
                on_query(sql, seconds)


@st.cache_data(max_entries=16, show_spinner=False)
def publish_info(snap: Snapshot) -> PublishInfo | None:
    """The latest publish record: what this snapshot is. Not row data, so not scoped."""
    df = run_query(
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

# The sales-performance marts hold the figures of mart_bookings_monthly per group and month (METRICS.md; all
# three are built from fct_opportunities): mart_rep_performance per rep, mart_sales_performance_rollup per
# team, region and the company. A scoped overview reads the one group that is the scope
# (Scope.performance_group) on the company mart's month spine; months without a row are zeros.
PERFORMANCE_MARTS = ("marts.mart_rep_performance", "marts.mart_sales_performance_rollup")
_PERFORMANCE_COLUMNS = (
    "month, bookings_cny, won_count, lost_count, win_rate, cycle_days_mean, cycle_days_median, "
    "open_pipeline_cny, open_count"
)
_SCOPED_MONTHLY_SQL = f"""
WITH performance AS (
    SELECT 'rep' AS level, user_id AS group_id, {_PERFORMANCE_COLUMNS} FROM marts.mart_rep_performance
    UNION ALL
    SELECT level, group_id, {_PERFORMANCE_COLUMNS} FROM marts.mart_sales_performance_rollup
),
scoped AS (
    SELECT * FROM performance AS p WHERE {{scope}}
)
SELECT s.month::DATE AS month,
       coalesce(p.bookings_cny, 0)::DOUBLE AS bookings_cny,
       coalesce(p.won_count, 0)::BIGINT AS won_count,
       coalesce(p.lost_count, 0)::BIGINT AS lost_count,
       p.win_rate::DOUBLE AS win_rate,
       p.cycle_days_mean::DOUBLE AS cycle_days_mean,
       p.cycle_days_median::DOUBLE AS cycle_days_median,
       coalesce(p.open_pipeline_cny, 0)::DOUBLE AS open_pipeline_cny,
       coalesce(p.open_count, 0)::BIGINT AS open_count
FROM marts.mart_bookings_monthly AS s
LEFT JOIN scoped AS p ON p.month = s.month
ORDER BY s.month
"""


def scoped_monthly_sql(scope: Scope) -> tuple[str, list]:
    where, params = scope.performance_group("p")
    return _SCOPED_MONTHLY_SQL.format(scope=where), params


@st.cache_data(max_entries=64, show_spinner=False)
def monthly_series(snap: Snapshot, scope: Scope, *, from_performance_marts: bool = False) -> pd.DataFrame:
    """One row per month (MONTHLY_COLUMNS). The whole-company mart when the scope sees everything; otherwise
    the scope's group in the sales-performance marts (PERFORMANCE_MARTS). ``from_performance_marts`` reads the
    company's group there (tests use it to check both agree)."""
    if scope.is_everything and not from_performance_marts:
        df = run_query(snap, _MART_MONTHLY_SQL)
    else:
        sql, params = scoped_monthly_sql(scope)
        df = run_query(snap, sql, params)
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
    return run_query(snap, sql, [*params, int(limit)])


# ---- what the snapshot holds --------------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def available_tables(snap: Snapshot) -> frozenset[str]:
    """``schema.table`` names in the snapshot: pages whose mart has not landed yet say so instead of failing."""
    df = run_query(
        snap,
        "SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() WHERE database_name = ?",
        ["serving"],
    )
    views = run_query(
        snap,
        "SELECT schema_name || '.' || view_name AS name FROM duckdb_views() WHERE database_name = ?",
        ["serving"],
    )
    return frozenset(df["name"]) | frozenset(views["name"])


# ---- deals (row scope applied; narrowing filters are parameters inside the scope) ------------------------


@dataclass(frozen=True)
class DealFilter:
    """Narrowing filters from the URL or widgets. They only ever AND with the scope, never widen it."""

    region: str | None = None
    team_id: str | None = None
    owner_user_id: str | None = None
    stage: str | None = None


def _deal_where(scope: Scope, flt: DealFilter) -> tuple[str, list]:
    where, params = scope.opportunity_filter("o")
    for col, value in (
        ("region", flt.region),
        ("team_id", flt.team_id),
        ("owner_user_id", flt.owner_user_id),
        ("current_stage", flt.stage),
    ):
        if value:
            where += f" AND o.{col} = ?"
            params.append(str(value))
    return where, params


@st.cache_data(max_entries=64, show_spinner=False)
def filter_options(snap: Snapshot, scope: Scope) -> pd.DataFrame:
    """Regions, teams and reps that own opportunities the scope can see (for the filter pickers)."""
    where, params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""SELECT DISTINCT o.region, o.team_id, coalesce(u.team_name, o.team_id) AS team_name,
                   o.owner_user_id, coalesce(u.name, o.owner_user_id) AS owner_name
            FROM marts.fct_opportunities AS o
            LEFT JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
            WHERE {where}
            ORDER BY 1, 2, 5""",
        params,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def open_deals(snap: Snapshot, scope: Scope, flt: DealFilter, limit: int = 2_000) -> pd.DataFrame:
    """The scope's open deals, longest in their stage first."""
    where, params = _deal_where(scope, flt)
    return run_query(
        snap,
        f"""SELECT o.opportunity_id, o.opportunity_name, a.account_name, coalesce(u.name, o.owner_user_id) AS owner,
                   o.region, o.current_stage, o.amount_cny::DOUBLE AS amount_cny, o.days_in_current_stage,
                   o.push_count, o.regression_count, o.expected_close_date
            FROM marts.fct_opportunities AS o
            LEFT JOIN marts.dim_accounts AS a ON a.account_id = o.account_id
            LEFT JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
            WHERE o.is_open AND {where}
            ORDER BY o.days_in_current_stage DESC NULLS LAST, o.amount_cny DESC NULLS LAST, o.opportunity_id
            LIMIT ?""",
        [*params, int(limit)],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def deal(snap: Snapshot, scope: Scope, opportunity_id: str) -> pd.DataFrame:
    """One deal, only when it is inside the scope (empty otherwise: another rep's deal looks like no deal)."""
    where, params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""SELECT o.opportunity_id, o.opportunity_name, o.account_id, a.account_name,
                   coalesce(u.name, o.owner_user_id) AS owner, o.region, o.lead_source, o.product_line,
                   o.current_stage, o.amount_cny::DOUBLE AS amount_cny, o.created_at, o.won_at, o.lost_at,
                   o.days_in_current_stage, o.push_count, o.regression_count, o.expected_close_date
            FROM marts.fct_opportunities AS o
            LEFT JOIN marts.dim_accounts AS a ON a.account_id = o.account_id
            LEFT JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
            WHERE o.opportunity_id = ? AND {where}""",
        [str(opportunity_id), *params],
    )


# ---- data quality (stewards; raw records have contact PII masked in SQL) --------------------------------

# JSON values of PII-named keys, then e-mail addresses and long digit runs (phone numbers) anywhere
_PII_KEYS = r'("[^"]*(phone|mobile|email|mail|wechat|电话|手机|邮箱|微信)[^"]*"\s*:\s*)"[^"]*"'


def masked_text_sql(expr: str) -> str:
    if not expr.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"bad column expression: {expr!r}")
    return (
        "regexp_replace(regexp_replace(regexp_replace("
        f"CAST({expr} AS VARCHAR), '{_PII_KEYS}', '\\1\"***\"', 'gi'), "
        r"'[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+', '***@***', 'g'), "
        r"'\+?\d[\d\- ]{5,}\d', '***', 'g')"
    )


@st.cache_data(max_entries=16, show_spinner=False)
def validation_results(snap: Snapshot) -> pd.DataFrame:
    """The checks of the run that produced this snapshot."""
    return run_query(
        snap,
        """SELECT suite, expectation, "column", success, severity, unexpected_count,
                  unexpected_percent::DOUBLE AS unexpected_percent, detail
           FROM quality.validation_results
           WHERE run_id = (SELECT run_id FROM quality.validation_results ORDER BY validated_at DESC LIMIT 1)
           ORDER BY success, CASE severity WHEN 'blocking' THEN 0 ELSE 1 END, suite, expectation""",
    )


@st.cache_data(max_entries=16, show_spinner=False)
def issue_summary(snap: Snapshot) -> pd.DataFrame:
    return run_query(
        snap,
        """SELECT entity, kind, severity, action, count(*)::BIGINT AS issues
           FROM quality.issues GROUP BY ALL ORDER BY issues DESC, entity, kind""",
    )


@st.cache_data(max_entries=16, show_spinner=False)
def load_log(snap: Snapshot) -> pd.DataFrame:
    return run_query(
        snap,
        """SELECT entity, file, status, rows_read, rows_loaded, rows_quarantined, message, loaded_at
           FROM ops.load_log ORDER BY loaded_at DESC, entity LIMIT 500""",
    )


@st.cache_data(max_entries=16, show_spinner=False)
def quarantine(snap: Snapshot, limit: int = 1_000) -> pd.DataFrame:
    """Quarantined rows with the reason; contact PII in the raw record is masked in SQL."""
    return run_query(
        snap,
        f"""SELECT entity, source_file, source_row, record_key, kind, column_name, reason,
                   {masked_text_sql("raw_record")} AS raw_record
            FROM ops.quarantine ORDER BY entity, source_file, source_row LIMIT ?""",
        [int(limit)],
    )


# ---- deal page extras (each used only when its mart is in the snapshot) --------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def open_deal_risk(
    snap: Snapshot, scope: Scope, flt: DealFilter, limit: int = 2_000, *, with_scores: bool = False
) -> pd.DataFrame:
    """Open deals from mart_deal_risk (METRICS.md stalled deal), stalled first, with the reasons; with the ML
    win probability (ml.deal_scores) when ``with_scores``."""
    where, params = _deal_where(scope, flt)
    score = "s.win_probability::DOUBLE" if with_scores else "NULL::DOUBLE"
    join = "LEFT JOIN ml.deal_scores AS s ON s.opportunity_id = o.opportunity_id" if with_scores else ""
    return run_query(
        snap,
        f"""SELECT o.opportunity_id, o.opportunity_name, a.account_name, coalesce(u.name, o.owner_user_id) AS owner,
                   o.region, o.current_stage, o.amount_cny::DOUBLE AS amount_cny, {score} AS win_probability,
                   o.is_stalled, o.stall_reasons,
                   o.risk_reasons, o.days_in_current_stage, o.stage_p75_days::DOUBLE AS stage_p75_days,
                   o.days_since_last_touch, o.push_count, o.expected_close_date
            FROM marts.mart_deal_risk AS o
            LEFT JOIN marts.dim_accounts AS a ON a.account_id = o.account_id
            LEFT JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
            {join}
            WHERE {where}
            ORDER BY o.is_stalled DESC, o.days_over_stage_p75 DESC NULLS LAST, o.amount_cny DESC NULLS LAST,
                     o.opportunity_id
            LIMIT ?""",
        [*params, int(limit)],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def deal_risk(snap: Snapshot, scope: Scope, opportunity_id: str) -> pd.DataFrame:
    where, params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""SELECT o.is_stalled, o.stall_reasons, o.risk_reasons, o.stage_p75_days::DOUBLE AS stage_p75_days,
                   o.days_since_last_touch, o.touchpoints_30d
            FROM marts.mart_deal_risk AS o WHERE o.opportunity_id = ? AND {where}""",
        [str(opportunity_id), *params],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def stage_history(snap: Snapshot, scope: Scope, opportunity_id: str) -> pd.DataFrame:
    where, params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""SELECT t.stage, t.entered_at, t.exited_at, t.days_in_stage, t.next_stage, t.is_regression, t.is_skip
            FROM marts.fct_stage_transitions AS t
            JOIN marts.fct_opportunities AS o ON o.opportunity_id = t.opportunity_id
            WHERE t.opportunity_id = ? AND {where}
            ORDER BY t.entered_at, t.entry_number""",
        [str(opportunity_id), *params],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def touchpoints(snap: Snapshot, scope: Scope, opportunity_id: str, limit: int = 200) -> pd.DataFrame:
    where, params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""SELECT t.occurred_at, t.channel, t.direction, t.duration_minutes, t.subject,
                   coalesce(u.name, t.user_id) AS by_user
            FROM marts.fct_touchpoints AS t
            JOIN marts.fct_opportunities AS o ON o.opportunity_id = t.opportunity_id
            LEFT JOIN marts.dim_users AS u ON u.user_id = t.user_id
            WHERE t.opportunity_id = ? AND {where}
            ORDER BY t.occurred_at DESC
            LIMIT ?""",
        [str(opportunity_id), *params, int(limit)],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def deal_contacts(snap: Snapshot, scope: Scope, opportunity_id: str) -> pd.DataFrame:
    """The contacts at the deal's account; phone, email and WeChat id masked in SQL unless the scope is the
    owning rep or their manager (DESIGN.md)."""
    where, params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""SELECT c.contact_name, c.title, c.is_decision_maker,
                   {scope.pii("c.phone", "phone")} AS phone,
                   {scope.pii("c.email", "email")} AS email,
                   {scope.pii("c.wechat_id")} AS wechat_id
            FROM marts.dim_contacts AS c
            JOIN marts.fct_opportunities AS o ON o.account_id = c.account_id
            WHERE o.opportunity_id = ? AND {where}
            ORDER BY c.is_decision_maker DESC, c.contact_name""",
        [str(opportunity_id), *params],
    )


# ---- more overview KPIs, each from its mart when the snapshot has it ------------------------------------


@st.cache_data(max_entries=64, show_spinner=False)
def extra_monthly_kpis(snap: Snapshot, scope: Scope) -> pd.DataFrame:
    """One row per month: attainment (scoped, from mart_rep_performance), and for whole-company scopes
    pipeline coverage (mart_forecast), NPS and DSO (mart_kpi_monthly). Absent marts give absent columns."""
    from dashboards.scope import row_filter

    tables = available_tables(snap)
    frames: list[pd.DataFrame] = []
    if "marts.mart_rep_performance" in tables:
        where, params = row_filter(scope, owner="r.user_id", team="r.team_id")
        frames.append(
            run_query(
                snap,
                f"""
            SELECT r.month::DATE AS month,
                   (sum(r.bookings_cny) / nullif(sum(r.quota_cny), 0))::DOUBLE AS attainment
            FROM marts.mart_rep_performance AS r WHERE {where} GROUP BY 1""",
                params,
            )
        )
    if scope.is_everything and "marts.mart_forecast" in tables:
        frames.append(
            run_query(
                snap,
                """
            SELECT r.period_start::DATE AS month, max(r.pipeline_coverage)::DOUBLE AS coverage
            FROM marts.mart_forecast AS r WHERE r.level = 'company' AND r.period_type = 'month' GROUP BY 1""",
            )
        )
    if scope.is_everything and "marts.mart_kpi_monthly" in tables:
        frames.append(
            run_query(
                snap,
                """
            SELECT r.month::DATE AS month, r.nps::DOUBLE AS nps, r.dso::DOUBLE AS dso
            FROM marts.mart_kpi_monthly AS r""",
            )
        )
    out = pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]")})
    for f in frames:
        f["month"] = pd.to_datetime(f["month"])
        out = f if out.empty and len(out.columns) == 1 else out.merge(f, on="month", how="outer")
    return out.sort_values("month").reset_index(drop=True)


@st.cache_data(max_entries=256, show_spinner=False)
def deal_score(snap: Snapshot, scope: Scope, opportunity_id: str) -> pd.DataFrame:
    """The ML win probability (0–1), its score and reasons (JSON) for a deal in scope (ml.deal_scores)."""
    where, params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""SELECT s.win_probability::DOUBLE AS win_probability, s.score, s.reasons, s.model_version
            FROM ml.deal_scores AS s
            JOIN marts.fct_opportunities AS o ON o.opportunity_id = s.opportunity_id
            WHERE s.opportunity_id = ? AND {where}
            ORDER BY s.as_of DESC LIMIT 1""",
        [str(opportunity_id), *params],
    )


@st.cache_data(max_entries=256, show_spinner=False)
def next_actions(snap: Snapshot, scope: Scope, opportunity_id: str) -> pd.DataFrame:
    """Ranked next best actions for a deal in scope (ml.next_actions)."""
    where, params = scope.opportunity_filter("o")
    return run_query(
        snap,
        f"""SELECT a.rank, a.action_zh, a.action_en, a.evidence
            FROM ml.next_actions AS a
            JOIN marts.fct_opportunities AS o ON o.opportunity_id = a.opportunity_id
            WHERE a.opportunity_id = ? AND {where}
            ORDER BY a.rank""",
        [str(opportunity_id), *params],
    )
