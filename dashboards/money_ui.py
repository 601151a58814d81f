"""What the money pages (collections, delivery, channels) show the same way: the period picker bound to the
URL, rows of metric cards, a localized table with its audited CSV export, and the Plotly layout."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import session
from dashboards.filters import url_choice
from dashboards.i18n import month_label, t
from dashboards.money_queries import Period

CHART_CONFIG = {"displayModeBar": False, "responsive": True}
PERIOD_PARAM = "range"  # URL: ?range=3m|6m|12m|YYYY-MM (not "period": the overview binds that one)
RELATIVE = ("3m", "6m", "12m")


def period_for(choice: str, months: list[date]) -> Period | None:
    """The months of ``choice`` (the last N months up to the latest, or one month) among ``months``."""
    if not months:
        return None
    latest = months[-1]
    if choice in RELATIVE:
        start = (pd.Timestamp(latest) - pd.DateOffset(months=int(choice[:-1]) - 1)).date()
        return Period(max(start, months[0]), latest)
    month = next((m for m in months if m.strftime("%Y-%m") == choice), None)
    return Period(month, month) if month else None


def period_label(period: Period, lang: str) -> str:
    a, b = (month_label(m.year, m.month, lang) for m in (period.start, period.end))
    return a if period.start == period.end else t("money.period_range", lang, start=a, end=b)


def period_picker(
    months: list[date], lang: str, default: str = "12m", help: str | None = None
) -> Period | None:
    """Last 3/6/12 months or one month (latest first), bound to ``?range=``; None without months."""
    if not months:
        return None
    options = [*RELATIVE, *(m.strftime("%Y-%m") for m in reversed(months))]

    def fmt(o: str) -> str:
        return t(f"money.period.{o}", lang) if o in RELATIVE else month_label(int(o[:4]), int(o[5:]), lang)

    value = url_choice(
        t("money.period", lang), options, PERIOD_PARAM, fmt, default=default, help=help, width=240
    )
    return period_for(value, months)


def cards(items: list[tuple[str, str, str]]) -> None:
    """(label, value, tooltip) metric cards, four a row (st.columns wrap on a phone)."""
    for i in range(0, len(items), 4):
        for cell, (name, value, help_) in zip(st.columns(4), items[i : i + 4], strict=False):
            cell.metric(name, value, help=help_, border=True)


def table(
    df: pd.DataFrame,
    lang: str,
    what: str,
    file_name: str,
    *,
    money: tuple[str, ...] = (),
    pct: tuple[str, ...] = (),
    decimals: tuple[str, ...] = (),
    progress: tuple[str, ...] = (),
) -> None:
    """The frame with money:col.* headers (dates as dates), and its CSV export (audited as ``what``)."""
    labels = {c: t(f"money.col.{c}", lang) for c in df.columns}
    config: dict[str, object] = {
        labels[c]: st.column_config.DateColumn(format="YYYY-MM-DD")
        for c in df.columns
        if pd.api.types.is_datetime64_any_dtype(df[c])
    }
    config |= {labels[c]: st.column_config.NumberColumn(format="localized") for c in money}
    config |= {labels[c]: st.column_config.NumberColumn(format="percent") for c in pct}
    config |= {labels[c]: st.column_config.NumberColumn(format="%.2f") for c in decimals}
    config |= {
        labels[c]: st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)
        for c in progress
    }
    shown = df.round({c: 2 for c in money}).rename(columns=labels)  # money to the fen, not float noise
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    session.download_csv(shown, what, file_name, lang, key=f"dl_{what}")


def layout(
    fig: go.Figure, title: str, y_title: str = "", y_format: str = ",.0f", *, legend: bool = True
) -> go.Figure:
    # the legend sits above the plot, under the title: below it, it collides with rotated month ticks on a phone
    fig.update_layout(
        title={"text": title},
        height=340,
        margin={"l": 8, "r": 8, "t": 72, "b": 8},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        yaxis={"title": {"text": y_title}, "tickformat": y_format},
    )
    return fig


def plot(fig: go.Figure) -> None:
    st.plotly_chart(fig, width="stretch", config=CHART_CONFIG)
