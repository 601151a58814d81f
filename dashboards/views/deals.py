"""Deal risk (商机风险): open deals, stalled first with the reasons (mart_deal_risk when the snapshot has it,
else longest in their stage), and one deal's page (``?deal=ID``): risk reasons with next best actions,
stage history, touchpoint timeline and contacts (PII masked in SQL by role).

A deal outside the user's scope is reported exactly like a deal that does not exist.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboards import formatting as fmt
from dashboards import pagekit, queries, session
from dashboards.filters import global_filters
from dashboards.i18n import code_label, label, t, vocab_label
from dashboards.scope import current_scope

DEAL_PARAM = "deal"


def _back() -> None:
    st.query_params.pop(DEAL_PARAM, None)
    st.session_state.pop("deal_table", None)  # forget the row picked in the list


def _reasons(text: object, lang: str) -> str:
    codes = [c for c in str(text or "").split(";") if c]
    return (
        "、".join(label(f"reason.{c}", lang, c) for c in codes)
        if lang == "zh"
        else ", ".join(label(f"reason.{c}", lang, c) for c in codes)
    )


def _table(df: pd.DataFrame, lang: str, labels: dict[str, str], **kw) -> pd.DataFrame:
    shown = df[[c for c in labels if c in df.columns]].rename(columns=labels)
    st.dataframe(shown, hide_index=True, width="stretch", **kw)
    return shown


def _score(df: pd.DataFrame, lang: str) -> None:
    """The model's win probability with the reasons that raise and lower it."""
    if df.empty:
        return
    r = df.iloc[0]
    st.metric(
        t("deal.win_probability", lang),
        fmt.percent(r["win_probability"]),
        help=t("help.win_probability", lang),
        border=True,
    )
    try:
        reasons = json.loads(r["reasons"] or "{}")
    except ValueError:
        reasons = {}
    cols = st.columns(2)
    for cell, side in zip(cols, ("positive", "negative"), strict=True):
        items = reasons.get(side) or []
        if items:
            cell.markdown(f"**{t(f'deal.reasons_{side}', lang)}**")
            for item in items:
                cell.markdown(f"- {fmt.plain(item.get(lang) or item.get('zh') or item.get('code'))}")


def _deal_page(snap, scope, deal_id: str, lang: str) -> None:
    df = queries.deal(snap, scope, deal_id)
    st.button(t("deals.back", lang), icon=":material/arrow_back:", on_click=_back)
    if df.empty:
        st.warning(t("deals.not_found", lang), icon=":material/search_off:")
        return
    d = df.iloc[0]
    st.subheader(fmt.plain(d["opportunity_name"] or d["opportunity_id"]))
    st.caption(
        " · ".join(
            fmt.plain(v) for v in (d["opportunity_id"], d["account_name"] or d["account_id"], d["owner"])
        )
    )
    cells = st.columns(4)
    cells[0].metric(t("col.amount", lang), fmt.money(d["amount_cny"], lang), border=True)
    cells[1].metric(t("col.stage", lang), vocab_label("stage", d["current_stage"], lang), border=True)
    days = d["days_in_current_stage"]
    cells[2].metric(
        t("col.days_in_stage", lang), fmt.NO_VALUE if pd.isna(days) else str(int(days)), border=True
    )
    cells[3].metric(t("col.pushes", lang), str(int(d["push_count"] or 0)), border=True)

    tables = queries.available_tables(snap)
    if "ml.deal_scores" in tables:
        _score(queries.deal_score(snap, scope, deal_id), lang)
    st.subheader(t("deal.risk", lang))
    if "marts.mart_deal_risk" in tables:
        risk = queries.deal_risk(snap, scope, deal_id)
        codes = [] if risk.empty else [c for c in str(risk.iloc[0]["risk_reasons"] or "").split(";") if c]
        if risk.empty:
            st.info(t("deal.closed", lang), icon=":material/info:")
        elif not codes:
            st.success(t("deal.no_risk", lang), icon=":material/check_circle:")
        else:
            r = risk.iloc[0]
            st.markdown(t("deal.stalled" if r["is_stalled"] else "deal.at_risk", lang))
            for c in codes:
                st.markdown(f"- **{label(f'reason.{c}', lang, c)}** — {label(f'action.{c}', lang, '')}")
    else:
        pagekit.require_tables(snap, lang, "marts.mart_deal_risk")
    if "ml.next_actions" in tables:
        actions = queries.next_actions(snap, scope, deal_id)
        if not actions.empty:
            st.markdown(t("deal.next_actions", lang))
            for _, a in actions.iterrows():
                text = a["action_zh"] if lang == "zh" else a["action_en"]
                st.markdown(f"{int(a['rank'])}. **{fmt.plain(text)}** — {fmt.plain(a['evidence'])}")

    st.subheader(t("deal.stages", lang))
    if pagekit.require_tables(snap, lang, "marts.fct_stage_transitions"):
        hist = queries.stage_history(snap, scope, deal_id)
        hist = hist.assign(
            stage=hist["stage"].map(lambda s: vocab_label("stage", s, lang)),
            next_stage=hist["next_stage"].map(lambda s: vocab_label("stage", s, lang) if s else ""),
        )
        _table(
            hist,
            lang,
            {
                "stage": t("col.stage", lang),
                "entered_at": t("col.entered", lang),
                "exited_at": t("col.exited", lang),
                "days_in_stage": t("col.days_in_stage", lang),
                "next_stage": t("col.next_stage", lang),
                "is_regression": t("col.regression", lang),
            },
        )
    st.subheader(t("deal.touchpoints", lang))
    if pagekit.require_tables(snap, lang, "marts.fct_touchpoints"):
        tp = queries.touchpoints(snap, scope, deal_id)
        if tp.empty:
            st.info(t("deal.no_touchpoints", lang), icon=":material/inbox:")
        else:
            tp = tp.assign(
                channel=tp["channel"].map(lambda c: code_label("channel", c, lang)),
                direction=tp["direction"].map(lambda d: code_label("cust.direction", d, lang)),
            )
            _table(
                tp,
                lang,
                {
                    "occurred_at": t("col.when", lang),
                    "channel": t("col.channel", lang),
                    "direction": t("col.direction", lang),
                    "duration_minutes": t("col.minutes", lang),
                    "subject": t("col.subject", lang),
                    "by_user": t("col.owner", lang),
                },
            )
    st.subheader(t("deal.contacts", lang))
    if pagekit.require_tables(snap, lang, "marts.dim_contacts"):
        contacts = queries.deal_contacts(snap, scope, deal_id)
        shown = _table(
            contacts,
            lang,
            {
                "contact_name": t("col.contact", lang),
                "title": t("col.title", lang),
                "is_decision_maker": t("col.decision_maker", lang),
                "phone": t("col.phone", lang),
                "email": t("col.email", lang),
                "wechat_id": t("col.wechat", lang),
            },
        )
        session.download_csv(
            shown, "deals.contacts", f"salescope_contacts_{deal_id}.csv", lang, key="dl_contacts"
        )


