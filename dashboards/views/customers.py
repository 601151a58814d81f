"""Customers (客户): KPI cards, tiers x lifecycle, cohort retention heatmap and NRR, predicted LTV distribution,
NPS by segment, customers at risk and the account list; one account's 360 page at ``?account=ID`` (profile,
contacts, touchpoint timeline, deals, projects, invoices, NPS answers).

Accounts are scoped by owner (a rep their own, a manager their team's); company-level figures (cohorts, NRR,
NPS by segment) only for scopes that see everything. An account outside the scope is reported exactly like
an account that does not exist.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboards import customer_queries as cq
from dashboards import formatting as fmt
from dashboards import pagekit, queries, session
from dashboards.db import Snapshot
from dashboards.filters import global_filters
from dashboards.i18n import code_label, label, t, vocab_label
from dashboards.queries import DealFilter
from dashboards.scope import Scope, current_scope

ACCOUNT_PARAM = "account"
DEALS_PAGE = "views/deals.py"  # relative to app.py, as st.navigation registered it
SELECTION_KEYS = ("cust_risk_table", "cust_table", "cust_pick", "cust_deals_table")
CARD_WIDTH = 170  # px: two fit side by side at 390 px
CHART_CONFIG = {"displayModeBar": False, "responsive": True}
LIFECYCLES = ("new", "active", "at_risk", "churned", "prospect")
LIFECYCLE_COLORS = {
    "new": "#4c78a8",
    "active": "#54a24b",
    "at_risk": "#f58518",
    "churned": "#9d9d9d",
    "prospect": "#b279a2",
}
TIER_COLORS = {"A": "#1f4e79", "B": "#4c78a8", "C": "#9ecae9", "D": "#c6dbef"}
# how a segment is named: a contract vocabulary, or the catalog namespace cust.segment ("all")
SEGMENT_LABELS = {"all": "cust.segment", "industry": "industry", "region": "region", "size_band": "size_band"}


# ---- small helpers -------------------------------------------------------------------------------------


def _back() -> None:
    st.query_params.pop(ACCOUNT_PARAM, None)
    for key in SELECTION_KEYS:  # forget the rows picked in the lists, or they would reopen the account
        st.session_state.pop(key, None)


def _pick() -> None:
    account_id = st.session_state.get("cust_pick")
    if account_id:
        st.query_params[ACCOUNT_PARAM] = str(account_id)


def _lifecycle(v: object, lang: str) -> str:
    return fmt.NO_VALUE if v is None or pd.isna(v) else label(f"cust.lifecycle.{v}", lang, v)


def _tier(v: object, lang: str) -> str:
    return t("cust.tier.none", lang) if v is None or pd.isna(v) else str(v)


def _codes(df: pd.DataFrame, lang: str, **kinds: str) -> pd.DataFrame:
    """Codes from the data shown as labels, per column a contract vocabulary (industry, channel...) or a
    catalog namespace (cust.aging...); unknown codes stay as they are."""
    out = df.copy()
    for col, kind in kinds.items():
        if col in out.columns:
            out[col] = out[col].map(
                lambda v, k=kind: v if v is None or pd.isna(v) else code_label(k, v, lang)
            )
    return out


def _show(
    df: pd.DataFrame,
    labels: dict[str, str],
    what: str,
    lang: str,
    *,
    key: str,
    config: dict | None = None,
    select: bool = False,
):
    """The table with translated headers and its audited CSV export; the selection event when ``select``."""
    table = df[[c for c in labels if c in df.columns]].rename(columns=labels)
    kw = {"on_select": "rerun", "selection_mode": "single-row", "key": key} if select else {}
    event = st.dataframe(table, hide_index=True, width="stretch", column_config=config or {}, **kw)
    session.download_csv(table, what, f"salescope_{what.replace('.', '_')}.csv", lang, key=f"dl_{key}")
    return event


def _selected(event, df: pd.DataFrame, column: str) -> str | None:
    rows = event.selection.rows if event is not None and event.selection else []
    return str(df.iloc[rows[0]][column]) if rows else None


def _money_cols(labels: dict[str, str], *cols: str) -> dict:
    return {labels[c]: st.column_config.NumberColumn(format="localized") for c in cols if c in labels}


def _account_labels(lang: str) -> dict[str, str]:
    return {
        "account_id": t("ccol.account_id", lang),
        "account_name": t("col.account", lang),
        "industry": t("ccol.industry", lang),
        "region": t("col.region", lang),
        "size_band": t("ccol.size", lang),
        "owner": t("col.owner", lang),
        "lifecycle": t("ccol.lifecycle", lang),
        "tier": t("ccol.tier", lang),
        "p_alive": t("ccol.p_alive", lang),
        "predicted_ltv_12m_cny": t("ccol.ltv12", lang),
        "monetary_cny": t("ccol.monetary", lang),
        "historical_ltv_cny": t("ccol.hist_ltv", lang),
        "frequency": t("ccol.frequency", lang),
        "recency_days": t("ccol.recency", lang),
        "touchpoints_90d": t("ccol.tp90", lang),
        "last_touch_date": t("ccol.last_touch", lang),
        "last_nps_score": t("ccol.last_nps", lang),
    }


def _account_rows(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = _codes(df, lang, industry="industry", region="region", size_band="size_band")
    lifecycle = out["ml_lifecycle"].where(out["ml_lifecycle"].notna(), out["lifecycle"])
    return out.assign(lifecycle=lifecycle.map(lambda v: _lifecycle(v, lang)))


def _account_table(df: pd.DataFrame, what: str, lang: str, key: str, *, ml: bool):
    labels = _account_labels(lang)
    if not ml:
        for col in ("tier", "p_alive", "predicted_ltv_12m_cny"):
            labels.pop(col)
    config = _money_cols(labels, "predicted_ltv_12m_cny", "monetary_cny", "historical_ltv_cny")
    if "p_alive" in labels:
        config[labels["p_alive"]] = st.column_config.ProgressColumn(
            format="percent", min_value=0.0, max_value=1.0, help=t("cust.help.p_alive", lang)
        )
    return _show(_account_rows(df, lang), labels, what, lang, key=key, config=config, select=True)


def _layout(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    legend = sum(1 for tr in fig.data if tr.showlegend is not False) > 1
    # the legend above the plot, under the title: below it, it would cover rotated tick labels on a phone
    fig.update_layout(
        title={"text": title, "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 12}},
        height=height,
        margin={"l": 8, "r": 8, "t": 96 if legend else 56, "b": 8},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "left",
            "x": 0,
            "traceorder": "normal",
        },
    )
    return fig


def _chart(fig: go.Figure) -> None:
    st.plotly_chart(fig, width="stretch", config=CHART_CONFIG)


# ---- the overview --------------------------------------------------------------------------------------


def _kpi_cards(snap: Snapshot, scope: Scope, values: dict[str, float | None], lang: str) -> None:
    ml = cq.has_ltv(snap)
    nrr = cq.nrr_trend(snap, scope)
    cards: list[tuple[str, str, str, list[float] | None]] = [
        (
            "customers",
            fmt.NO_VALUE if values["customers"] is None else f"{values['customers']:,.0f}",
            t("cust.help.customers", lang),
            None,
        ),
        ("repurchase", fmt.percent(values["repurchase_rate"]), t("cust.help.repurchase", lang), None),
    ]
    if scope.is_everything and not nrr.empty:
        last = nrr.iloc[-1]
        cohort = last["cohort_month"].strftime("%Y-%m")
        cards.append(
            (
                "nrr",
                fmt.percent(last["nrr"]),
                t("cust.help.nrr", lang, cohort=cohort),
                [float(v) for v in nrr["nrr"]],
            )
        )
    if ml:
        cards.append(
            (
                "ltv",
                fmt.money(values["predicted_ltv_12m"], lang),
                f"{t('cust.help.ltv_total', lang)} {t('cust.help.ltv', lang)}",
                None,
            )
        )
        cards.append(
            (
                "at_risk",
                fmt.NO_VALUE if values["at_risk"] is None else f"{values['at_risk']:,.0f}",
                t("cust.help.at_risk", lang),
                None,
            )
        )
    for cell, (key, value, help_text, spark) in zip(st.columns(len(cards)), cards, strict=True):
        cell.metric(
            t(f"cust.kpi.{key}", lang),
            value,
            help=help_text,
            border=True,
            chart_data=spark,
            chart_type="line",
        )
    if not ml:
        st.info(t("cust.no_ml", lang), icon=":material/construction:")


def _tiers(snap: Snapshot, scope: Scope, flt: DealFilter, lang: str) -> None:
    st.subheader(t("cust.sec.tiers", lang), help=t("cust.help.tier", lang))
    df = cq.tier_lifecycle(snap, scope, flt)
    if df.empty:
        st.info(t("cust.none", lang), icon=":material/inbox:")
        return
    df = df.assign(tier_label=df["tier"].map(lambda v: _tier(v, lang)))
    order = [*cq.TIERS, t("cust.tier.none", lang)]
    fig = go.Figure()
    for lc in [c for c in LIFECYCLES if c in set(df["lifecycle"])]:
        part = df[df["lifecycle"] == lc]
        fig.add_bar(
            x=part["tier_label"],
            y=part["customers"],
            name=_lifecycle(lc, lang),
            marker_color=LIFECYCLE_COLORS.get(lc),
            hovertemplate="%{x}: %{y}<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(
        barmode="stack",
        xaxis={
            "categoryorder": "array",
            "categoryarray": order,
            "title": {"text": t("cust.axis.tier", lang)},
        },
        yaxis={"title": {"text": t("cust.axis.customers", lang)}},
    )
    _chart(_layout(fig, t("cust.chart.tiers", lang)))


def _cohorts(snap: Snapshot, scope: Scope, flt: DealFilter, lang: str) -> None:
    st.subheader(t("cust.sec.cohorts", lang), help=t("cust.help.cohort", lang))
    if not scope.is_everything:
        st.info(t("cust.company_only", lang), icon=":material/domain:")
        return
    if not pagekit.require_tables(snap, lang, cq.COHORTS):
        return
    if any((flt.region, flt.team_id, flt.owner_user_id)):
        st.caption(t("cust.company_note", lang))
    ret = cq.cohort_retention(snap, scope)
    if ret.empty:
        st.info(t("cust.no_cohorts", lang), icon=":material/inbox:")
        return
    grid = ret.pivot(index="cohort_month", columns="month_offset", values="retention").sort_index()
    sizes = ret.groupby("cohort_month")["cohort_customers"].max().reindex(grid.index)
    y = [f"{m:%Y-%m} (n={int(n)})" for m, n in zip(grid.index, sizes, strict=True)]
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy() * 100,
            x=[int(c) for c in grid.columns],
            y=y,
            colorscale="Blues",
            zmin=0,
            hovertemplate="%{y} · +%{x}: %{z:.1f}%<extra></extra>",
            colorbar={"ticksuffix": "%", "thickness": 10},
        )
    )
    fig.update_layout(
        xaxis={"title": {"text": t("cust.axis.month_offset", lang)}, "dtick": 3},
        yaxis={"title": {"text": t("cust.axis.cohort", lang)}, "autorange": "reversed"},
    )
    _chart(_layout(fig, t("cust.chart.heatmap", lang), height=max(320, 16 * len(y) + 120)))
    nrr = cq.nrr_trend(snap, scope)
    if not nrr.empty:
        fig = go.Figure(
            go.Scatter(
                x=nrr["cohort_month"],
                y=nrr["nrr"],
                mode="lines+markers",
                hovertemplate="%{x|%Y-%m}: %{y:.1%}<extra></extra>",
            )
        )
        fig.update_layout(
            xaxis={"tickformat": "%Y-%m", "title": {"text": t("cust.axis.cohort", lang)}},
            yaxis={"tickformat": ".0%", "rangemode": "tozero"},
            showlegend=False,
        )
        _chart(_layout(fig, t("cust.chart.nrr", lang)))
        st.caption(t("cust.help.nrr_chart", lang))


def _ltv(snap: Snapshot, scope: Scope, flt: DealFilter, lang: str) -> None:
    hist = cq.ltv_histogram(snap, scope, flt)
    if hist.empty:
        return
    st.subheader(t("cust.sec.ltv", lang), help=t("cust.help.ltv_hist", lang))
    bins = hist.drop_duplicates("bin").sort_values("bin")
    # the axis shows each bin's lower edge (short enough for a phone); the hover shows the whole range
    names = {int(b): f"{fmt.money(lo, lang)}+" for b, lo in zip(bins["bin"], bins["low"], strict=True)}
    ranges = {
        int(b): f"{fmt.money(lo, lang)}–{fmt.money(hi, lang)}"
        for b, lo, hi in zip(bins["bin"], bins["low"], bins["high"], strict=True)
    }
    fig = go.Figure()
    for tier in [*cq.TIERS, None]:
        part = hist[hist["tier"].isna()] if tier is None else hist[hist["tier"] == tier]
        if part.empty:
            continue
        fig.add_bar(
            x=part["bin"].map(names),
            y=part["customers"],
            name=_tier(tier, lang),
            marker_color=TIER_COLORS.get(tier or "", "#9d9d9d"),
            customdata=part["bin"].map(ranges),
            hovertemplate="%{customdata}: %{y}<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(
        barmode="stack",
        xaxis={
            "categoryorder": "array",
            "categoryarray": list(names.values()),
            "title": {"text": t("cust.axis.ltv", lang)},
        },
        yaxis={"title": {"text": t("cust.axis.customers", lang)}},
    )
    _chart(_layout(fig, t("cust.chart.ltv", lang)))


def _nps(snap: Snapshot, scope: Scope, flt: DealFilter, lang: str) -> None:
    if not scope.is_everything:
        return  # the company-only note under the cohorts says why
    st.subheader(t("cust.sec.nps", lang), help=t("cust.help.nps", lang))
    if not pagekit.require_tables(snap, lang, cq.NPS):
        return
    df = cq.nps_by_segment(snap, scope)
    if df.empty:
        st.info(t("cust.no_nps_segments", lang), icon=":material/inbox:")
        return
    year = df["year_start"].dropna()
    quarter = df["quarter_start"].dropna()
    st.caption(
        t(
            "cust.nps_caption",
            lang,
            year=f"{year.max():%Y}" if not year.empty else fmt.NO_VALUE,
            quarter=(
                f"{quarter.max():%Y}-Q{(quarter.max().month - 1) // 3 + 1}"
                if not quarter.empty
                else fmt.NO_VALUE
            ),
        )
        + (" " + t("cust.company_note", lang) if any((flt.region, flt.team_id, flt.owner_user_id)) else "")
    )
    types = [s for s in ("industry", "region", "size_band") if s in set(df["segment_type"])]
    if types:
        seg_type = st.segmented_control(
            t("cust.segment_type", lang),
            types,
            default=types[0],
            required=True,
            format_func=lambda s: t(f"cust.segtype.{s}", lang),
            key="cust_nps_type",
        )
        seg_type = seg_type if seg_type in types else types[0]
        part = df[df["segment_type"] == seg_type].sort_values("nps_year")
        prefix = SEGMENT_LABELS[seg_type]
        fig = go.Figure(
            go.Bar(
                x=part["nps_year"],
                y=part["segment"].map(lambda v: code_label(prefix, v, lang)),
                orientation="h",
                customdata=part["responses_year"],
                hovertemplate="%{y}: %{x:.0f} (n=%{customdata})<extra></extra>",
            )
        )
        fig.update_layout(xaxis={"title": {"text": "NPS"}}, showlegend=False)
        _chart(
            _layout(
                fig, f"NPS · {t(f'cust.segtype.{seg_type}', lang)}", height=max(260, 28 * len(part) + 100)
            )
        )
    table = df.assign(
        segment=[
            code_label(SEGMENT_LABELS.get(k, "cust.segment"), s, lang)
            for k, s in zip(df["segment_type"], df["segment"], strict=True)
        ],
        segment_type=df["segment_type"].map(lambda s: label(f"cust.segtype.{s}", lang, s)),
    )
    labels = {
        "segment_type": t("ccol.segment_type", lang),
        "segment": t("ccol.segment", lang),
        "nps_year": t("ccol.nps_year", lang),
        "responses_year": t("ccol.responses_year", lang),
        "nps_quarter": t("ccol.nps_quarter", lang),
        "responses_quarter": t("ccol.responses_quarter", lang),
    }
    fmt1 = st.column_config.NumberColumn(format="%.1f")
    _show(
        table,
        labels,
        "customers.nps_segments",
        lang,
        key="cust_nps_table",
        config={labels["nps_year"]: fmt1, labels["nps_quarter"]: fmt1},
    )


def _at_risk(snap: Snapshot, scope: Scope, flt: DealFilter, n: float | None, lang: str) -> str | None:
    if not cq.has_ltv(snap):
        return None
    st.subheader(t("cust.sec.at_risk", lang), help=t("cust.help.at_risk", lang))
    df = cq.at_risk(snap, scope, flt)
    if df.empty:
        st.success(t("cust.no_risk", lang), icon=":material/check_circle:")
        return None
    n = n or len(df)
    st.caption(
        t(
            "cust.at_risk_caption",
            lang,
            n=f"{n:,.0f}",
            more=t("cust.more", lang, shown=len(df)) if n > len(df) else "",
        )
    )
    event = _account_table(df, "customers.at_risk", lang, "cust_risk_table", ml=True)
    return _selected(event, df, "account_id")


def _accounts(snap: Snapshot, scope: Scope, flt: DealFilter, lang: str) -> str | None:
    st.subheader(t("cust.sec.accounts", lang))
    df = cq.accounts(snap, scope, flt)
    if df.empty:
        st.info(t("cust.none", lang), icon=":material/inbox:")
        return None
    total = int(df["total"].iloc[0])
    st.caption(
        t(
            "cust.accounts_caption",
            lang,
            n=f"{total:,}",
            more=t("cust.more", lang, shown=len(df)) if total > len(df) else "",
        )
    )
    event = _account_table(df, "customers.accounts", lang, "cust_table", ml=cq.has_ltv(snap))
    names = dict(zip(df["account_id"], df["account_name"], strict=True))
    st.selectbox(
        t("cust.pick", lang),
        list(names),
        index=None,
        key="cust_pick",
        on_change=_pick,
        placeholder=t("cust.pick_placeholder", lang),
        format_func=lambda a: f"{names.get(a) or a} ({a})",
    )
    return _selected(event, df, "account_id")


def _overview(snap: Snapshot, scope: Scope, lang: str) -> None:
    info = queries.publish_info(snap)
    as_of = info.as_of if info else None
    if as_of:
        st.caption(t("cust.as_of", lang, as_of=as_of.isoformat()))
    flt = global_filters(queries.filter_options(snap, scope), lang)
    values = cq.kpis(snap, scope, flt, as_of)
    _kpi_cards(snap, scope, values, lang)
    left, right = st.columns(2)  # side by side on a desktop, stacked on a phone
    with left:
        _tiers(snap, scope, flt, lang)
    with right:
        _ltv(snap, scope, flt, lang)
    _cohorts(snap, scope, flt, lang)
    _nps(snap, scope, flt, lang)
    picked = _at_risk(snap, scope, flt, values["at_risk"], lang)
    picked = _accounts(snap, scope, flt, lang) or picked
    if picked:
        st.query_params[ACCOUNT_PARAM] = picked
        st.rerun()


# ---- account 360 ---------------------------------------------------------------------------------------


def _profile(p: pd.Series, lang: str) -> None:
    st.subheader(fmt.plain(p["account_name"] or p["account_id"]))
    facts = [
        p["account_id"],
        *(
            fmt.NO_VALUE if p[c] is None or pd.isna(p[c]) else vocab_label(c, p[c], lang)
            for c in ("industry", "region", "size_band")
        ),
        p["owner"],
    ]
    st.caption(" · ".join(fmt.plain(v) for v in facts if v is not None and not pd.isna(v)))
    lifecycle = p["ml_lifecycle"] if not pd.isna(p["ml_lifecycle"]) else p["lifecycle"]
    nps, category, answered = p["last_nps_score"], p["last_nps_category"], p["last_nps_date"]
    recency = p["recency_days"]
    cards = [
        ("lifecycle", _lifecycle(lifecycle, lang), t("cust.help.tier", lang), None),
        ("tier", _tier(p["tier"], lang), t("cust.help.tier", lang), None),
        ("p_alive", fmt.percent(p["p_alive"]), t("cust.help.p_alive", lang), None),
        ("ltv12", fmt.money(p["predicted_ltv_12m_cny"], lang), t("cust.help.ltv", lang), None),
        ("monetary", fmt.money(p["monetary_cny"], lang), t("cust.help.monetary", lang), None),
        ("frequency", f"{int(p['frequency'] or 0):,}", t("cust.help.frequency", lang), None),
        (
            "recency",
            fmt.NO_VALUE if pd.isna(recency) else t("cust.days", lang, v=int(recency)),
            t("cust.help.recency", lang),
            None,
        ),
        (
            "last_nps",
            fmt.NO_VALUE if pd.isna(nps) else str(int(nps)),
            t("cust.help.last_nps", lang),
            None if pd.isna(nps) else label(f"cust.nps.{category}", lang, category),
        ),
    ]
    with st.container(horizontal=True, gap="small"):  # wraps: two cards a row on a phone, not eight stacked
        for key, value, help_text, note in cards:
            # the NPS category and date as a grey note under the score, not as a change
            extra = (
                {}
                if note is None
                else {
                    "delta": note,
                    "delta_color": "off",
                    "delta_arrow": "off",
                    "delta_description": f"{pd.Timestamp(answered):%Y-%m-%d}",
                }
            )
            st.metric(t(f"cust.m.{key}", lang), value, help=help_text, border=True, width=CARD_WIDTH, **extra)


def _contacts(snap: Snapshot, scope: Scope, account_id: str, lang: str) -> None:
    df = cq.account_contacts(snap, scope, account_id)
    if df.empty:
        st.info(t("cust.no_contacts", lang), icon=":material/inbox:")
        return
    _show(
        df,
        {
            "contact_name": t("col.contact", lang),
            "title": t("col.title", lang),
            "is_decision_maker": t("col.decision_maker", lang),
            "phone": t("col.phone", lang),
            "email": t("col.email", lang),
            "wechat_id": t("col.wechat", lang),
        },
        "customers.contacts",
        lang,
        key="cust_contacts",
    )


def _timeline(snap: Snapshot, scope: Scope, account_id: str, lang: str) -> None:
    df = cq.account_touchpoints(snap, scope, account_id)
    if df.empty:
        st.info(t("cust.no_touchpoints", lang), icon=":material/inbox:")
        return
    total = int(df["total"].iloc[0])
    st.caption(
        t(
            "cust.tp_caption",
            lang,
            n=f"{total:,}",
            more=t("cust.tp_more", lang, shown=len(df)) if total > len(df) else "",
        )
    )
    _show(
        _codes(df, lang, channel="channel", direction="cust.direction"),
        {
            "occurred_at": t("col.when", lang),
            "channel": t("col.channel", lang),
            "direction": t("col.direction", lang),
            "duration_minutes": t("col.minutes", lang),
            "subject": t("col.subject", lang),
            "contact_name": t("col.contact", lang),
            "opportunity_id": t("col.deal_id", lang),
            "by_user": t("col.owner", lang),
        },
        "customers.timeline",
        lang,
        key="cust_timeline",
    )


def _deals(snap: Snapshot, scope: Scope, account_id: str, lang: str) -> None:
    df = cq.account_deals(snap, scope, account_id)
    if df.empty:
        st.info(t("cust.no_deals", lang), icon=":material/inbox:")
        return
    st.caption(t("cust.deals_caption", lang, n=len(df)))
    labels = {
        "opportunity_id": t("col.deal_id", lang),
        "opportunity_name": t("col.deal", lang),
        "owner": t("col.owner", lang),
        "current_stage": t("col.stage", lang),
        "amount_cny": t("col.amount", lang),
        "created_at": t("ccol.created", lang),
        "won_at": t("ccol.won_at", lang),
        "lost_at": t("ccol.lost_at", lang),
        "expected_close_date": t("col.expected_close", lang),
    }
    event = _show(
        _codes(df, lang, current_stage="stage"),
        labels,
        "customers.deals",
        lang,
        key="cust_deals_table",
        config=_money_cols(labels, "amount_cny"),
        select=True,
    )
    deal_id = _selected(event, df, "opportunity_id")
    if deal_id:
        st.session_state.pop("cust_deals_table", None)
        st.switch_page(DEALS_PAGE, query_params={"deal": deal_id})


def _projects(snap: Snapshot, scope: Scope, account_id: str, lang: str) -> None:
    if not pagekit.require_tables(snap, lang, cq.PROJECTS):
        return
    df = cq.account_projects(snap, scope, account_id)
    if df.empty:
        st.info(t("cust.no_projects", lang), icon=":material/inbox:")
        return
    labels = {
        "project_id": t("ccol.project_id", lang),
        "project_name": t("ccol.project", lang),
        "project_status": t("ccol.status", lang),
        "planned_end_date": t("ccol.planned_end", lang),
        "actual_or_forecast_end_date": t("ccol.forecast_end", lang),
        "progress": t("ccol.progress", lang),
        "task_count": t("ccol.tasks", lang),
        "overdue_task_count": t("ccol.overdue_tasks", lang),
        "schedule_variance_days": t("ccol.variance", lang),
    }
    _show(
        _codes(df, lang, project_status="project_status"),
        labels,
        "customers.projects",
        lang,
        key="cust_projects",
        config={
            labels["progress"]: st.column_config.ProgressColumn(
                format="percent", min_value=0.0, max_value=1.0
            )
        },
    )


def _invoices(snap: Snapshot, scope: Scope, account_id: str, lang: str) -> None:
    if not pagekit.require_tables(snap, lang, cq.INVOICES):
        return
    df = cq.account_invoices(snap, scope, account_id)
    if df.empty:
        st.info(t("cust.no_invoices", lang), icon=":material/inbox:")
        return
    overdue = df.loc[df["is_overdue"].fillna(False).astype(bool), "unpaid_cny"].sum()
    sums = (
        ("invoiced", df["amount_cny"].sum()),
        ("collected", df["collected_cny"].sum()),
        ("unpaid", df["unpaid_cny"].sum()),
        ("overdue", overdue),
    )
    for cell, (key, value) in zip(st.columns(4), sums, strict=True):
        cell.metric(
            t(f"cust.m.{key}", lang),
            fmt.money(value, lang),
            border=True,
            help=t("cust.help.unpaid", lang) if key in ("unpaid", "overdue") else None,
        )
    labels = {
        "invoice_id": t("ccol.invoice_id", lang),
        "contract_id": t("ccol.contract_id", lang),
        "invoice_date": t("ccol.invoice_date", lang),
        "due_date": t("ccol.due_date", lang),
        "amount_cny": t("ccol.invoiced", lang),
        "collected_cny": t("ccol.collected", lang),
        "unpaid_cny": t("ccol.unpaid", lang),
        "days_past_due": t("ccol.days_past_due", lang),
        "aging_bucket": t("ccol.aging", lang),
        "is_overdue": t("ccol.overdue", lang),
    }
    _show(
        _codes(df, lang, aging_bucket="cust.aging"),
        labels,
        "customers.invoices",
        lang,
        key="cust_invoices",
        config=_money_cols(labels, "amount_cny", "collected_cny", "unpaid_cny"),
    )


def _nps_answers(snap: Snapshot, scope: Scope, account_id: str, lang: str) -> None:
    if not pagekit.require_tables(snap, lang, cq.NPS_RESPONSES):
        return
    df = cq.account_nps(snap, scope, account_id)
    if df.empty:
        st.info(t("cust.no_nps", lang), icon=":material/inbox:")
        return
    _show(
        _codes(df, lang, nps_category="cust.nps"),
        {
            "responded_date": t("ccol.responded", lang),
            "score": t("ccol.score", lang),
            "nps_category": t("ccol.category", lang),
            "contact_name": t("col.contact", lang),
            "comment": t("ccol.comment", lang),
        },
        "customers.nps",
        lang,
        key="cust_nps_answers",
    )


def _account_page(snap: Snapshot, scope: Scope, account_id: str, lang: str) -> None:
    st.button(t("cust.back", lang), icon=":material/arrow_back:", on_click=_back)
    profile = cq.account_profile(snap, scope, account_id)
    if profile.empty:
        st.warning(t("cust.not_found", lang), icon=":material/search_off:")
        return
    _profile(profile.iloc[0], lang)
    tabs = st.tabs(
        [t(f"cust.tab.{k}", lang) for k in ("contacts", "timeline", "deals", "projects", "invoices", "nps")]
    )
    sections = (_contacts, _timeline, _deals, _projects, _invoices, _nps_answers)
    needs = (cq.CONTACTS, cq.TOUCHPOINTS, cq.DEALS, None, None, None)  # the last three check their own table
    for tab, section, table in zip(tabs, sections, needs, strict=True):
        with tab:
            if table is None or pagekit.require_tables(snap, lang, table):
                section(snap, scope, account_id, lang)


def render(lang: str) -> None:
    st.title(t("nav.customers", lang))
    if session.require_page("customers", lang) is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None or not pagekit.require_tables(snap, lang, cq.PROFILE):
        return
    scope = current_scope()
    account_id = st.query_params.get(ACCOUNT_PARAM)
    if account_id:
        _account_page(snap, scope, account_id, lang)
        return
    _overview(snap, scope, lang)


pagekit.run_page("customers", render)
