"""Collections (回款): billed and collected, receivables aging, DSO trend, overdue invoices, the contracts, and
how long a won deal takes to turn into cash (sales-to-cash step medians).

Rows are the contracts and invoices of the user's deals (a rep: own deals; a manager: the team; finance and
executive: all). DSO is a company-level mart, shown only to scopes that see everything. A section whose mart
is not in the snapshot says "not yet available"; the rest of the page still renders.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import formatting as fmt
from dashboards import money_queries as mq
from dashboards import money_ui as ui
from dashboards import pagekit, queries, session
from dashboards.db import Snapshot
from dashboards.i18n import month_label, t, vocab_label
from dashboards.scope import Scope, current_scope

KEY = "collections"
INVOICES = "marts.fct_invoices"
DSO = "marts.mart_dso_monthly"
SALES_TO_CASH = "marts.mart_sales_to_cash"


def _scope_caption(scope: Scope, as_of: object, lang: str) -> None:
    who = "all" if scope.is_everything else ("team" if scope.role == "sales_manager" else "own")
    st.caption(
        t(f"money.coll.scope_{who}", lang) + " · " + t("money.as_of", lang, as_of=as_of or fmt.NO_VALUE)
    )


def _kpis(totals: dict, dso: pd.DataFrame | None, lang: str) -> None:
    money = {
        k: fmt.money(totals.get(v), lang)
        for k, v in (
            ("contract_value", "contract_value_cny"),
            ("invoiced", "invoiced_cny"),
            ("collected", "collected_cny"),
            ("receivables", "receivables_cny"),
            ("over_90", "ar_over_90"),
        )
    }
    values = {
        **money,
        "billed_pct": fmt.percent(totals.get("billed_pct")),
        "collected_pct": fmt.percent(totals.get("collected_pct")),
    }
    order = [
        "contract_value",
        "invoiced",
        "collected",
        "receivables",
        "billed_pct",
        "collected_pct",
        "over_90",
    ]
    if dso is not None and not dso.empty:
        last = dso.iloc[-1]
        values["dso"] = fmt.days(last["dso"], lang)
        order.append("dso")
    ui.cards([(t(f"money.coll.kpi.{k}", lang), values[k], t(f"money.coll.help.{k}", lang)) for k in order])
    if dso is not None and not dso.empty:
        m = dso.iloc[-1]["month"]
        st.caption(t("money.coll.dso_month", lang, month=month_label(m.year, m.month, lang)))


def _aging_chart(totals: dict, lang: str) -> None:
    div = fmt.money_axis_divisor(lang)
    xs = [t(f"money.aging.{b}", lang) for b in mq.AGING_BUCKETS]
    ys = [(totals.get(f"ar_{b}") or 0.0) / div for b in mq.AGING_BUCKETS]
    colors = ["#4c78a8", "#f2cf5b", "#f58518", "#e45756", "#b279a2"]
    fig = go.Figure(go.Bar(x=xs, y=ys, marker_color=colors, hovertemplate="%{x}<br>%{y:,.1f}<extra></extra>"))
    ui.plot(ui.layout(fig, t("money.coll.chart.aging", lang), t("axis.money", lang), legend=False))


def _billed_chart(snap: Snapshot, scope: Scope, period: mq.Period | None, lang: str) -> None:
    if not pagekit.require_tables(snap, lang, INVOICES) or period is None:
        return
    df = mq.invoiced_by_month(snap, scope, period)
    if df.empty:
        st.info(t("money.coll.no_invoices", lang), icon=":material/inbox:")
        return
    div = fmt.money_axis_divisor(lang)
    x = pd.to_datetime(df["month"])
    hover = "%{x|%Y-%m}<br>%{y:,.1f}<extra>%{fullData.name}</extra>"
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=df["invoiced_cny"] / div,
                name=t("money.coll.series.invoiced", lang),
                hovertemplate=hover,
            ),
            go.Bar(
                x=x,
                y=df["collected_cny"] / div,
                name=t("money.coll.series.collected", lang),
                hovertemplate=hover,
            ),
        ]
    )
    fig.update_layout(
        barmode="group", xaxis={"tickformat": "%Y-%m", "dtick": "M1" if len(df) <= 12 else "M3"}
    )
    ui.plot(ui.layout(fig, t("money.coll.chart.billed", lang), t("axis.money", lang)))
    st.caption(t("money.coll.billed_note", lang))


def _dso_chart(dso: pd.DataFrame | None, lang: str) -> None:
    if dso is None:
        return
    if dso.empty:
        st.info(t("money.no_rows", lang), icon=":material/inbox:")
        return
    fig = go.Figure(
        go.Scatter(
            x=dso["month"],
            y=dso["dso"],
            mode="lines+markers",
            hovertemplate="%{x|%Y-%m}<br>%{y:.1f}<extra></extra>",
        )
    )
    fig.update_layout(xaxis={"tickformat": "%Y-%m", "dtick": "M1" if len(dso) <= 12 else "M3"})
    fig.update_layout(yaxis={"rangemode": "tozero"})
    ui.plot(ui.layout(fig, t("money.coll.chart.dso", lang), t("axis.days", lang), legend=False))


def _overdue(snap: Snapshot, scope: Scope, lang: str) -> None:
    st.subheader(t("money.coll.overdue", lang))
    if not pagekit.require_tables(snap, lang, INVOICES):
        return
    summary = mq.overdue_summary(snap, scope)
    n = int(summary.get("overdue_invoices") or 0)
    if n == 0:
        st.success(t("money.coll.no_overdue", lang), icon=":material/check_circle:")
        return
    st.caption(
        t("money.coll.overdue_caption", lang, n=n, amount=fmt.money(summary.get("overdue_unpaid_cny"), lang))
    )
    df = mq.overdue_invoices(snap, scope)
    df = df.assign(
        aging_bucket=df["aging_bucket"].map(
            lambda b: t(f"money.aging.{b}", lang) if b in (*mq.AGING_BUCKETS, "paid") else b
        )
    )
    ui.table(df, lang, f"{KEY}.overdue", "salescope_overdue_invoices.csv", money=("amount_cny", "unpaid_cny"))


def _sales_to_cash(snap: Snapshot, scope: Scope, lang: str) -> None:
    st.subheader(t("money.s2c.title", lang))
    if not pagekit.require_tables(snap, lang, SALES_TO_CASH):
        return
    df = mq.sales_to_cash(snap, scope)
    if df["deals"].sum() == 0:
        st.info(t("money.s2c.none", lang), icon=":material/inbox:")
        return
    total = df[df["step"] == "lead_to_cash"].iloc[0]
    steps = df[df["step"] != "lead_to_cash"]
    cells = st.columns(2)
    cells[0].metric(
        t("money.s2c.kpi.lead_to_cash", lang),
        fmt.days(total["median_days"], lang),
        help=t("money.s2c.help.lead_to_cash", lang),
        border=True,
    )
    cells[1].metric(
        t("money.s2c.kpi.paid_deals", lang),
        f"{int(total['deals']):,}",
        help=t("money.s2c.help.paid_deals", lang),
        border=True,
    )
    names = [t(f"money.s2c.step.{s}", lang) for s in steps["step"]]
    fig = go.Figure(
        go.Bar(
            x=steps["median_days"],
            y=names,
            orientation="h",
            customdata=steps["deals"],
            hovertemplate="%{y}<br>%{x:.1f}<br>n = %{customdata}<extra></extra>",
        )
    )
    fig.update_layout(yaxis={"autorange": "reversed"}, xaxis={"title": {"text": t("axis.days", lang)}})
    ui.plot(ui.layout(fig, t("money.s2c.chart", lang), "", "", legend=False))
    st.caption(t("money.s2c.note", lang))
    table = df.assign(step=df["step"].map(lambda s: t(f"money.s2c.step.{s}", lang)))[
        ["step", "median_days", "deals"]
    ]
    ui.table(table, lang, f"{KEY}.sales_to_cash", "salescope_sales_to_cash.csv", decimals=("median_days",))


def render(lang: str) -> None:
    st.title(t("nav.collections", lang))
    if session.require_page(KEY, lang) is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None or not pagekit.require_tables(snap, lang, "marts.mart_collections"):
        return
    scope = current_scope()
    tables = queries.available_tables(snap)
    info = queries.publish_info(snap)
    as_of = info.as_of if info else None
    _scope_caption(scope, as_of, lang)
    month_table = DSO if DSO in tables else (INVOICES if INVOICES in tables else None)
    period = trend = None
    if month_table:
        months = mq.month_span(snap, month_table, as_of)
        period = ui.period_picker(months, lang, help=t("money.coll.period_help", lang))
        # a trend of one or two months says little: then the DSO line shows the 12 months up to the period's end
        trend = (
            period
            if period is None or len(pd.date_range(period.start, period.end, freq="MS")) >= 3
            else (ui.period_for("12m", [m for m in months if m <= period.end]))
        )
    totals = mq.collection_totals(snap, scope)
    if not totals.get("contracts"):
        st.info(t("money.coll.no_contracts", lang), icon=":material/inbox:")
        return
    dso = None  # company level: only read for scopes that see everything
    if scope.is_everything and DSO in tables and trend is not None:
        dso = mq.dso_series(snap, scope, trend)
    _kpis(totals, dso, lang)

    left, right = st.columns(2)
    with left:
        _aging_chart(totals, lang)
    with right:
        _billed_chart(snap, scope, period, lang)
    st.subheader(t("money.coll.dso_title", lang))
    if not scope.is_everything:
        st.info(t("money.coll.dso_company_only", lang), icon=":material/info:")
    elif pagekit.require_tables(snap, lang, DSO):
        _dso_chart(dso, lang)
    _overdue(snap, scope, lang)
    _sales_to_cash(snap, scope, lang)

    st.subheader(t("money.coll.contracts", lang))
    df = mq.contracts(snap, scope)
    df = df.assign(
        contract_status=df["contract_status"].map(lambda s: vocab_label("contract_status", s, lang))
    )
    ui.table(
        df,
        lang,
        f"{KEY}.contracts",
        "salescope_contracts.csv",
        money=(
            "contract_value_cny",
            "invoiced_cny",
            "collected_cny",
            "receivables_cny",
            *(f"ar_{b}" for b in mq.AGING_BUCKETS),
        ),
        pct=("billed_pct", "collected_pct"),
    )


pagekit.run_page(KEY, render)
