"""Forecast (预测): for a month or quarter, the forecast, coverage and weighted pipeline (stage default) of the
company, a region or a team; the model's bookings forecast (won to date + open pipeline + new pipeline, with
an 80% interval) and its backtested accuracy against three baselines; forecast accuracy over past periods;
the open pipeline trend from the weekly snapshots.

Finance and executives see every level; a sales manager only their own team's rows (the scope, in SQL).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import formatting as fmt
from dashboards import pagekit, queries, session
from dashboards import sales_queries as sq
from dashboards.filters import global_filters, url_choice
from dashboards.i18n import t, vocab_label
from dashboards.scope import current_scope

KEY = "forecast"
PERIOD_TYPES = ("month", "quarter")
CHART_CONFIG = {"displayModeBar": False, "responsive": True}
MARGIN = {"l": 8, "r": 8, "t": 48, "b": 8}
# (card key, mart column, kind)
CARDS = (
    ("forecast", "forecast_current_cny", "money"),
    ("quota", "quota_cny", "money"),
    ("booked", "bookings_to_date_cny", "money"),
    ("in_period", "pipeline_in_period_cny", "money"),
    ("weighted", "weighted_pipeline_cny", "money"),
    ("coverage", "pipeline_coverage", "ratio"),
    ("at_start", "forecast_at_start_cny", "money"),
    ("ape", "forecast_abs_pct_error", "percent"),
)
MONEY_COLS = (
    "quota_cny",
    "bookings_to_date_cny",
    "open_pipeline_cny",
    "pipeline_in_period_cny",
    "weighted_pipeline_cny",
    "forecast_at_start_cny",
    "forecast_current_cny",
    "actual_bookings_cny",
    "amount_cny",
)
PCT_COLS = ("forecast_abs_pct_error", "wape", "bias", "share_model_better")


def _period_label(p: str, period_type: str, lang: str) -> str:
    if period_type == "quarter":
        return t("fc.quarter_fmt", lang, y=p[:4], q=(int(p[5:7]) - 1) // 3 + 1)
    return p


def _show(v: float | None, kind: str, lang: str) -> str:
    if v is None or pd.isna(v):
        return fmt.NO_VALUE
    if kind == "money":
        return fmt.money(v, lang)
    if kind == "percent":
        return fmt.percent(v)
    return f"{v:.2f}"


def _group_label(level: str, group_id: str, team_name: object, lang: str) -> str:
    if level == "company":
        return t("fc.level.company", lang)
    if level == "region":
        return vocab_label("region", group_id, lang)
    return str(team_name) if isinstance(team_name, str) and team_name else group_id


def _table(df: pd.DataFrame, cols: dict[str, str], what: str, file_name: str, lang: str) -> None:
    shown = df[[c for c in cols if c in df.columns]].rename(columns=cols)
    config = {cols[c]: st.column_config.NumberColumn(format="localized") for c in MONEY_COLS if c in cols}
    config |= {cols[c]: st.column_config.NumberColumn(format="percent") for c in PCT_COLS if c in cols}
    if "pipeline_coverage" in cols:
        config[cols["pipeline_coverage"]] = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    session.download_csv(shown, f"{KEY}.{what}", file_name, lang, key=f"dl_{KEY}_{what}")


def _cols(lang: str, *names: str) -> dict[str, str]:
    return {c: t(f"fc.col.{c}", lang) for c in names}


def _cards(row: pd.Series, lang: str) -> None:
    cells = [c for _ in range(2) for c in st.columns(4)]
    for cell, (k, col, kind) in zip(cells, CARDS, strict=True):
        v = row[col] if k != "ape" or bool(row["is_closed_period"]) else None
        cell.metric(t(f"fc.kpi.{k}", lang), _show(v, kind, lang), help=t(f"fc.help.{k}", lang), border=True)
    if (
        pd.isna(row["pipeline_coverage"])
        and row["quota_cny"]
        and row["bookings_to_date_cny"] >= row["quota_cny"]
    ):
        st.caption(t("fc.quota_met", lang))


def _history(snap, scope, period_type: str, level: str, group: str, lang: str) -> None:
    """Forecast at the period's start and the current forecast against actual bookings, period by period."""
    st.subheader(t("fc.accuracy", lang))
    df = sq.forecast_history(snap, scope, period_type, level, group)
    if df.empty:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    closed = df[df["is_closed_period"]]
    recent = closed.tail(12)["forecast_abs_pct_error"].dropna()
    st.metric(
        t("fc.kpi.mape", lang),
        fmt.percent(recent.mean() if len(recent) else None),
        help=t("fc.help.mape", lang),
        border=True,
    )
    div = fmt.money_axis_divisor(lang)
    hover = "%{x|%Y-%m}<br>%{y:,.1f}<extra></extra>"
    fig = go.Figure()
    fig.add_bar(
        x=df["period_start"],
        y=df["actual_bookings_cny"] / div,
        name=t("fc.legend.actual", lang),
        hovertemplate=hover,
    )
    fig.add_scatter(
        x=df["period_start"],
        y=df["forecast_at_start_cny"] / div,
        mode="lines+markers",
        name=t("fc.kpi.at_start", lang),
        hovertemplate=hover,
    )
    fig.update_layout(
        title={"text": t("fc.chart.accuracy", lang)},
        height=320,
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.2},
        xaxis={"tickformat": "%Y-%m"},
        yaxis={"title": {"text": t("axis.money", lang)}, "rangemode": "tozero"},
    )
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")
    table = df.iloc[::-1].assign(period_start=df["period_start"].iloc[::-1].dt.strftime("%Y-%m"))
    _table(
        table,
        _cols(
            lang,
            "period_start",
            "forecast_at_start_cny",
            "forecast_current_cny",
            "actual_bookings_cny",
            "forecast_abs_pct_error",
        ),
        "accuracy",
        f"salescope_forecast_accuracy_{level}_{group}.csv",
        lang,
    )


