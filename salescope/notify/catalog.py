"""The strings of digests and alerts, Chinese (the default) and English: every key in both languages."""

from __future__ import annotations

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "digest.title.rep_daily": "Salescope 每日提醒 · {name} · {as_of}",
        "digest.title.manager_weekly": "Salescope 团队周报 · {name} · {as_of}",
        "digest.title.finance_daily": "Salescope 回款日报 · {name} · {as_of}",
        "digest.nothing": "今天没有需要您处理的事项。",
        "digest.more": "……另有 {n} 项",
        "digest.open": "打开",
        "section.stalled": "停滞商机（{n}）",
        "section.past_close": "预计成交日已过的商机（{n}）",
        "section.overdue": "逾期发票（{n}）",
        "section.score_changes": "评分变化（自上次提醒，{n}）",
        "section.attainment": "团队业绩达成",
        "section.forecast": "预测与配额",
        "section.movers": "评分变化最大的商机（{n}）",
        "section.bottleneck": "瓶颈阶段",
        "section.new_overdue": "新增逾期发票（{n}，未收 {amount}）",
        "section.aging": "应收账龄",
        "line.stalled": "{deal}：{stage}阶段，{reasons}；建议：{action}",
        "line.stalled_no_action": "{deal}：{stage}阶段，{reasons}",
        "line.past_close": "{deal}：预计成交日 {close_date}，已过 {days} 天，金额 {amount}",
        "line.overdue": "发票 {invoice}（{deal}）：未收 {amount}，逾期 {days} 天",
        "line.score_change": "{deal}：评分 {old} → {new}（{delta}）",
        "line.attainment": "{period}：签约 {bookings} / 配额 {quota}，达成 {attainment}",
        "line.forecast": "{period} 预测 {forecast}（80% 区间 {low}–{high}），配额 {quota}，预测达成 {share}",
        "line.forecast_no_quota": "{period} 预测 {forecast}（80% 区间 {low}–{high}），快照中尚无该期配额",
        "line.bottleneck": "{stage}：推进率 {conversion}（近 12 个月进入该阶段的 {reached} 个商机）",
        "line.new_overdue": "发票 {invoice}（{account}）：未收 {amount}，逾期 {days} 天",
        "line.aging": "{bucket}：{amount}（{n} 张）",
        "period.month": "{year}年{month}月",
        "period.quarter": "{year}年第{quarter}季度",
        "period.quarter_to_date": "{year}年第{quarter}季度至今",
        "reason.stage_overdue": "在本阶段停留 {days} 天，超过赢单商机的 75% 分位（{p75} 天）",
        "reason.no_touch_14d": "{touch} 天未跟进",
        "reason.no_touch_ever": "从未跟进",
        "reason.sep": "；",
        "bucket.current": "未到期",
        "bucket.1_30": "逾期 1–30 天",
        "bucket.31_60": "逾期 31–60 天",
        "bucket.61_90": "逾期 61–90 天",
        "bucket.over_90": "逾期 90 天以上",
        "alert.stalled.title": "商机停滞：{deal}",
        "alert.stalled.body": "{deal} 在{stage}阶段停滞：{reasons}。",
        "alert.large_lost.title": "大额商机输单：{deal}",
        "alert.large_lost.body": "{deal}（{amount}）于 {date} 输单。负责人：{owner}。",
        "alert.large_pushed.title": "大额商机两次推迟：{deal}",
        "alert.large_pushed.body": "{deal}（{amount}）的预计成交日已推迟 {pushes} 次，现为 {close_date}。负责人：{owner}。",
        "alert.overdue30.title": "发票逾期 30 天：{invoice}",
        "alert.overdue30.body": "发票 {invoice}（{account}，{deal}）未收 {amount}，已逾期 {days} 天（到期日 {due_date}）。",
        "alert.run.title": "Salescope 运行未发布：{run}",
        "alert.run.body": "运行 {run} 未发布新快照（上一个快照继续服务）。",
        "alert.run.gate": "质量关卡阻止了发布。",
        "alert.run.failures": "失败的步骤和检查：",
        "test.title": "Salescope 测试消息",
        "test.body": "这是一条测试消息，发给标签 {tag}。收到即表示通知配置正确。",
    },
    "en": {
        "digest.title.rep_daily": "Salescope daily · {name} · {as_of}",
        "digest.title.manager_weekly": "Salescope team week · {name} · {as_of}",
        "digest.title.finance_daily": "Salescope collections daily · {name} · {as_of}",
        "digest.nothing": "Nothing needs you today.",
        "digest.more": "… and {n} more",
        "digest.open": "open",
        "section.stalled": "Stalled deals ({n})",
        "section.past_close": "Open deals past their expected close date ({n})",
        "section.overdue": "Overdue invoices ({n})",
        "section.score_changes": "Score changes since the last digest ({n})",
        "section.attainment": "Team attainment",
        "section.forecast": "Forecast vs quota",
        "section.movers": "Biggest score movers ({n})",
        "section.bottleneck": "Bottleneck stage",
        "section.new_overdue": "New overdue invoices ({n}, {amount} unpaid)",
        "section.aging": "Receivables aging",
        "line.stalled": "{deal}: {stage}, {reasons}; next: {action}",
        "line.stalled_no_action": "{deal}: {stage}, {reasons}",
        "line.past_close": "{deal}: expected close {close_date}, {days} days ago, {amount}",
        "line.overdue": "invoice {invoice} ({deal}): {amount} unpaid, {days} days overdue",
        "line.score_change": "{deal}: score {old} → {new} ({delta})",
        "line.attainment": "{period}: bookings {bookings} / quota {quota}, attainment {attainment}",
        "line.forecast": "{period} forecast {forecast} (80% interval {low}–{high}), quota {quota}, forecast attainment {share}",
        "line.forecast_no_quota": "{period} forecast {forecast} (80% interval {low}–{high}); no quota for it in the snapshot yet",
        "line.bottleneck": "{stage}: {conversion} move on (of {reached} deals that reached it in the last 12 months)",
        "line.new_overdue": "invoice {invoice} ({account}): {amount} unpaid, {days} days overdue",
        "line.aging": "{bucket}: {amount} ({n} invoices)",
        "period.month": "{month_name} {year}",
        "period.quarter": "Q{quarter} {year}",
        "period.quarter_to_date": "Q{quarter} {year} to date",
        "reason.stage_overdue": "{days} days in the stage, over the won deals' 75th percentile ({p75} days)",
        "reason.no_touch_14d": "no touchpoint for {touch} days",
        "reason.no_touch_ever": "never touched",
        "reason.sep": "; ",
        "bucket.current": "not yet due",
        "bucket.1_30": "1–30 days overdue",
        "bucket.31_60": "31–60 days overdue",
        "bucket.61_90": "61–90 days overdue",
        "bucket.over_90": "over 90 days overdue",
        "alert.stalled.title": "Deal stalled: {deal}",
        "alert.stalled.body": "{deal} stalled in {stage}: {reasons}.",
        "alert.large_lost.title": "Large deal lost: {deal}",
        "alert.large_lost.body": "{deal} ({amount}) was lost on {date}. Owner: {owner}.",
        "alert.large_pushed.title": "Large deal pushed twice: {deal}",
        "alert.large_pushed.body": "The expected close of {deal} ({amount}) was pushed {pushes} times, now {close_date}. Owner: {owner}.",
        "alert.overdue30.title": "Invoice 30 days overdue: {invoice}",
        "alert.overdue30.body": "Invoice {invoice} ({account}, {deal}): {amount} unpaid, {days} days overdue (due {due_date}).",
        "alert.run.title": "Salescope run not published: {run}",
        "alert.run.body": "Run {run} published no new snapshot (the previous one keeps serving).",
        "alert.run.gate": "The quality gate blocked the publish.",
        "alert.run.failures": "Failed steps and checks:",
        "test.title": "Salescope test message",
        "test.body": "A test message to tag {tag}. If you read this, the notification target works.",
    },
}

MONTH_NAMES_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def lang_of(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None, **values: object) -> str:
    """The string ``key`` in ``lang`` (zh when unknown) with ``values`` filled in."""
    return TEXTS[lang_of(lang)][key].format(**values)


def money(value: float | None, lang: str | None) -> str:
    """CNY as people read it in a chat line: ¥1,234,567 (no decimals); '—' when unknown."""
    if value is None:
        return "—"
    return f"¥{value:,.0f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
