"""Delivery (项目交付): progress, overdue tasks, schedule variance and document completeness of the delivery
projects (mart_project_delivery, state on the as-of date). Company level: finance and executive."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import formatting as fmt
from dashboards import money_queries as mq
from dashboards import money_ui as ui
from dashboards import pagekit, queries, session
from dashboards.filters import url_choice
from dashboards.i18n import t, vocab_label
from dashboards.scope import current_scope

KEY = "delivery"
TABLE = "marts.mart_project_delivery"
STATUS_PARAM = "status"
# KPI key -> (value in totals, kind)
KPIS = (
    ("projects", "projects", "count"),
    ("active", "active_projects", "count"),
    ("progress", "progress", "percent"),
    ("overdue_tasks", "overdue_tasks", "count"),
    ("with_overdue", "projects_with_overdue", "count"),
    ("variance", "variance_median", "days"),
    ("late_share", "late_share", "percent"),
)
DOC_KPIS = (("contract", "doc_contract"), ("proposal", "doc_proposal"), ("acceptance", "doc_acceptance"))


def _value(v: float | None, kind: str, lang: str) -> str:
    if kind == "percent":
        return fmt.percent(v)
    if kind == "days":
        return fmt.days(v, lang, signed=True)
    return fmt.NO_VALUE if v is None else f"{v:,.0f}"


def _charts(hist: pd.DataFrame, by_status: pd.DataFrame, lang: str) -> None:
    left, right = st.columns(2)
    with left:
        colors = ["#54a24b", "#54a24b", "#f2cf5b", "#f58518", "#e45756", "#e45756", "#b279a2"]
        fig = go.Figure(
            go.Bar(
                x=[t(f"money.dlv.bin.{b}", lang) for b in hist["bin"]],
                y=hist["projects"],
                marker_color=colors[: len(hist)],
                hovertemplate="%{x}<br>%{y}<extra></extra>",
            )
        )
        fig.update_layout(xaxis={"title": {"text": t("money.dlv.axis.variance", lang)}})
        ui.plot(ui.layout(fig, t("money.dlv.chart.variance", lang), legend=False))
    with right:
        names = [vocab_label("project_status", s, lang) for s in by_status["project_status"]]
        fig = go.Figure(
            [
                go.Bar(x=names, y=by_status["projects"], name=t("money.dlv.series.projects", lang)),
                go.Bar(x=names, y=by_status["overdue_tasks"], name=t("money.dlv.series.overdue", lang)),
            ]
        )
        fig.update_layout(barmode="group")
        ui.plot(ui.layout(fig, t("money.dlv.chart.status", lang)))


def _table(df: pd.DataFrame, lang: str) -> None:
    df = df.assign(project_status=df["project_status"].map(lambda s: vocab_label("project_status", s, lang)))
    ui.table(df, lang, f"{KEY}.projects", "salescope_projects.csv", progress=("progress",))


def render(lang: str) -> None:
    st.title(t("nav.delivery", lang))
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
    st.caption(t("money.as_of", lang, as_of=(info.as_of if info else None) or fmt.NO_VALUE))
    status = url_choice(
        t("money.dlv.status", lang),
        mq.project_statuses(snap, scope),
        STATUS_PARAM,
        lambda v: vocab_label("project_status", v, lang),
        optional=True,
        placeholder=t("filter.all", lang),
        width=240,
    )
    totals = mq.delivery_totals(snap, scope, status)
    if not totals.get("projects"):
        st.info(t("money.no_rows", lang), icon=":material/inbox:")
        return
    ui.cards(
        [
            (
                t(f"money.dlv.kpi.{k}", lang),
                _value(totals.get(col), kind, lang),
                t(f"money.dlv.help.{k}", lang),
            )
            for k, col, kind in KPIS
        ]
    )
    st.subheader(t("money.dlv.docs", lang))
    ui.cards(
        [
            (
                t(f"money.dlv.kpi.doc_{k}", lang),
                fmt.percent(totals.get(col)),
                t(f"money.dlv.help.doc_{k}", lang),
            )
            for k, col in DOC_KPIS
        ]
    )
    _charts(mq.variance_histogram(snap, scope, status), mq.projects_by_status(snap, scope), lang)
    st.subheader(t("money.dlv.projects", lang))
    _table(mq.projects(snap, scope, status), lang)


pagekit.run_page(KEY, render)
