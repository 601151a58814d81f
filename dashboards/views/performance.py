"""Performance (业绩): bookings, quota attainment and win rate for a month, quarter or year to date; a drill-down
region → team → rep → deals bound to the URL filters (``?region=&team=&rep=``), and a rep leaderboard.

Reps see their own row only, managers their team, finance and executives everything (the scope, in SQL).
Every level rolls up sums of mart_rep_performance (METRICS.md: team and region sum, never average).
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import formatting as fmt
from dashboards import pagekit, queries, session
from dashboards import sales_queries as sq
from dashboards.access import may_open
from dashboards.filters import global_filters, month_picker, state_key, url_choice
from dashboards.i18n import t, vocab_label
from dashboards.queries import DealFilter
from dashboards.scope import current_scope

KEY = "performance"
SPANS = ("month", "quarter", "ytd")
RANKS = ("attainment", "bookings")
CHART_CONFIG = {"displayModeBar": False, "responsive": True}
# (key, measure, kind) of the cards: kind money, percent, days, number
CARDS = (
    ("bookings", "bookings_cny", "money"),
    ("quota", "quota_cny", "money"),
    ("attainment", "attainment", "percent"),
    ("win_rate", "win_rate", "percent"),
    ("avg_deal", "avg_deal_size_cny", "money"),
    ("cycle", "cycle_days_mean", "days"),
    ("pipeline", "open_pipeline_cny", "money"),
)
MONEY_COLS = ("bookings_cny", "quota_cny", "avg_deal_size_cny", "open_pipeline_cny", "amount_cny")


def _show(v: float | None, kind: str, lang: str) -> str:
    if kind == "money":
        return fmt.money(v, lang)
    if kind == "percent":
        return fmt.percent(v)
    if kind == "days":
        return fmt.days(v, lang)
    return fmt.NO_VALUE if v is None else f"{v:,.0f}"


def _cards(values: dict[str, float | None], vel: dict[str, float | None], lang: str) -> None:
    cards = [(k, values.get(col), kind) for k, col, kind in CARDS]
    if vel:
        cards.append(("velocity", vel.get("velocity"), "money"))
    cells = [c for _ in range(2) for c in st.columns(4)]
    for cell, (k, v, kind) in zip(cells, cards, strict=False):
        cell.metric(
            t(f"perf.kpi.{k}", lang), _show(v, kind, lang), help=t(f"perf.help.{k}", lang), border=True
        )


def _drill(param: str, ids: list[str], extra: dict[str, list[str]], table_key: str) -> None:
    """Row picked in a breakdown table: set that filter (and its parents) as the global filters would."""
    event = st.session_state.get(table_key)
    rows = event.selection.rows if event is not None and event.selection else []
    if not rows:
        return
    i = rows[0]
    for p, values in ((param, ids), *extra.items()):
        st.session_state[state_key(p)] = values[i]
        st.query_params[p] = values[i]


def _up(*params: str) -> None:
    for p in params:
        st.session_state[state_key(p)] = None
        st.query_params.pop(p, None)


def _breadcrumb(flt: DealFilter, names: dict[str, str], scope_role: str, lang: str) -> None:
    """The drill path; each step goes back up to that level."""
    if scope_role == "sales_rep" or not (flt.region or flt.team_id or flt.owner_user_id):
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(t("perf.path", lang), width="content")
        st.button(
            t("perf.path.all", lang),
            icon=":material/home:",
            on_click=_up,
            args=("region", "team", "rep"),
            key="perf_up_all",
            type="tertiary",
        )
        if flt.region and (flt.team_id or flt.owner_user_id):
            st.button(
                vocab_label("region", flt.region, lang),
                on_click=_up,
                args=("team", "rep"),
                key="perf_up_region",
                type="tertiary",
            )
        if flt.team_id and flt.owner_user_id:
            st.button(
                fmt.plain(names.get(flt.team_id, flt.team_id)),
                on_click=_up,
                args=("rep",),
                key="perf_up_team",
                type="tertiary",
            )


def _table(
    df: pd.DataFrame,
    cols: dict[str, str],
    what: str,
    file_name: str,
    lang: str,
    *,
    pct: tuple[str, ...] = ("attainment", "win_rate"),
    select=None,
    key: str | None = None,
) -> None:
    shown = df[[c for c in cols if c in df.columns]].rename(columns=cols)
    config = {cols[c]: st.column_config.NumberColumn(format="localized") for c in MONEY_COLS if c in cols}
    config |= {cols[c]: st.column_config.NumberColumn(format="percent") for c in pct if c in cols}
    if "cycle_days_mean" in cols:
        config[cols["cycle_days_mean"]] = st.column_config.NumberColumn(format="%.1f")
    if select is not None:
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config=config,
            key=key,
            on_select=select,
            selection_mode="single-row",
        )
    else:
        st.dataframe(shown, hide_index=True, width="stretch", column_config=config, key=key)
    session.download_csv(shown, f"{KEY}.{what}", file_name, lang, key=f"dl_{KEY}_{what}")


def _measure_cols(lang: str) -> dict[str, str]:
    return {
        c: t(f"perf.col.{c}", lang)
        for c in (
            "bookings_cny",
            "quota_cny",
            "attainment",
            "won_count",
            "lost_count",
            "win_rate",
            "avg_deal_size_cny",
            "cycle_days_mean",
            "open_pipeline_cny",
        )
    }


def _groups(snap, scope, flt: DealFilter, period: sq.Period, by: str, lang: str, suffix: str) -> None:
    """Regions (company level) or teams (region level): click one to drill down."""
    df = sq.perf_breakdown(snap, scope, flt, period, by)
    if df.empty:
        return
    st.subheader(t(f"perf.by_{by}", lang))
    st.caption(t("perf.drill_hint", lang))
    name = (
        df["group_id"].map(lambda r: vocab_label("region", r, lang))
        if by == "region"
        else df["team_name"].fillna(df["group_id"])
    )
    df = df.assign(name=name)
    cols = {"name": t(f"perf.col.{by}", lang), **_measure_cols(lang)}
    ids = df["group_id"].astype(str).tolist()
    extra = {"region": df["region"].astype(str).tolist()} if by == "team" else {}
    key = f"perf_tbl_{by}"
    _table(
        df,
        cols,
        by,
        f"salescope_performance_{by}_{suffix}.csv",
        lang,
        select=partial(_drill, "region" if by == "region" else "team", ids, extra, key),
        key=key,
    )


def _leaderboard(
    snap, scope, flt: DealFilter, period: sq.Period, lang: str, suffix: str, *, clickable: bool
) -> None:
    st.subheader(t("perf.leaderboard", lang))
    rank = url_choice(
        t("perf.rank", lang), RANKS, "rank", lambda o: t(f"perf.rank.{o}", lang), segmented=True
    )
    df = sq.perf_breakdown(snap, scope, flt, period, "user", rank)
    if df.empty:
        st.info(t("perf.no_reps", lang), icon=":material/inbox:")
        return
    top = df.head(15)
    col = "attainment" if rank == "attainment" else "bookings_cny"
    ys = top["user_name"].fillna(top["group_id"]).astype(str)
    xs = top[col] if rank == "attainment" else top[col] / fmt.money_axis_divisor(lang)
    fig = go.Figure(
        go.Bar(
            x=xs[::-1],
            y=ys[::-1],
            orientation="h",
            hovertemplate="%{y}<br>%{x:.1%}<extra></extra>"
            if rank == "attainment"
            else "%{y}<br>%{x:,.1f}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": t(f"perf.chart.rank.{rank}", lang)},
        height=120 + 24 * len(top),
        margin={"l": 8, "r": 8, "t": 48, "b": 8},
        showlegend=False,
        xaxis={
            "tickformat": ".0%" if rank == "attainment" else ",.0f",
            "title": {"text": "" if rank == "attainment" else t("axis.money", lang)},
        },
    )
    if rank == "attainment":
        fig.add_vline(x=1.0, line_dash="dot")
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")
    parents = {"team": df["team_id"].astype(str).tolist(), "region": df["region"].astype(str).tolist()}
    df = df.assign(
        rank=range(1, len(df) + 1),
        team=df["team_name"].fillna(df["team_id"]),
        region=df["region"].map(lambda r: vocab_label("region", r, lang)),
    )
    cols = {
        "rank": t("perf.col.rank", lang),
        "user_name": t("perf.col.rep", lang),
        "team": t("perf.col.team", lang),
        "region": t("perf.col.region", lang),
        **_measure_cols(lang),
    }
    if clickable:
        st.caption(t("perf.drill_hint", lang))
        key = "perf_tbl_user"
        _table(
            df,
            cols,
            "leaderboard",
            f"salescope_leaderboard_{suffix}.csv",
            lang,
            select=partial(_drill, "rep", df["group_id"].astype(str).tolist(), parents, key),
            key=key,
        )
    else:
        _table(df, cols, "leaderboard", f"salescope_leaderboard_{suffix}.csv", lang)


def _open_deal(ids: list[str]) -> None:
    event = st.session_state.get("perf_tbl_deals")
    rows = event.selection.rows if event is not None and event.selection else []
    if rows:
        st.session_state["perf_open_deal"] = ids[rows[0]]


def _deals(snap, scope, flt: DealFilter, period: sq.Period, role: str, lang: str, suffix: str) -> None:
    """The rep's deals behind the figures: won or lost in the period, or open at its end."""
    st.subheader(t("perf.deals", lang))
    df = sq.rep_deals(snap, scope, flt, period)
    if df.empty:
        st.info(t("perf.no_deals", lang), icon=":material/inbox:")
        return
    counts = df["status"].value_counts()
    st.caption(
        t(
            "perf.deals_caption",
            lang,
            won=int(counts.get("won", 0)),
            lost=int(counts.get("lost", 0)),
            open=int(counts.get("open", 0)),
        )
    )
    df = df.assign(
        status=df["status"].map(lambda s: t(f"perf.status.{s}", lang)),
        current_stage=df["current_stage"].map(lambda s: vocab_label("stage", s, lang)),
    )
    cols = {
        "opportunity_id": t("col.deal_id", lang),
        "opportunity_name": t("col.deal", lang),
        "account_name": t("col.account", lang),
        "status": t("perf.col.status", lang),
        "current_stage": t("col.stage", lang),
        "amount_cny": t("col.amount", lang),
        "created_at": t("perf.col.created", lang),
        "won_at": t("perf.col.won_at", lang),
        "lost_at": t("perf.col.lost_at", lang),
        "expected_close_date": t("col.expected_close", lang),
    }
    ids = df["opportunity_id"].astype(str).tolist()
    if may_open(role, "deals"):  # the deal page is for the sales roles
        st.caption(t("perf.deal_hint", lang))
        _table(
            df,
            cols,
            "deals",
            f"salescope_rep_deals_{suffix}.csv",
            lang,
            select=partial(_open_deal, ids),
            key="perf_tbl_deals",
        )
    else:
        _table(df, cols, "deals", f"salescope_rep_deals_{suffix}.csv", lang)


