"""Sales funnel (销售漏斗): passing and strict conversion per stage for the chosen created-month cohorts, lead
source and team, the bottleneck highlighted, days in each stage, and the same broken down by cohort, lead
source or team; the bottleneck simulator (瓶颈模拟, ``dashboards/whatif.py``) below.

Counts are summed over the filtered rows of mart_funnel and the conversions recomputed from the sums in SQL
(never averaged); a picked rep (the mart has no rep) gets the same counts rebuilt from the facts. Managers
see their team, executives everything (the scope, in SQL).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import formatting as fmt
from dashboards import pagekit, queries, session
from dashboards import sales_queries as sq
from dashboards import whatif as wi
from dashboards.filters import global_filters, url_choice
from dashboards.i18n import t, vocab_label
from dashboards.scope import current_scope

KEY = "funnel"
WINDOWS = ("12", "6", "24", "all")  # the newest cohorts shown; the first is the default
BREAKDOWNS = tuple(sq.FUNNEL_BREAKDOWNS)
CHART_CONFIG = {"displayModeBar": False, "responsive": True}
MARGIN = {"l": 8, "r": 8, "t": 48, "b": 8}
BOTTLENECK_COLOR = "#d62728"
BAR_COLOR = "#1f77b4"


def _stage(s: str, lang: str) -> str:
    return vocab_label("stage", s, lang)


def _cards(stages: pd.DataFrame, lang: str) -> None:
    by = stages.set_index("stage")
    entered = by["reached_count"].get(sq.FUNNEL_STAGES[0])
    won = by["reached_count"].get("won")
    neck = stages[stages["is_bottleneck"]]
    cards = (
        ("entered", fmt.NO_VALUE if entered is None else f"{int(entered):,}", None),
        ("won", fmt.NO_VALUE if won is None else f"{int(won):,}", None),
        ("overall", fmt.percent(won / entered if entered else None), None),
        (
            "bottleneck",
            fmt.NO_VALUE if neck.empty else _stage(neck.iloc[0]["stage"], lang),
            None
            if neck.empty
            else t("fn.bottleneck_delta", lang, v=fmt.percent(neck.iloc[0]["passing_conversion"])),
        ),
    )
    for cell, (k, v, delta) in zip(st.columns(4), cards, strict=True):
        cell.metric(
            t(f"fn.kpi.{k}", lang),
            v,
            delta,
            help=t(f"fn.help.{k}", lang),
            border=True,
            delta_color="off",
            delta_arrow="off",
        )


def _charts(stages: pd.DataFrame, lang: str) -> None:
    names = stages["stage"].map(lambda s: _stage(s, lang))
    funnel = go.Figure(go.Funnel(y=names, x=stages["reached_count"], textinfo="value+percent initial"))
    funnel.update_layout(
        title={"text": t("fn.chart.funnel", lang)}, height=360, margin=MARGIN, showlegend=False
    )
    conv = stages[stages["passing_conversion"].notna()]
    colors = [BOTTLENECK_COLOR if b else BAR_COLOR for b in conv["is_bottleneck"]]
    bars = go.Figure()
    bars.add_bar(
        x=conv["stage"].map(lambda s: _stage(s, lang)),
        y=conv["passing_conversion"],
        marker_color=colors,
        name=t("fn.col.passing_conversion", lang),
        hovertemplate="%{x}<br>%{y:.1%}<extra></extra>",
    )
    bars.add_scatter(
        x=conv["stage"].map(lambda s: _stage(s, lang)),
        y=conv["strict_conversion"],
        mode="markers",
        marker={"symbol": "diamond", "size": 10, "color": "#444"},
        name=t("fn.col.strict_conversion", lang),
        hovertemplate="%{x}<br>%{y:.1%}<extra></extra>",
    )
    bars.update_layout(
        title={"text": t("fn.chart.conversion", lang)},
        height=360,
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.25},
        yaxis={"tickformat": ".0%", "range": [0, 1.05]},
    )
    for col, fig in zip(st.columns(2), (funnel, bars), strict=True):
        with col:
            st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")
            if fig is bars:
                st.caption(t("fn.chart.conversion_note", lang))


def _stage_table(stages: pd.DataFrame, days: pd.DataFrame, lang: str, suffix: str) -> None:
    df = stages.merge(days[["stage", "median"]], on="stage", how="left") if not days.empty else stages
    df = df.assign(
        stage=df["stage"].map(lambda s: _stage(s, lang)),
        is_bottleneck=df["is_bottleneck"].map(lambda b: t("fn.bottleneck_mark", lang) if b else ""),
    )
    cols = {
        c: t(f"fn.col.{c}", lang)
        for c in (
            "stage",
            "reached_count",
            "passed_count",
            "strict_next_count",
            "passing_conversion",
            "strict_conversion",
            "median",
            "is_bottleneck",
        )
    }
    shown = df[[c for c in cols if c in df.columns]].rename(columns=cols)
    config = {
        cols[c]: st.column_config.NumberColumn(format="percent", help=t(f"fn.help.{c}", lang))
        for c in ("passing_conversion", "strict_conversion")
    }
    config[cols["median"]] = st.column_config.NumberColumn(format="%.1f")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    session.download_csv(
        shown, f"{KEY}.stages", f"salescope_funnel_{suffix}.csv", lang, key="dl_funnel_stages"
    )


def _days(days: pd.DataFrame, lang: str) -> None:
    """Days in each stage as boxes: quartiles, whiskers at the 10th and 90th percentiles (computed in SQL)."""
    if days.empty:
        return
    names = days["stage"].map(lambda s: _stage(s, lang)).tolist()
    fig = go.Figure(
        go.Box(
            x=names,
            q1=days["q1"],
            median=days["median"],
            q3=days["q3"],
            lowerfence=days["p10"],
            upperfence=days["p90"],
            name=t("fn.days", lang),
            showlegend=False,
        )
    )
    fig.update_layout(
        title={"text": t("fn.chart.days", lang)},
        height=340,
        margin=MARGIN,
        yaxis={"title": {"text": t("axis.days", lang)}, "rangemode": "tozero"},
    )
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch")
    st.caption(t("fn.chart.days_note", lang))


def _group_name(by: str, g: str, team_names: dict[str, str], lang: str) -> str:
    if by == "lead_source":
        return vocab_label("lead_source", g, lang)
    if by == "team":
        return team_names.get(g, g)
    return g


def _breakdown(snap, scope, f: sq.FunnelFilter, team_names: dict[str, str], lang: str, suffix: str) -> None:
    st.subheader(t("fn.breakdown", lang))
    by = url_choice(
        t("fn.breakdown_by", lang), BREAKDOWNS, "by", lambda b: t(f"fn.by.{b}", lang), segmented=True
    )
    df = sq.funnel_breakdown(snap, scope, f, by)
    if df.empty:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    df = df.assign(grp=df["grp"].map(lambda g: _group_name(by, str(g), team_names, lang)))
    conv = df[df["passing_conversion"].notna()]
    groups = list(dict.fromkeys(conv["grp"]))
    stages = [s for s in sq.FUNNEL_STAGES if s in set(conv["stage"])]
    # reshaping the SQL result for display only: one row per group, one column per stage
    z = conv.pivot(index="grp", columns="stage", values="passing_conversion").reindex(
        index=groups, columns=stages
    )
    z.columns.name = None
    heat = go.Figure(
        go.Heatmap(
            z=z.values,
            x=[_stage(s, lang) for s in stages],
            y=groups,
            colorscale="RdYlGn",
            zmin=0,
            zmax=1,
            texttemplate="%{z:.0%}",
            hovertemplate="%{y} · %{x}<br>%{z:.1%}<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    heat.update_layout(
        title={"text": t("fn.chart.heat", lang)},
        height=max(280, 60 + 26 * len(groups)),
        margin=MARGIN,
        yaxis={"type": "category", "autorange": "reversed"},
    )
    st.plotly_chart(heat, config=CHART_CONFIG, width="stretch")
    entered = df[df["stage_order"] == 1].set_index("grp")["reached_count"]
    necks = df[df["is_bottleneck"]].set_index("grp")["stage"]
    table = z.rename(columns=lambda s: _stage(s, lang)).reset_index(names=t(f"fn.by.{by}", lang))
    table.insert(1, t("fn.col.entered", lang), [int(entered.get(g, 0)) for g in groups])
    table[t("fn.col.is_bottleneck", lang)] = [_stage(necks[g], lang) if g in necks else "" for g in groups]
    config = {_stage(s, lang): st.column_config.NumberColumn(format="percent") for s in stages}
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)
    session.download_csv(
        table, f"{KEY}.by_{by}", f"salescope_funnel_by_{by}_{suffix}.csv", lang, key="dl_funnel_breakdown"
    )


def _ranking_table(rank: pd.DataFrame, lang: str) -> None:
    cols = {
        c: t(f"fn.sim.col.{c}", lang)
        for c in (
            "rank",
            "stage",
            "reached",
            "passing_conversion",
            "downstream_win_rate",
            "mean_won_amount",
            "mean_days",
            "gain_12m",
            "gain_next",
            "note",
        )
    }
    money, neck = t("fn.sim.money_mark", lang), t("fn.sim.bottleneck_mark", lang)
    notes = [
        " · ".join(mark for mark, flag in ((money, m), (neck, b)) if flag)
        for m, b in zip(rank["is_money_bottleneck"], rank["is_bottleneck"], strict=True)
    ]
    shown = rank.assign(
        stage=rank["stage"].map(lambda s: _stage(s, lang)),
        note=notes,
        mean_days=rank["mean_days"].round(1),
        **{c: rank[c].round(0) for c in ("mean_won_amount", "gain_12m", "gain_next")},  # whole CNY, CSV too
    )[list(cols)]
    shown = shown.rename(columns=cols)
    config = {
        cols[c]: st.column_config.NumberColumn(format="percent")
        for c in ("passing_conversion", "downstream_win_rate")
    }
    config |= {
        cols[c]: st.column_config.NumberColumn(format="localized", help=t(f"fn.sim.help.{h}", lang))
        for c, h in (
            ("mean_won_amount", "mean_won_amount"),
            ("gain_12m", "gain_12m_col"),
            ("gain_next", "gain_next_col"),
        )
    }
    config[cols["mean_days"]] = st.column_config.NumberColumn(format="%.1f")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    session.download_csv(shown, f"{KEY}.whatif", "salescope_funnel_whatif.csv", lang, key="dl_funnel_whatif")


def _simulator(snap, scope, flt: queries.DealFilter, lang: str) -> None:
    """瓶颈模拟: +x points of passing conversion or -y days at one stage over the last 12 months and the next
    two quarters (dashboards/whatif.py), for the deals in the scope and the region/team/rep filters."""
    st.subheader(t("fn.sim.title", lang))
    info = queries.publish_info(snap)
    if info is None or info.as_of is None:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    window = wi.Window(info.as_of)
    transitions, deals = sq.whatif_history(snap, scope, flt, window.start.date())
    if deals.empty:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    rank = wi.ranking(transitions, deals, info.as_of)
    st.caption(t("fn.sim.intro", lang, start=window.start.date(), end=info.as_of))
    with st.container(horizontal=True, vertical_alignment="bottom"):
        stage = url_choice(
            t("fn.sim.stage", lang),
            wi.OPEN_STAGES,
            "sim_stage",
            lambda s: _stage(s, lang),
            default=rank.iloc[0]["stage"],  # the stage with the most money behind a point
            help=t("fn.sim.help.stage", lang),
        )
        points = st.slider(
            t("fn.sim.points", lang), 0, 20, 5, key="sim_points", help=t("fn.sim.help.points", lang)
        )
        days = st.slider(t("fn.sim.days", lang), 0, 30, 0, key="sim_days", help=t("fn.sim.help.days", lang))
    r = wi.simulate(transitions, deals, info.as_of, wi.Change(stage, points, days))
    lo, hi = r.gain_12m_interval
    nlo, nhi = r.gain_next_interval
    s = r.stats
    cards = (
        (
            "gain_12m",
            fmt.money(r.gain_12m, lang, signed=True),
            t("fn.sim.interval", lang, lo=fmt.money(lo, lang), hi=fmt.money(hi, lang)),
        ),
        (
            "gain_next",
            fmt.money(r.gain_next, lang, signed=True),
            t("fn.sim.interval", lang, lo=fmt.money(nlo, lang), hi=fmt.money(nhi, lang)),
        ),
        (
            "cycle",
            fmt.days(r.cycle_after, lang),
            t("fn.sim.cycle_before", lang, v=fmt.days(r.cycle_before, lang), n=f"{r.won_count:,}"),
        ),
    )
    for cell, (k, v, delta) in zip(st.columns(3), cards, strict=True):
        cell.metric(
            t(f"fn.sim.kpi.{k}", lang),
            v,
            delta,
            help=t(f"fn.sim.help.{k}", lang),
            border=True,
            delta_color="off",
            delta_arrow="off",
        )
    st.caption(
        t(
            "fn.sim.basis",
            lang,
            stage=_stage(stage, lang),
            n=f"{s.reached:,}",
            p=fmt.percent(s.passing_conversion),
            w=fmt.percent(s.downstream_win_rate),
            a=fmt.money(s.mean_won_amount, lang),
            x=f"{r.points_applied:.3g}",
        )
    )
    st.markdown(f"**{t('fn.sim.ranking', lang)}**")
    _ranking_table(rank, lang)


def render(lang: str) -> None:
    st.title(t(f"nav.{KEY}", lang))
    if session.require_page(KEY, lang) is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None or not pagekit.require_tables(snap, lang, "marts.mart_funnel"):
        return
    scope = current_scope()
    cohorts, sources = sq.funnel_choices(snap, scope)
    if not cohorts:
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    with st.container(horizontal=True, vertical_alignment="bottom"):
        window = url_choice(t("fn.window", lang), WINDOWS, "cohorts", lambda w: t(f"fn.window.{w}", lang))
        source = url_choice(
            t("fn.source", lang),
            sources,
            "source",
            lambda s: vocab_label("lead_source", s, lang),
            optional=True,
            placeholder=t("filter.all", lang),
        )
    options = queries.filter_options(snap, scope)
    flt = global_filters(options, lang)
    team_names = dict(zip(options["team_id"], options["team_name"], strict=False))
    newest = cohorts[: int(window)] if window != "all" else cohorts
    has_facts = "marts.fct_stage_transitions" in queries.available_tables(snap)  # a rep's funnel needs them
    f = sq.FunnelFilter(
        cohort_from=newest[-1],
        cohort_to=newest[0],
        lead_source=source,
        region=flt.region,
        team_id=flt.team_id,
        owner_user_id=flt.owner_user_id if has_facts else None,
    )
    st.caption(t("fn.cohorts", lang, start=f.cohort_from, end=f.cohort_to))
    stages = sq.funnel_stages(snap, scope, f)
    if stages.empty or not stages["reached_count"].sum():
        st.info(t("page.no_rows", lang), icon=":material/inbox:")
        return
    suffix = f"{f.cohort_from}_{f.cohort_to}"
    _cards(stages, lang)
    _charts(stages, lang)
    days = sq.days_in_stage(snap, scope, f) if has_facts else pd.DataFrame()
    st.subheader(t("fn.stages", lang))
    _stage_table(stages, days, lang, suffix)
    _days(days, lang)
    _breakdown(snap, scope, f, team_names, lang, suffix)
    if has_facts:
        _simulator(snap, scope, flt, lang)


pagekit.run_page(KEY, render)
