"""Why a deal scores as it does, in plain Chinese and English.

Each reason group (recency, pushes, stage, ...) is replaced by its typical value from the training rows;
the change in the model's probability is that group's contribution. The three largest positive and the
three largest negative contributions become the deal's reasons.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from contract import zh_name

GROUPS: dict[str, list[str]] = {
    "recency": ["days_since_last_touch", "never_touched"],
    "touch_volume": [
        "touchpoints_7d",
        "touchpoints_30d",
        "tp30_wechat",
        "tp30_phone",
        "tp30_email",
        "tp30_social",
        "tp30_meeting",
    ],
    "visit": ["has_visit", "tp30_visit"],
    "demo": ["has_demo", "tp30_demo"],
    "decision_maker": ["has_decision_maker_contact"],
    "proposal": ["has_proposal_doc"],
    "pushes": ["push_count"],
    "close_date": ["days_to_expected_close"],
    "stage": ["stage"],
    "days_in_stage": ["days_in_stage"],
    "deal_age": ["deal_age_days"],
    "amount": ["log_amount", "amount_change_count"],
    "regression": ["regression_count"],
    "lead_source": ["lead_source"],
    "industry": ["industry"],
    "owner_history": ["owner_win_rate", "owner_prior_closed"],
    "account_history": ["account_prior_wins", "account_prior_losses", "account_win_rate"],
}
MIN_EFFECT = 0.005  # contributions smaller than half a point are not worth a reason


def _en(code: str) -> str:
    return str(code).replace("_", " ")


def reference_values(train: pd.DataFrame) -> dict[str, object]:
    ref: dict[str, object] = {}
    for cols in GROUPS.values():
        for c in cols:
            col = train[c]
            if col.dtype == object or str(col.dtype).startswith("string"):
                ref[c] = col.mode().iloc[0] if len(col) else "unknown"
            else:
                ref[c] = float(col.median()) if len(col) else 0.0
    return ref


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def phrase(group: str, row: pd.Series, positive: bool) -> tuple[str, str]:
    """(zh, en) text for one reason group of one deal."""
    g = group
    if g == "recency":
        if row["never_touched"] >= 1:
            return "从未跟进", "never had a touchpoint"
        d = int(row["days_since_last_touch"])
        return (
            (f"{d} 天无跟进", f"no touchpoint for {d} days")
            if not positive
            else (f"最近一次跟进在 {d} 天前", f"last touchpoint {d} days ago")
        )
    if g == "touch_volume":
        n30, n7 = int(row["touchpoints_30d"]), int(row["touchpoints_7d"])
        return f"近 30 天跟进 {n30} 次（近 7 天 {n7} 次）", f"{n30} touchpoints in 30 days ({n7} in 7 days)"
    if g in ("visit", "demo", "decision_maker", "proposal"):
        flag = {
            "visit": "has_visit",
            "demo": "has_demo",
            "decision_maker": "has_decision_maker_contact",
            "proposal": "has_proposal_doc",
        }[g]
        has = row[flag] >= 1
        zh, en = {
            "visit": ("现场拜访", "an on-site visit"),
            "demo": ("产品演示", "a demo"),
            "decision_maker": ("与决策人接触", "a decision-maker contact"),
            "proposal": ("方案文档", "a proposal document"),
        }[g]
        return (f"已有{zh}", f"has had {en}") if has else (f"尚无{zh}", f"no {en.split(' ', 1)[1]} yet")
    if g == "pushes":
        n = int(row["push_count"])
        return (
            (f"预计成交日期已推迟 {n} 次", f"close date pushed {_times(n)}")
            if n
            else ("预计成交日期从未推迟", "close date never pushed")
        )
    if g == "close_date":
        d = int(row["days_to_expected_close"])
        return (
            (f"已超过预计成交日期 {-d} 天", f"expected close date passed {-d} days ago")
            if d < 0
            else (f"距预计成交日期 {d} 天", f"{d} days to the expected close date")
        )
    if g == "stage":
        return f"处于{zh_name('stage', row['stage'])}阶段", f"in stage {_en(row['stage'])}"
    if g == "days_in_stage":
        d = int(row["days_in_stage"])
        return f"在当前阶段已停留 {d} 天", f"{d} days in the current stage"
    if g == "deal_age":
        d = int(row["deal_age_days"])
        return f"商机已创建 {d} 天", f"deal opened {d} days ago"
    if g == "amount":
        wan = np.expm1(row["log_amount"]) / 10_000
        return f"金额 {wan:,.0f} 万元", f"amount CNY {wan * 10:,.0f}k"
    if g == "regression":
        n = int(row["regression_count"])
        return (
            (f"阶段曾回退 {n} 次", f"moved back a stage {_times(n)}")
            if n
            else ("阶段从未回退", "never moved back a stage")
        )
    if g == "lead_source":
        return (
            f"线索来源：{zh_name('lead_source', row['lead_source'])}",
            f"lead source: {_en(row['lead_source'])}",
        )
    if g == "industry":
        return f"行业：{zh_name('industry', row['industry'])}", f"industry: {_en(row['industry'])}"
    if g == "owner_history":
        pct = round(100 * row["owner_win_rate"])
        return f"负责人历史赢单率约 {pct}%", f"owner's past win rate about {pct}%"
    if g == "account_history":
        w, lo = int(row["account_prior_wins"]), int(row["account_prior_losses"])
        if w == 0 and lo == 0:
            return "新客户，无历史成交记录", "new account with no closed deals"
        return f"该客户此前赢单 {w} 次、输单 {lo} 次", f"account has {w} won and {lo} lost deals before"
    raise KeyError(group)


def contributions(predict: Callable[[pd.DataFrame], np.ndarray], X: pd.DataFrame, ref: dict) -> pd.DataFrame:
    """p(x) − p(x with the group at its typical value), one column per group (one stacked prediction)."""
    n = len(X)
    frames = [X]
    for cols in GROUPS.values():
        Xg = X.copy()
        for c in cols:
            Xg[c] = ref[c]
        frames.append(Xg)
    p = predict(pd.concat(frames, ignore_index=True))
    base = p[:n]
    return pd.DataFrame({g: base - p[(i + 1) * n : (i + 2) * n] for i, g in enumerate(GROUPS)}, index=X.index)


def contributions_encoded(scorer, X: pd.DataFrame, ref: dict) -> pd.DataFrame:
    """Same as :func:`contributions` for a scorer that predicts from an encoded matrix, the same numbers faster.

    A deal whose group already has its typical values is not predicted again: its copy would be the deal
    itself, so the contribution is exactly 0. The others are predicted with ``scorer.predict_replaced`` when
    the scorer has it (only the trees that split on the group's columns are walked again), else as stacked
    copies with ``predict_encoded``."""
    n = len(X)
    Z = scorer.encode(X)
    cols = scorer.encoded_columns()
    ref_row = X.iloc[[0]].copy()
    for c, v in ref.items():
        ref_row[c] = v
    zref = scorer.encode(ref_row)[0]
    group_cols = [[cols.index(c) for c in g] for g in GROUPS.values()]
    moved = [np.flatnonzero((Z[:, j] != zref[j]).any(axis=1)) for j in group_cols]
    fast = getattr(scorer, "predict_replaced", None)
    done = fast(Z, zref, list(zip(group_cols, moved, strict=True))) if fast else None
    if done is not None:
        base, replaced = done
    else:
        blocks = [Z]
        for j, rows in zip(group_cols, moved, strict=True):
            Zg = Z[rows]
            Zg[:, j] = zref[j]
            blocks.append(Zg)
        p = scorer.predict_encoded(np.vstack(blocks))
        base, replaced = p[:n], np.split(p[n:], np.cumsum([len(r) for r in moved])[:-1])
    out = {}
    for g, rows, p_g in zip(GROUPS, moved, replaced, strict=True):
        c = np.zeros(n)
        c[rows] = base[rows] - p_g
        out[g] = c
    return pd.DataFrame(out, index=X.index)


def explain(X: pd.DataFrame, contrib: pd.DataFrame, top: int = 3) -> list[dict]:
    """Per row: {'positive': [{code, zh, en, effect}], 'negative': [...]} (largest first)."""
    values = contrib.to_numpy()
    groups = list(contrib.columns)
    order = np.argsort(-values, axis=1, kind="stable")
    records = X[[c for cols in GROUPS.values() for c in cols]].to_dict("records")
    out = []
    for i, row in enumerate(records):
        v = values[i]
        pos = [j for j in order[i, :top] if v[j] > MIN_EFFECT]
        neg = [j for j in order[i, ::-1][:top] if v[j] < -MIN_EFFECT]
        item = {}
        for name, idx, sign in (("positive", pos, True), ("negative", neg, False)):
            lst = []
            for j in idx:
                zh, en = phrase(groups[j], row, sign)
                lst.append({"code": groups[j], "zh": zh, "en": en, "effect": round(float(v[j]), 4)})
            item[name] = lst
        out.append(item)
    return out