def _trend(snap, scope, flt: DealFilter, period: sq.Period, lang: str) -> None:
    df = sq.perf_trend(snap, scope, flt, period.end)
    if df.empty:
        return
    div = fmt.money_axis_divisor(lang)
    fig = go.Figure()
    fig.add_bar(
        x=df["month"],
        y=df["bookings_cny"] / div,
        name=t("perf.kpi.bookings", lang),
        hovertemplate="%{x|%Y-%m}<br>%{y:,.1f}<extra></extra>",
    )
    fig.add_scatter(
        x=df["month"],
        y=df["quota_cny"] / div,
        name=t("perf.kpi.quota", lang),
        mode="lines+markers",
        hovertemplate="%{x|%Y-%m}<br>%{y:,.1f}<extra></extra>",
    )
    fig.update_layout(
        title={"text": t("perf.chart.trend", lang)},
        height=320,
        margin={"l": 8, "r": 8, "t": 48, "b": 8},
        legend={"orientation": "h", "y": -0.2},
        xaxis={"tickformat": "%Y-%m"},
        yaxis={"title": {"text": t("axis.money", lang)}, "rangemode": "tozero"},
    )
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")


def render(lang: str) -> None:
    st.title(t(f"nav.{KEY}", lang))
    user = session.require_page(KEY, lang)
    if user is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None or not pagekit.require_tables(
        snap, lang, "marts.mart_rep_performance", "marts.fct_opportunities"
    ):
        return
    deal_id = st.session_state.pop("perf_open_deal", None)
    if deal_id:  # a deal picked in the table: its page, the filters kept for the way back
        st.switch_page("views/deals.py", query_params={"deal": deal_id})
    scope = current_scope()
    months = sq.perf_months(snap, scope)
    if not months:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    with st.container(horizontal=True, vertical_alignment="bottom"):
        month = month_picker(months, lang)
        span = url_choice(
            t("perf.span", lang), SPANS, "span", lambda o: t(f"perf.span.{o}", lang), segmented=True
        )
    options = queries.filter_options(snap, scope)
    flt = global_filters(options, lang)
    period = sq.Period.of(month, span)
    suffix = f"{span}_{month}"
    st.caption(t("perf.period", lang, start=period.start.strftime("%Y-%m"), end=period.end.strftime("%Y-%m")))
    team_names = dict(zip(options["team_id"], options["team_name"], strict=False))
    _breadcrumb(flt, team_names, scope.role, lang)

    # the level shown: a picked rep, a rep's own row, a team (a manager's by default), a region, the company
    if scope.role == "sales_rep":
        flt = DealFilter(owner_user_id=scope.user_id)
    level = (
        "rep"
        if flt.owner_user_id
        else "team"
        if flt.team_id or scope.role == "sales_manager"
        else "region"
        if flt.region
        else "company"
    )
    group = {"team": flt.team_id or sq.manager_team(snap, scope), "region": flt.region, "company": "all"}.get(
        level
    )
    vel = {}
    if level != "rep" and group and "marts.mart_sales_velocity" in queries.available_tables(snap):
        vel = sq.velocity(snap, scope, level, group, period.end)
    _cards(sq.perf_totals(snap, scope, flt, period), vel, lang)
    _trend(snap, scope, flt, period, lang)
    if level == "company":
        _groups(snap, scope, flt, period, "region", lang, suffix)
    elif level == "region":
        _groups(snap, scope, flt, period, "team", lang, suffix)
    _leaderboard(snap, scope, flt, period, lang, suffix, clickable=level != "rep")
    if level == "rep":
        _deals(snap, scope, flt, period, user.role, lang, suffix)


pagekit.run_page(KEY, render)