COMPONENTS = ("won_to_date", "open_pipeline", "new_pipeline")
BASELINES = ("stage_default", "markov", "seasonal_naive")


def _bookings(snap, scope, period_type: str, period: str, level: str, group: str, lang: str) -> None:
    """The model's forecast of the group: won to date + open pipeline + new pipeline, with its 80% interval."""
    if "ml.forecast" not in queries.available_tables(snap):
        return
    df = sq.bookings_forecast(snap, scope, period_type, level, group)
    if df.empty:
        return
    st.subheader(t("fc.model", lang))
    st.caption(t("fc.model_caption", lang, as_of=str(df["as_of"].iloc[0])[:10]))
    df = df.assign(p=df["period"].astype(str).str[:7])
    shown = period if period in set(df["p"]) else df["p"].iloc[0]
    if shown != period:
        st.caption(t("fc.model_other_period", lang, period=_period_label(shown, period_type, lang)))
    now = df[df["p"] == shown].set_index("component")
    total = now.loc["total"]
    cells = st.columns(4)
    for cell, k in zip(cells, ("total", *COMPONENTS), strict=True):
        cell.metric(
            t(f"fc.kpi.{k}", lang),
            fmt.money(now.at[k, "forecast_cny"], lang),
            help=t(f"fc.help.{k}", lang),
            border=True,
        )
    st.caption(
        t("fc.interval", lang, low=fmt.money(total["low_cny"], lang), high=fmt.money(total["high_cny"], lang))
    )
    div = fmt.money_axis_divisor(lang)
    labels = [_period_label(p, period_type, lang) for p in df["p"].unique()]
    fig = go.Figure()
    for k in COMPONENTS:
        part = df[df["component"] == k]
        fig.add_bar(x=labels, y=part["forecast_cny"] / div, name=t(f"fc.kpi.{k}", lang))
    tot = df[df["component"] == "total"]
    fig.add_scatter(
        x=labels,
        y=tot["forecast_cny"] / div,
        mode="markers",
        name=t("fc.kpi.total", lang),
        error_y={
            "type": "data",
            "symmetric": False,
            "array": (tot["high_cny"] - tot["forecast_cny"]) / div,
            "arrayminus": (tot["forecast_cny"] - tot["low_cny"]) / div,
        },
        hovertemplate="%{x}<br>%{y:,.1f}<extra></extra>",
    )
    fig.update_layout(
        title={"text": t("fc.chart.model", lang)},
        height=320,
        margin=MARGIN,
        barmode="stack",
        legend={"orientation": "h", "y": -0.2},
        xaxis={"type": "category"},
        yaxis={"title": {"text": t("axis.money", lang)}, "rangemode": "tozero"},
    )
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")


