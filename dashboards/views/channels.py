"""Channels (渠道): spend, leads, cost per opportunity, CAC and ROI per lead source over a period, with the three
attribution models (first touch, last touch, linear) side by side (mart_channel_roi). Company level: finance
and executive. Every ratio of a period is recomputed from the period's sums, never averaged over months."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import formatting as fmt
from dashboards import money_queries as mq
from dashboards import money_ui as ui
from dashboards import pagekit, queries, session
from dashboards.i18n import t, vocab_label
from dashboards.scope import current_scope

KEY = "channels"
TABLE = "marts.mart_channel_roi"
# KPI key -> (value in totals, kind)
KPIS = (
    ("spend", "spend_cny", "money"),
    ("leads", "leads", "count"),
    ("opportunities", "opportunities", "count"),
    ("cpo", "cost_per_opportunity_cny", "money"),
    ("bookings", "bookings_linear_cny", "money"),
    ("roi", "roi_linear", "ratio"),
    ("new_customers", "new_customers_linear", "decimal"),
    ("cac", "cac_cny", "money"),
)
MODEL_COLORS = {"first_touch": "#4c78a8", "last_touch": "#f58518", "linear": "#54a24b"}


def _value(v: float | None, kind: str, lang: str) -> str:
    if kind == "money":
        return fmt.money(v, lang)
    if v is None:
        return fmt.NO_VALUE
    if kind == "ratio":
        return f"{v:.2f}"
    if kind == "decimal":
        return f"{v:,.1f}"
    return f"{v:,.0f}"


def _roi_chart(df: pd.DataFrame, names: list[str], lang: str) -> None:
    fig = go.Figure(
        [
            go.Bar(
                x=names,
                y=df[f"roi_{m}"],
                name=t(f"money.chn.model.{m}", lang),
                marker_color=MODEL_COLORS[m],
                hovertemplate="%{x}<br>%{y:.2f}<extra>%{fullData.name}</extra>",
            )
            for m in mq.ATTRIBUTION_MODELS
        ]
    )
    fig.update_layout(barmode="group")
    ui.plot(ui.layout(fig, t("money.chn.chart.roi", lang), t("money.chn.axis.roi", lang), ",.1f"))


def _cost_charts(df: pd.DataFrame, names: list[str], lang: str) -> None:
    hover = "%{x}<br>¥%{y:,.0f}<extra></extra>"
    for cell, col, key in zip(
        st.columns(2), ("cac_cny", "cost_per_opportunity_cny"), ("cac", "cpo"), strict=True
    ):
        with cell:
            fig = go.Figure(go.Bar(x=names, y=df[col], hovertemplate=hover))
            ui.plot(
                ui.layout(fig, t(f"money.chn.chart.{key}", lang), t("money.chn.axis.cny", lang), legend=False)
            )


def _table(df: pd.DataFrame, lang: str, period: mq.Period) -> None:
    df = df.assign(channel=df["channel"].map(lambda c: vocab_label("lead_source", c, lang)))
    ui.table(
        df,
        lang,
        f"{KEY}.table",
        f"salescope_channels_{period.start:%Y-%m}_{period.end:%Y-%m}.csv",
        money=(
            "spend_cny",
            "cost_per_opportunity_cny",
            "bookings_first_touch_cny",
            "bookings_last_touch_cny",
            "bookings_linear_cny",
            "cac_cny",
        ),
        decimals=("roi_first_touch", "roi_last_touch", "roi_linear", "new_customers_linear"),
    )


def render(lang: str) -> None:
    st.title(t("nav.channels", lang))
    if session.require_page(KEY, lang) is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None or not pagekit.require_tables(snap, lang, TABLE):
        return
    scope = current_scope()
    if not scope.is_everything:  # a company-level mart: nothing is computed for narrower scopes
        st.info(t("money.company_only", lang), icon=":material/info:")
        return
    info = queries.publish_info(snap)
    period = ui.period_picker(mq.month_span(snap, TABLE, info.as_of if info else None), lang)
    if period is None:
        st.info(t("money.no_rows", lang), icon=":material/inbox:")
        return
    st.caption(t("money.chn.caption", lang, period=ui.period_label(period, lang)))
    totals = mq.channel_totals(snap, scope, period)
    items = [
        (t(f"money.chn.kpi.{k}", lang), _value(totals.get(col), kind, lang), t(f"money.chn.help.{k}", lang))
        for k, col, kind in KPIS
    ]
    ui.cards(items)
    df = mq.channel_table(snap, scope, period)
    if df.empty:
        st.info(t("money.no_rows", lang), icon=":material/inbox:")
        return
    names = [vocab_label("lead_source", c, lang) for c in df["channel"]]
    _roi_chart(df, names, lang)
    st.caption(t("money.chn.roi_note", lang))
    _cost_charts(df, names, lang)
    st.subheader(t("money.chn.table", lang))
    _table(df, lang, period)


pagekit.run_page(KEY, render)