def render(lang: str) -> None:
    st.title(t("deals.title", lang))
    if session.require_page("deals", lang) is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None or not pagekit.require_tables(snap, lang, "marts.fct_opportunities"):
        return
    scope = current_scope()
    deal_id = st.query_params.get(DEAL_PARAM)
    if deal_id:
        _deal_page(snap, scope, deal_id, lang)
        return
    flt = global_filters(queries.filter_options(snap, scope), lang)
    has_risk = "marts.mart_deal_risk" in queries.available_tables(snap)
    tables = queries.available_tables(snap)
    deals = (
        queries.open_deal_risk(snap, scope, flt, with_scores="ml.deal_scores" in tables)
        if has_risk
        else queries.open_deals(snap, scope, flt)
    )
    if has_risk and deals["win_probability"].isna().all():
        deals = deals.drop(columns="win_probability")
    if deals.empty:
        st.info(t("deals.none", lang), icon=":material/inbox:")
        return
    if has_risk:
        stalled = int(deals["is_stalled"].sum())
        st.caption(t("deals.caption_risk", lang, n=len(deals), stalled=stalled))
        deals = deals.assign(risk_reasons=deals["risk_reasons"].map(lambda v: _reasons(v, lang)))
    else:
        st.caption(t("deals.caption", lang, n=len(deals)))
    labels = {
        "opportunity_id": t("col.deal_id", lang),
        "opportunity_name": t("col.deal", lang),
        "account_name": t("col.account", lang),
        "owner": t("col.owner", lang),
        "region": t("col.region", lang),
        "current_stage": t("col.stage", lang),
        "amount_cny": t("col.amount", lang),
        "win_probability": t("deal.win_probability", lang),
        "is_stalled": t("col.stalled", lang),
        "risk_reasons": t("col.reasons", lang),
        "days_in_current_stage": t("col.days_in_stage", lang),
        "stage_p75_days": t("col.stage_p75", lang),
        "days_since_last_touch": t("col.since_touch", lang),
        "push_count": t("col.pushes", lang),
        "regression_count": t("col.regressions", lang),
        "expected_close_date": t("col.expected_close", lang),
    }
    table = deals.assign(
        current_stage=deals["current_stage"].map(lambda s: vocab_label("stage", s, lang)),
        region=deals["region"].map(lambda r: vocab_label("region", r, lang)),
    )  # filters keep codes
    table = table[[c for c in labels if c in table.columns]].rename(columns=labels)
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="deal_table",
        column_config={
            labels["amount_cny"]: st.column_config.NumberColumn(format="localized"),
            labels["stage_p75_days"]: st.column_config.NumberColumn(format="%.0f"),
            labels["win_probability"]: st.column_config.ProgressColumn(
                format="percent", min_value=0.0, max_value=1.0, help=t("help.win_probability", lang)
            ),
        },
    )
    rows = event.selection.rows if event and event.selection else []
    if rows:
        st.query_params[DEAL_PARAM] = str(deals.iloc[rows[0]]["opportunity_id"])
        st.rerun()
    session.download_csv(table, "deals.open", "salescope_open_deals.csv", lang)


pagekit.run_page("deals", render)