def _verdict(summary: pd.DataFrame, lang: str) -> None:
    """Says plainly whether the model beats each baseline at month start (and how sure the bootstrap is)."""
    h0 = summary[(summary["origin_type"] == "month_start") & (summary["horizon"] == 0)].set_index("method")
    if "model" not in h0.index:
        return
    model = h0.at["model", "wape"]
    losing = [b for b in BASELINES if b in h0.index and not model < h0.at[b, "wape"]]
    unsure = [
        b
        for b in BASELINES
        if b in h0.index and b not in losing and not (h0.at[b, "share_model_better"] >= 0.95)
    ]
    if losing:
        names = ", ".join(t(f"fc.method.{b}", lang) for b in losing)
        st.warning(
            t("fc.verdict_worse", lang, wape=fmt.percent(model), names=names), icon=":material/warning:"
        )
    elif unsure:
        names = ", ".join(t(f"fc.method.{b}", lang) for b in unsure)
        st.info(t("fc.verdict_unsure", lang, wape=fmt.percent(model), names=names), icon=":material/info:")
    else:
        best = min(h0.at[b, "wape"] for b in BASELINES if b in h0.index)
        st.success(
            t("fc.verdict_better", lang, wape=fmt.percent(model), best=fmt.percent(best)),
            icon=":material/check_circle:",
        )


def _model_accuracy(snap, scope, lang: str) -> None:
    """Company level: the backtest's accuracy curve (WAPE by months ahead) per method, and month by month."""
    tables = queries.available_tables(snap)
    if not scope.is_everything or "ml.forecast_accuracy_summary" not in tables:
        return
    summary = sq.forecast_accuracy_summary(snap, scope)
    if summary.empty:
        return
    st.subheader(t("fc.model_accuracy", lang))
    st.caption(t("fc.model_accuracy_caption", lang))
    _verdict(summary, lang)
    starts = summary[summary["origin_type"] == "month_start"]
    fig = go.Figure()
    for method in ("model", *BASELINES):
        part = starts[starts["method"] == method]
        fig.add_scatter(
            x=part["horizon"],
            y=part["wape"],
            mode="lines+markers",
            name=t(f"fc.method.{method}", lang),
            hovertemplate="%{x}<br>%{y:.1%}<extra></extra>",
        )
    fig.update_layout(
        title={"text": t("fc.chart.wape", lang)},
        height=300,
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.25},
        xaxis={"title": {"text": t("fc.months_ahead", lang)}, "dtick": 1},
        yaxis={"tickformat": ".0%", "rangemode": "tozero"},
    )
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")
    months = sq.forecast_accuracy_months(snap, scope)
    if not months.empty:
        wide = months.pivot_table(index="period", columns="method", values="forecast_cny").reset_index()
        wide = wide.merge(months.groupby("period", as_index=False)["actual_cny"].first(), on="period")
        wide["period"] = wide["period"].astype(str).str[:7]
        div = fmt.money_axis_divisor(lang)
        fig = go.Figure()
        fig.add_bar(x=wide["period"], y=wide["actual_cny"] / div, name=t("fc.legend.actual", lang))
        for method in ("model", "stage_default"):
            if method in wide:
                fig.add_scatter(
                    x=wide["period"],
                    y=wide[method] / div,
                    mode="lines+markers",
                    name=t(f"fc.method.{method}", lang),
                )
        fig.update_layout(
            title={"text": t("fc.chart.backtest", lang)},
            height=300,
            margin=MARGIN,
            legend={"orientation": "h", "y": -0.25},
            xaxis={"type": "category"},
            yaxis={"title": {"text": t("axis.money", lang)}, "rangemode": "tozero"},
        )
        st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")
    table = summary.assign(
        method=summary["method"].map(lambda m: t(f"fc.method.{m}", lang)),
        origin_type=summary["origin_type"].map(lambda o: t(f"fc.origin.{o}", lang)),
    )
    _table(
        table,
        _cols(lang, "method", "origin_type", "horizon", "periods", "wape", "bias", "share_model_better"),
        "backtest",
        "salescope_forecast_accuracy.csv",
        lang,
    )


