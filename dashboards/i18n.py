"""UI strings, Chinese first, with an English switch. Every visible label has a key here."""

from __future__ import annotations

import streamlit as st

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_NAMES = {"zh": "中文", "en": "English"}
LANG_KEY = "lang"  # session-state key and URL query parameter

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "app.language": "语言 Language",
        "nav.overview": "经营概览",
        "overview.title": "经营概览",
        "overview.as_of": "数据截至 {as_of} · 发布于 {published_at}",
        "overview.run_id": "运行编号 {run_id}",
        "overview.latest_month": "最近完整月份：{month}，与上月比较",
        "overview.no_publish_log": "快照中没有发布记录（meta.publish_log），数据日期未知。",
        "overview.no_months": "快照中还没有按月数据。",
        "quality.passed": "质量检查通过",
        "quality.warnings": "质量检查有警告",
        "quality.failed": "质量检查未通过",
        "quality.unknown": "质量状态未知",
        "quality.help": "本快照发布时数据质量检查的结果。",
        "period.label": "显示最近几个月",
        "kpi.bookings": "签约额",
        "kpi.win_rate": "赢率",
        "kpi.cycle": "平均销售周期",
        "kpi.pipeline": "在手商机金额",
        "kpi.vs_prev": "较上月",
        "help.bookings": "当月赢单（won_at 在当月）的商机金额合计，按赢单当日汇率折算为人民币。",
        "help.win_rate": "赢单数 ÷（赢单数 + 输单数），只计当月关闭的商机；未关闭的商机不计入。当月没有关闭的商机时为空。",
        "help.cycle": "当月赢单商机的销售周期（won_at − created_at，天）的平均值。",
        "help.pipeline": "月末仍在手的商机金额合计：在月末或之前创建，且在月末或之前既未赢单也未输单。",
        "chart.bookings": "每月签约额",
        "chart.win_rate": "每月赢率",
        "chart.cycle": "平均销售周期（天）",
        "chart.pipeline": "月末在手商机金额",
        "axis.month": "月份",
        "axis.money": "万元",
        "axis.days": "天",
        "table.title": "月度数据",
        "col.month": "月份",
        "col.bookings": "签约额（元）",
        "col.won": "赢单数",
        "col.lost": "输单数",
        "col.win_rate": "赢率",
        "col.cycle_mean": "平均周期（天）",
        "col.cycle_median": "周期中位数（天）",
        "col.pipeline": "在手商机金额（元）",
        "col.open": "在手商机数",
        "download.csv": "下载 CSV",
        "unit.days": "{v} 天",
        "unit.pp": "{v} 个百分点",
        "month.fmt": "{y}年{m}月",
        "empty.title": "还没有可用的数据快照",
        "empty.body": (
            "仪表盘读取已发布的快照 `{path}`，目前还没有。\n\n"
            "- 用演示数据：运行 `salescope run`\n"
            "- 用你自己的导出文件：运行 `salescope run --source 目录`\n\n"
            "流水线通过质量检查后会发布快照，之后刷新本页面即可。"
        ),
        "error.snapshot": "无法读取数据快照，它可能不完整或来自旧版本。请重新运行 `salescope run` 发布新快照，然后刷新本页面。",
        "error.generic": "页面加载出错。请刷新页面；如果问题仍然存在，请联系管理员并告知发生的时间。",
    },
    "en": {
        "app.language": "语言 Language",
        "nav.overview": "Executive overview",
        "overview.title": "Executive overview",
        "overview.as_of": "Data as of {as_of} · published {published_at}",
        "overview.run_id": "Run {run_id}",
        "overview.latest_month": "Latest complete month: {month}, compared with the month before",
        "overview.no_publish_log": "The snapshot has no publish record (meta.publish_log); its as-of date is unknown.",
        "overview.no_months": "The snapshot has no monthly figures yet.",
        "quality.passed": "Quality checks passed",
        "quality.warnings": "Quality checks with warnings",
        "quality.failed": "Quality checks failed",
        "quality.unknown": "Quality status unknown",
        "quality.help": "Result of the data-quality checks when this snapshot was published.",
        "period.label": "Months shown",
        "kpi.bookings": "Bookings",
        "kpi.win_rate": "Win rate",
        "kpi.cycle": "Mean sales cycle",
        "kpi.pipeline": "Open pipeline",
        "kpi.vs_prev": "vs previous month",
        "help.bookings": "Sum of the amounts of deals with won_at in the month, converted to CNY at the won_at rate.",
        "help.win_rate": (
            "Won ÷ (won + lost), counting deals closed in the month. Open deals never count. "
            "Empty when no deal closed in the month."
        ),
        "help.cycle": "Mean of won_at − created_at in days, over deals won in the month.",
        "help.pipeline": (
            "Sum of the amounts of deals open at month end: created on or before that day and neither "
            "won nor lost on or before it."
        ),
        "chart.bookings": "Bookings by month",
        "chart.win_rate": "Win rate by month",
        "chart.cycle": "Mean sales cycle (days)",
        "chart.pipeline": "Open pipeline at month end",
        "axis.month": "Month",
        "axis.money": "¥ million",
        "axis.days": "days",
        "table.title": "Monthly figures",
        "col.month": "Month",
        "col.bookings": "Bookings (CNY)",
        "col.won": "Won",
        "col.lost": "Lost",
        "col.win_rate": "Win rate",
        "col.cycle_mean": "Mean cycle (days)",
        "col.cycle_median": "Median cycle (days)",
        "col.pipeline": "Open pipeline (CNY)",
        "col.open": "Open deals",
        "download.csv": "Download CSV",
        "unit.days": "{v} days",
        "unit.pp": "{v} pp",
        "month.fmt": "{mon} {y}",
        "empty.title": "No data snapshot yet",
        "empty.body": (
            "The dashboards read the published snapshot `{path}`, and there is none yet.\n\n"
            "- For the demo data: run `salescope run`\n"
            "- For your own export files: run `salescope run --source DIR`\n\n"
            "The pipeline publishes a snapshot once the quality checks pass; then refresh this page."
        ),
        "error.snapshot": (
            "The data snapshot could not be read: it may be incomplete or from an older version. "
            "Run `salescope run` to publish a new one, then refresh this page."
        ),
        "error.generic": (
            "Something went wrong while loading this page. Refresh it; if the problem stays, tell your "
            "administrator when it happened."
        ),
    },
}

