"""The page for one ``martviews.MartView``: month picker and filters bound to the URL, KPI cards with the
METRICS.md definition as tooltip, one chart, the table and its CSV export."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import formatting as fmt
from dashboards import martviews, pagekit, queries, session
from dashboards.filters import global_filters
from dashboards.i18n import label, t
from dashboards.queries import DealFilter
from dashboards.scope import current_scope

MONTH_PARAM = "month"
CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def _month_picker(options: list[str], lang: str) -> str | None:
    if not options:
        return None
    key = "flt_month"
    if key not in st.session_state or st.session_state[key] not in options:
        requested = st.query_params.get(MONTH_PARAM)
        st.session_state[key] = requested if requested in options else options[0]
    value = st.selectbox(t("filter.month", lang), options, key=key)
    if value == options[0]:
        st.query_params.pop(MONTH_PARAM, None)
    elif st.query_params.get(MONTH_PARAM) != value:
        st.query_params[MONTH_PARAM] = value
    return value


def _value(v: float | None, kind: str, lang: str) -> str:
    if kind == "money":
        return fmt.money(v, lang)
    if kind == "percent":
        return fmt.percent(v)
    if kind == "ratio":
        return fmt.NO_VALUE if v is None else f"{v:.2f}"
    return fmt.NO_VALUE if v is None else f"{v:,.0f}"


def _chart(view: martviews.MartView, df: pd.DataFrame, lang: str) -> None:
    if df.empty:
        return
    x, _y, kind = view.chart
    xs = df["x"].map(lambda v: label(f"stage.{v}", lang, v)) if x == "stage" else df["x"].astype(str)
    if kind == "funnel":
        trace = go.Funnel(y=xs, x=df["y"], textinfo="value+percent initial")
    elif kind == "line":
        trace = go.Scatter(x=df["x"], y=df["y"], mode="lines+markers")
    else:
        trace = go.Bar(x=xs, y=df["y"])
    fig = go.Figure(trace)
    fig.update_layout(title={"text": t(f"chart.{view.key}", lang)}, height=320,
                      margin={"l": 8, "r": 8, "t": 48, "b": 8}, showlegend=False)
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")


def render(key: str, lang: str) -> None:
    view = martviews.VIEWS[key]
    st.title(t(f"nav.{key}", lang))
    if session.require_page(key, lang) is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None or not pagekit.require_tables(snap, lang, view.table):
        return
    scope = current_scope()
    flt = DealFilter()
    month = None
    with st.container(horizontal=True):
        if view.month:
            month = _month_picker(martviews.months(snap, scope, key), lang)
    if view.filters:
        flt = global_filters(queries.filter_options(snap, scope), lang)
        flt = DealFilter(**{f: getattr(flt, f) for f, k in (("region", "region"), ("team_id", "team"),
                                                               ("owner_user_id", "rep")) if k in view.filters})
    values = martviews.kpis(snap, scope, key, flt, month)
    if values:
        cells = st.columns(len(values))
        for cell, k in zip(cells, view.kpis, strict=True):
            cell.metric(t(f"kpi.{k.key}", lang), _value(values[k.key], k.kind, lang),
                        help=t(f"help.{k.key}", lang), border=True)
    if view.chart:
        _chart(view, martviews.chart(snap, scope, key, flt, month), lang)
    df = martviews.rows(snap, scope, key, flt, month)
    if df.empty:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    if "stage" in df.columns:
        df = df.assign(stage=df["stage"].map(lambda s: label(f"stage.{s}", lang, s)))
    labels = {c: label(f"mcol.{c}", lang, c) for c in df.columns}
    config = {labels[c]: st.column_config.NumberColumn(format="localized") for c in view.money_cols if c in labels}
    config |= {labels[c]: st.column_config.NumberColumn(format="percent", help=label(f"help.col.{c}", lang, "") or None)
               for c in (*view.pct_cols, "passing_conversion", "strict_conversion") if c in labels}
    table = df.rename(columns=labels)
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)
    session.download_csv(table, f"{key}.table", f"salescope_{key}{'_' + month if month else ''}.csv", lang)


def page(key: str) -> None:
    pagekit.run_page(key, lambda lang: render(key, lang))