def _trend(snap, scope, flt, lang: str) -> None:
    """Open pipeline by stage at each weekly snapshot (the last 52)."""
    st.subheader(t("fc.trend", lang))
    if not pagekit.require_tables(snap, lang, "marts.fct_pipeline_snapshots"):
        return
    df = sq.pipeline_trend(snap, scope, flt)
    if df.empty:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    div = fmt.money_axis_divisor(lang)
    fig = go.Figure()
    for stage in sq.FUNNEL_STAGES:
        part = df[df["stage"] == stage]
        if not part.empty:
            fig.add_scatter(
                x=part["snapshot_date"],
                y=part["amount_cny"] / div,
                mode="lines",
                stackgroup="pipe",
                name=vocab_label("stage", stage, lang),
                hovertemplate="%{x|%Y-%m-%d}<br>%{y:,.1f}<extra></extra>",
            )
    fig.update_layout(
        title={"text": t("fc.chart.trend", lang)},
        height=340,
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.2},
        yaxis={"title": {"text": t("axis.money", lang)}, "rangemode": "tozero"},
    )
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")
    table = df.assign(
        snapshot_date=df["snapshot_date"].astype(str),
        stage=df["stage"].map(lambda s: vocab_label("stage", s, lang)),
    )
    _table(
        table,
        _cols(lang, "snapshot_date", "stage", "amount_cny", "deals"),
        "trend",
        "salescope_pipeline_trend.csv",
        lang,
    )


def render(lang: str) -> None:
    st.title(t(f"nav.{KEY}", lang))
    if session.require_page(KEY, lang) is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None or not pagekit.require_tables(snap, lang, "marts.mart_forecast"):
        return
    scope = current_scope()
    with st.container(horizontal=True, vertical_alignment="bottom"):
        period_type = url_choice(
            t("fc.period_type", lang),
            PERIOD_TYPES,
            "ptype",
            lambda o: t(f"fc.ptype.{o}", lang),
            segmented=True,
        )
        periods = sq.forecast_periods(snap, scope, period_type)
        if not periods:
            st.info(t("page.no_rows", lang), icon=":material/inbox:")
            return
        period = url_choice(
            t("fc.period", lang), periods, "pstart", lambda p: _period_label(p, period_type, lang)
        )
    flt = global_filters(queries.filter_options(snap, scope), lang)
    # the row shown: a manager's own team; for everyone else the team or region picked, else the company
    team = sq.manager_team(snap, scope)
    level, group = (
        ("team", team)
        if team
        else ("team", flt.team_id)
        if flt.team_id
        else ("region", flt.region)
        if flt.region
        else ("company", "all")
    )
    rows = sq.forecast_rows(snap, scope, period_type, period)
    focus = rows[(rows["level"] == level) & (rows["group_id"] == group)]
    if focus.empty:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    r = focus.iloc[0]
    st.caption(
        t(
            "fc.showing",
            lang,
            group=fmt.plain(_group_label(level, group, r["team_name"], lang)),
            period=_period_label(period, period_type, lang),
        )
    )
    if flt.owner_user_id:
        st.caption(t("fc.rep_note", lang))
    _cards(r, lang)
    model_level, model_group = (
        ("rep", flt.owner_user_id) if flt.owner_user_id and scope.is_everything else (level, group)
    )
    _bookings(snap, scope, period_type, period, model_level, model_group, lang)
    _model_accuracy(snap, scope, lang)
    _history(snap, scope, period_type, level, group, lang)
    _trend(snap, scope, flt, lang)
    st.subheader(t("fc.levels", lang))
    table = rows.assign(
        group=[
            _group_label(lv, g, n, lang)
            for lv, g, n in zip(rows["level"], rows["group_id"], rows["team_name"], strict=True)
        ],
        level=rows["level"].map(lambda v: t(f"fc.level.{v}", lang)),
    )
    _table(
        table,
        _cols(
            lang,
            "level",
            "group",
            "quota_cny",
            "bookings_to_date_cny",
            "pipeline_in_period_cny",
            "weighted_pipeline_cny",
            "pipeline_coverage",
            "forecast_at_start_cny",
            "forecast_current_cny",
            "actual_bookings_cny",
            "forecast_abs_pct_error",
        ),
        "levels",
        f"salescope_forecast_{period_type}_{period}.csv",
        lang,
    )


pagekit.run_page(KEY, render)