from dashboards import i18n_customers, i18n_money, i18n_more, i18n_sales  # noqa: E402

for _module in (i18n_more, i18n_customers, i18n_sales, i18n_money):
    STRINGS["zh"].update(_module.ZH)
    STRINGS["en"].update(_module.EN)


_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def t(key: str, lang: str, **kwargs: object) -> str:
    text = STRINGS.get(lang, STRINGS[DEFAULT_LANG]).get(key) or STRINGS[DEFAULT_LANG][key]
    return text.format(**kwargs) if kwargs else text


def label(key: str, lang: str, fallback: object) -> str:
    """The string for ``key`` when there is one (codes from the data: stages, regions), else ``fallback``."""
    text = STRINGS.get(lang, {}).get(key) or STRINGS[DEFAULT_LANG].get(key)
    return text if text is not None else str(fallback)


def month_label(year: int, month: int, lang: str) -> str:
    return t("month.fmt", lang, y=year, m=month, mon=_MONTH_ABBR[month - 1])


def current_lang() -> str:
    """The language picked in the sidebar (bound to the ``lang`` query parameter)."""
    lang = st.session_state.get(LANG_KEY)
    return lang if lang in LANGS else DEFAULT_LANG


def language_selector() -> str:
    """Sidebar language switch, Chinese by default, kept in sync with ``?lang=zh|en``.

    Not ``bind="query-params"``: that writes the shown label (``?lang=English``) into the URL; the code is
    the stable, shareable value.
    """
    if LANG_KEY not in st.session_state:
        requested = st.query_params.get(LANG_KEY)
        st.session_state[LANG_KEY] = requested if requested in LANGS else DEFAULT_LANG
    lang = st.sidebar.segmented_control(
        STRINGS[DEFAULT_LANG]["app.language"],
        options=list(LANGS),
        format_func=LANG_NAMES.__getitem__,
        required=True,
        key=LANG_KEY,
    )
    lang = lang if lang in LANGS else DEFAULT_LANG
    if lang == DEFAULT_LANG:
        st.query_params.pop(LANG_KEY, None)
    elif st.query_params.get(LANG_KEY) != lang:
        st.query_params[LANG_KEY] = lang
    return lang
