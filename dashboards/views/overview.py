"""Executive overview (经营概览): bookings, win rate, sales cycle and open pipeline by month."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from functools import partial

import duckdb
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import db, pagekit, queries, session
from dashboards import formatting as fmt
from dashboards.i18n import current_lang, month_label, t
from dashboards.queries import PublishInfo
from dashboards.scope import current_scope
from salescope.settings import get_settings

log = logging.getLogger("salescope.dashboards.overview")

PERIODS = (6, 12, 24)
DEFAULT_PERIOD = 12
PERIOD_KEY = "period"  # session-state key and URL query parameter
QUALITY_BADGES = {
    "passed": ("green", ":material/check_circle:"),
    "warnings": ("orange", ":material/warning:"),
    "failed": ("red", ":material/error:"),
}
CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def latest_complete_month(months: pd.Series, as_of: date | None) -> pd.Timestamp | None:
    """The last month that ended on or before ``as_of`` (the as-of month counts if as_of is its last day)."""
    if months.empty:
        return None
    if as_of is None:
        return months.max()
    as_of_ts = pd.Timestamp(as_of)
    first = as_of_ts.replace(day=1)
    cutoff = first if as_of_ts == first + pd.offsets.MonthEnd(0) else first - pd.DateOffset(months=1)
    complete = months[months <= cutoff]
    return complete.max() if not complete.empty else None


def _empty_state(lang: str, path: object) -> None:
    st.info(f"**{t('empty.title', lang)}**\n\n{t('empty.body', lang, path=path)}", icon=":material/inbox:")


def _stamp(info: PublishInfo | None, lang: str) -> None:
    if info is None:
        st.warning(t("overview.no_publish_log", lang), icon=":material/warning:")
        return
    as_of = info.as_of.isoformat() if info.as_of else fmt.NO_VALUE
    published = info.published_at.strftime("%Y-%m-%d %H:%M") if info.published_at else fmt.NO_VALUE
    status = info.quality_status if info.quality_status in QUALITY_BADGES else "unknown"
    color, icon = QUALITY_BADGES.get(status, ("gray", ":material/help:"))
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(t("overview.as_of", lang, as_of=as_of, published_at=published))
        st.badge(
            t(f"quality.{status}", lang),
            icon=icon,
            color=color,
            help=t("quality.help", lang)
            + (f" {t('overview.run_id', lang, run_id=info.run_id)}" if info.run_id else ""),
        )


def _period_selector(lang: str) -> int:
    period = st.segmented_control(
        t("period.label", lang),
        options=list(PERIODS),  # plain numbers: the bound URL value is the shown label (?period=24)
        default=DEFAULT_PERIOD,
        required=True,
        key=PERIOD_KEY,
        bind="query-params",
    )
    return period if period in PERIODS else DEFAULT_PERIOD


def _diff(cur: pd.Series, prev: pd.Series | None, col: str) -> float | None:
    if prev is None or pd.isna(cur[col]) or pd.isna(prev[col]):
        return None
    return float(cur[col]) - float(prev[col])


# (key, column, value format, delta format, sparkline type, delta colour); a shorter cycle is better
KPIS: tuple[tuple[str, str, Callable, Callable, str, str], ...] = (
    ("bookings", "bookings_cny", fmt.money, partial(fmt.money, signed=True), "bar", "normal"),
    ("win_rate", "win_rate", lambda v, _lang: fmt.percent(v), fmt.points, "line", "normal"),
    ("cycle", "cycle_days_mean", fmt.days, partial(fmt.days, signed=True), "line", "inverse"),
    ("pipeline", "open_pipeline_cny", fmt.money, partial(fmt.money, signed=True), "area", "normal"),
)


def _kpi_cards(complete: pd.DataFrame, window: pd.DataFrame, lang: str) -> None:
    """The latest complete month against the one before; 2 x 2 cards that stack on a phone."""
    cur = complete.iloc[-1]
    prev = complete.iloc[-2] if len(complete) > 1 else None
    month = month_label(cur["month"].year, cur["month"].month, lang)
    st.caption(t("overview.latest_month", lang, month=month))
    cells = [c for _ in range(2) for c in st.columns(2)]
    for cell, (key, col, fmt_value, fmt_delta, chart_type, delta_color) in zip(cells, KPIS, strict=True):
        diff = _diff(cur, prev, col)
        delta = None if diff is None else fmt_delta(diff, lang)
        with cell, st.container(border=True):
            st.metric(
                t(f"kpi.{key}", lang),
                fmt_value(cur[col], lang),
                delta,
                help=t(f"help.{key}", lang),
                delta_color=delta_color,
                delta_description=t("kpi.vs_prev", lang) if delta else None,
                chart_data=[float(v) for v in window[col].dropna()] or None,
                chart_type=chart_type,
            )


# (key, column, value format, delta format, delta colour): the cards under the first four, when present
EXTRA_KPIS: tuple[tuple[str, str, Callable, Callable, str], ...] = (
    ("attainment", "attainment", lambda v, _l: fmt.percent(v), fmt.points, "normal"),
    (
        "pipeline_coverage",
        "coverage",
        lambda v, _l: fmt.NO_VALUE if pd.isna(v) else f"{v:.2f}",
        lambda v, _l: f"{v:+.2f}",
        "normal",
    ),
    (
        "nps",
        "nps",
        lambda v, _l: fmt.NO_VALUE if pd.isna(v) else f"{v:.0f}",
        lambda v, _l: f"{v:+.0f}",
        "normal",
    ),
    ("dso", "dso", fmt.days, partial(fmt.days, signed=True), "inverse"),
)


def _extra_cards(extra: pd.DataFrame, latest: pd.Timestamp, window_start: pd.Timestamp, lang: str) -> None:
    """Attainment, coverage, NPS and DSO for the same month, when their marts are in the snapshot."""
    shown = [k for k in EXTRA_KPIS if k[1] in extra.columns]
    if not shown or extra.empty:
        return
    complete = extra[extra["month"] <= latest]
    if complete.empty:
        return
    cur = complete.iloc[-1]
    prev = complete.iloc[-2] if len(complete) > 1 else None
    window = complete[complete["month"] >= window_start]
    for cell, (key, col, fmt_value, fmt_delta, delta_color) in zip(
        st.columns(len(shown)), shown, strict=True
    ):
        diff = _diff(cur, prev, col)
        with cell, st.container(border=True):
            st.metric(
                t(f"kpi.{key}", lang),
                fmt_value(cur[col], lang),
                None if diff is None else fmt_delta(diff, lang),
                help=t(f"help.{key}", lang),
                delta_color=delta_color,
                delta_description=t("kpi.vs_prev", lang) if diff is not None else None,
                chart_data=[float(v) for v in window[col].dropna()] or None,
                chart_type="line",
            )


def _figure(trace: go.BaseTraceType, title: str, y_title: str, y_format: str, n_months: int) -> go.Figure:
    fig = go.Figure(trace)
    fig.update_layout(
        title={"text": title},
        height=300,
        margin={"l": 8, "r": 8, "t": 48, "b": 8},
        showlegend=False,
        xaxis={"tickformat": "%Y-%m", "dtick": "M1" if n_months <= 12 else "M3"},
        yaxis={"title": {"text": y_title}, "tickformat": y_format, "rangemode": "tozero"},
    )
    return fig


def _charts(window: pd.DataFrame, lang: str) -> None:
    div = fmt.money_axis_divisor(lang)
    n = len(window)
    x = window["month"]
    money_hover = "%{x|%Y-%m}<br>%{y:,.1f}<extra></extra>"
    figs = [
        _figure(
            go.Bar(x=x, y=window["bookings_cny"] / div, hovertemplate=money_hover),
            t("chart.bookings", lang),
            t("axis.money", lang),
            ",.0f",
            n,
        ),
        _figure(
            go.Scatter(
                x=x,
                y=window["win_rate"],
                mode="lines+markers",
                hovertemplate="%{x|%Y-%m}<br>%{y:.1%}<extra></extra>",
            ),
            t("chart.win_rate", lang),
            "",
            ".0%",
            n,
        ),
        _figure(
            go.Scatter(
                x=x,
                y=window["open_pipeline_cny"] / div,
                mode="lines+markers",
                fill="tozeroy",
                hovertemplate=money_hover,
            ),
            t("chart.pipeline", lang),
            t("axis.money", lang),
            ",.0f",
            n,
        ),
        _figure(
            go.Scatter(
                x=x,
                y=window["cycle_days_mean"],
                mode="lines+markers",
                hovertemplate="%{x|%Y-%m}<br>%{y:.1f}<extra></extra>",
            ),
            t("chart.cycle", lang),
            t("axis.days", lang),
            ",.0f",
            n,
        ),
    ]
    for i in range(0, len(figs), 2):
        for col, fig in zip(st.columns(2), figs[i : i + 2], strict=True):
            with col:
                st.plotly_chart(fig, width="stretch", config=CHART_CONFIG)


def _table(window: pd.DataFrame, lang: str, as_of: date | None) -> None:
    labels = {
        "month": t("col.month", lang),
        "bookings_cny": t("col.bookings", lang),
        "won_count": t("col.won", lang),
        "lost_count": t("col.lost", lang),
        "win_rate": t("col.win_rate", lang),
        "cycle_days_mean": t("col.cycle_mean", lang),
        "cycle_days_median": t("col.cycle_median", lang),
        "open_pipeline_cny": t("col.pipeline", lang),
        "open_count": t("col.open", lang),
    }
    table = window.assign(month=window["month"].dt.strftime("%Y-%m")).rename(columns=labels)
    st.subheader(t("table.title", lang))
    money_col = st.column_config.NumberColumn(format="localized")
    st.dataframe(
        table.iloc[::-1],
        hide_index=True,
        width="stretch",
        column_config={
            labels["bookings_cny"]: money_col,
            labels["open_pipeline_cny"]: money_col,
            labels["win_rate"]: st.column_config.NumberColumn(format="percent"),
            labels["cycle_days_mean"]: st.column_config.NumberColumn(format="%.1f"),
            labels["cycle_days_median"]: st.column_config.NumberColumn(format="%.1f"),
        },
    )
    session.download_csv(
        table, "overview.monthly", f"salescope_monthly_{as_of.isoformat() if as_of else 'snapshot'}.csv", lang
    )


def render() -> None:
    lang = current_lang()
    st.title(t("overview.title", lang))
    if session.require_page("overview", lang) is None:
        return
    path = get_settings().serving_path
    snap = db.open_snapshot(path)
    if snap is None:
        _empty_state(lang, path)
        return
    scope = current_scope()
    try:
        info = queries.publish_info(snap)
        # a scoped view reads its group in the sales-performance marts: a snapshot without them says so
        if not scope.is_everything and not pagekit.require_tables(snap, lang, *queries.PERFORMANCE_MARTS):
            return
        monthly = queries.monthly_series(snap, scope)
    except duckdb.Error:
        log.exception("cannot read serving snapshot %s", snap)
        st.error(t("error.snapshot", lang), icon=":material/error:")
        return

    _stamp(info, lang)
    as_of = info.as_of if info else None
    latest = latest_complete_month(monthly["month"], as_of)
    if latest is None:
        st.info(t("overview.no_months", lang), icon=":material/inbox:")
        return
    period = _period_selector(lang)
    complete = monthly[monthly["month"] <= latest]
    window = complete.tail(period)
    _kpi_cards(complete, window, lang)
    _extra_cards(queries.extra_monthly_kpis(snap, scope), latest, window["month"].min(), lang)
    _charts(window, lang)
    _table(window, lang, as_of)


try:
    render()
    st.session_state.pop(pagekit.RETRY_KEY, None)
except db.SnapshotReplaced:
    pagekit.start_over("overview", current_lang())
except Exception:  # never a stack trace for users; the log has it
    log.exception("overview page failed")
    st.error(t("error.generic", current_lang()), icon=":material/error:")
