"""Next best actions for open deals, each with its evidence from the deals won before.

For each open stage: the share of deals won from it (at their last snapshot in that stage) that had an
on-site visit, a demo, a decision-maker contact, a proposal document, against the share among the deals
lost from it. An open deal lacking one of these where won deals clearly had it more often gets the
action; stall reasons from ``marts.mart_deal_risk`` add their actions. No external service.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract import zh_name

PRACTICES = {
    "has_visit": (
        "schedule_visit",
        "安排现场拜访",
        "schedule an on-site visit",
        "现场拜访",
        "an on-site visit",
    ),
    "has_demo": ("run_demo", "安排产品演示", "run a product demo", "产品演示", "a demo"),
    "has_decision_maker_contact": (
        "meet_decision_maker",
        "联系决策人",
        "get in touch with the decision maker",
        "决策人接触",
        "a decision-maker contact",
    ),
    "has_proposal_doc": (
        "send_proposal",
        "提交方案文档",
        "send a proposal document",
        "方案文档",
        "a proposal document",
    ),
}
STALLS = {
    "no_touch_14d": (
        "follow_up_now",
        "立即跟进客户",
        "follow up with the customer now",
        "已 {d} 天无跟进（超过 14 天即视为停滞）",
        "no touchpoint for {d} days (over 14 days counts as stalled)",
    ),
    "stage_overdue": (
        "agree_next_step",
        "与客户约定下一步以推进阶段",
        "agree the next step to move the stage forward",
        "在当前阶段停留时间超过已赢单商机的 75% 分位",
        "in this stage longer than 75% of deals that were won",
    ),
    "pushed_2plus": (
        "confirm_timeline",
        "与决策人确认采购时间表",
        "confirm the buying timeline with the decision maker",
        "预计成交日期已推迟 {p} 次",
        "close date pushed {p} times",
    ),
}
MIN_SHARE = 0.5  # won deals must have had the practice at least this often
MIN_GAP = 0.05  # and more often than lost deals by this much
COLUMNS = ["opportunity_id", "rank", "action_code", "action_zh", "action_en", "evidence"]


def practice_rates(training: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
    """Per stage and practice: share among deals won from that stage vs lost from it (last snapshot there)."""
    df = training[["opportunity_id", "stage", "snapshot_date", *PRACTICES]].copy()
    df["won"] = np.asarray(y, dtype=float)
    last = df.sort_values("snapshot_date").groupby(["opportunity_id", "stage"], as_index=False).tail(1)
    rows = []
    for stage, g in last.groupby("stage"):
        w, lo = g[g["won"] == 1], g[g["won"] == 0]
        for col in PRACTICES:
            rows.append(
                {
                    "stage": stage,
                    "practice": col,
                    "won_share": float(w[col].mean()) if len(w) else np.nan,
                    "lost_share": float(lo[col].mean()) if len(lo) else np.nan,
                    "n_won": len(w),
                }
            )
    return pd.DataFrame(rows)


def next_actions(
    open_deals: pd.DataFrame, rates: pd.DataFrame, risk: pd.DataFrame | None = None
) -> pd.DataFrame:
    """open_deals: feature rows at the as-of date; risk: opportunity_id, stall_reasons (';'-separated)."""
    lookup = {(r.stage, r.practice): r for r in rates.itertuples()}
    stall = {}
    if risk is not None and len(risk):
        stall = dict(zip(risk["opportunity_id"], risk["stall_reasons"].fillna(""), strict=False))
    out = []
    for d in open_deals.itertuples(index=False):
        cands = []
        for col, (code, zh, en, what_zh, what_en) in PRACTICES.items():
            r = lookup.get((d.stage, col))
            if getattr(d, col) >= 1 or r is None or r.n_won < 10 or not (r.won_share >= MIN_SHARE):
                continue
            if not (r.won_share - (r.lost_share if r.lost_share == r.lost_share else 0) >= MIN_GAP):
                continue
            pct = round(100 * r.won_share)
            ev = (
                f"从{zh_name('stage', d.stage)}阶段赢单的商机中 {pct}% 有{what_zh}，本商机没有 / "
                f"{pct}% of deals won from {d.stage.replace('_', ' ')} had {what_en}; this one has none"
            )
            cands.append((r.won_share - r.lost_share, code, zh, en, ev))
        reasons = [c for c in str(stall.get(d.opportunity_id, "")).split(";") if c]
        if risk is None and d.days_since_last_touch >= 14:
            reasons.append("no_touch_14d")
        if risk is None and d.push_count >= 2:
            reasons.append("pushed_2plus")
        for rc in reasons:
            if rc not in STALLS:
                continue
            code, zh, en, ev_zh, ev_en = STALLS[rc]
            fmt = {"d": int(d.days_since_last_touch), "p": int(d.push_count)}
            cands.append(
                (
                    1.0 if rc != "pushed_2plus" else 0.3,
                    code,
                    zh,
                    en,
                    f"{ev_zh.format(**fmt)} / {ev_en.format(**fmt)}",
                )
            )
        cands.sort(key=lambda c: -c[0])
        seen = set()
        rank = 0
        for _, code, zh, en, ev in cands:
            if code in seen:
                continue
            seen.add(code)
            rank += 1
            out.append((d.opportunity_id, rank, code, zh, en, ev))
    return pd.DataFrame(out, columns=COLUMNS)
