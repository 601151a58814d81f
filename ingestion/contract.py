"""The source contract: every entity Salescope ingests, declared once.

This one declaration drives parsing and coercion (``ingestion.normalize``), the quarantine rules
(``ingestion.validate``), the dbt sources (``dbt_project/models/staging/_sources.yml`` is generated from
it and a test checks it), the demo data generator and the docs (``salescope contract --markdown``).

Column types:
- ``str``        free text, trimmed; empty means missing
- ``int``        whole number (full-width digits and thousands separators accepted)
- ``float``      decimal number
- ``amount``     money in the row's currency: ``¥1,200,000``, ``120万``, ``1.2亿``, full-width digits
- ``date``       calendar date: ``2026-01-05``, ``2026/1/5``, ``2026年1月5日``, ``2026.1.5``, Excel serials
- ``timestamp``  date and time in Asia/Shanghai (a plain date means midnight)
- ``bool``       true/false, 1/0, yes/no, 是/否, Y/N
- ``enum``       a value of the column's vocabulary, given by code, Chinese name or an alias
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["str", "int", "float", "amount", "date", "timestamp", "bool", "enum"]

# Defect kinds: the reason codes of the quarantine and of quality.issues (the generator's manifest
# uses the same codes). Row-level kinds are found while a file is read; the others across rows.
DEFECT_KINDS: dict[str, str] = {
    "missing_required": "a required value is empty",
    "bad_type": "a value cannot be read as its type (number, true/false)",
    "negative_amount": "an amount (money) is below zero",
    "unknown_category": "a value is not in the column's list of allowed values",
    "duplicate_key": "the primary key appears more than once",
    "orphan_fk": "a reference points to a record that does not exist",
    "future_date": "a date lies after the data's as-of date",
    "date_order": "a date that must come later comes earlier",
    "bad_date_format": "a date cannot be read in any known format",
    "out_of_range": "a number lies outside its allowed range",
}


@dataclass(frozen=True)
class Term:
    """One allowed value: its canonical code, its Chinese name and any further aliases."""

    code: str
    zh: str
    aliases: tuple[str, ...] = ()

    def spellings(self) -> tuple[str, ...]:
        return (self.code, self.zh, *self.aliases)


def _vocab(*terms: tuple) -> tuple[Term, ...]:
    return tuple(Term(t[0], t[1], tuple(t[2:])) for t in terms)


VOCABULARIES: dict[str, tuple[Term, ...]] = {
    "stage": _vocab(
        ("initial_contact", "初步接触", "initial contact", "prospecting", "qualification"),
        ("needs_confirmed", "需求确认", "needs confirmed", "needs analysis", "discovery"),
        ("proposal", "方案报价", "proposal/quote", "quote", "quotation", "方案"),
        ("negotiation", "谈判", "negotiation/review", "商务谈判"),
        ("won", "成交", "closed won", "closed-won", "赢单"),
        ("contract_signed", "签约", "contract signed", "signed", "已签约"),
        ("lost", "输单", "closed lost", "closed-lost", "丢单"),
    ),
    "lead_source": _vocab(
        ("website", "官网", "web", "官方网站"),
        ("trade_show", "展会", "trade show", "exhibition"),
        ("referral", "推荐", "客户推荐", "转介绍"),
        ("ads", "广告", "advertising", "paid ads", "sem"),
        ("wechat", "微信", "weixin", "企业微信"),
        ("phone", "电话", "cold call", "telephone"),
        ("email", "邮件", "e-mail", "电子邮件"),
        ("social", "社交媒体", "social media", "linkedin", "微博"),
        ("event", "活动", "seminar", "webinar", "研讨会"),
        ("partner", "合作伙伴", "channel partner", "渠道"),
    ),
    "channel": _vocab(
        ("wechat", "微信", "weixin", "企业微信"),
        ("phone", "电话", "call", "telephone"),
        ("email", "邮件", "e-mail", "电子邮件"),
        ("social", "社交媒体", "social media"),
        ("visit", "拜访", "on-site visit", "上门拜访", "现场拜访"),
        ("meeting", "会议", "video meeting", "视频会议"),
        ("demo", "演示", "product demo", "产品演示"),
    ),
    "role": _vocab(
        ("sales_rep", "销售", "rep", "销售代表"),
        ("sales_manager", "销售主管", "manager", "销售经理"),
        ("finance", "财务"),
        ("executive", "管理层", "exec", "高管"),
        ("data_steward", "数据管理员", "steward"),
        ("admin", "管理员", "administrator"),
    ),
    "region": _vocab(
        ("east", "华东", "east china"),
        ("north", "华北", "north china"),
        ("south", "华南", "south china"),
        ("central", "华中", "central china"),
        ("west", "西部", "west china", "西南"),
    ),
    "industry": _vocab(
        ("manufacturing", "制造业", "制造"),
        ("it", "信息技术", "IT", "software", "互联网"),
        ("finance", "金融", "banking", "金融业"),
        ("healthcare", "医疗", "医疗健康", "health"),
        ("energy", "能源", "电力"),
        ("education", "教育"),
        ("government", "政府", "public sector", "政府机构"),
        ("retail", "零售", "零售业"),
        ("logistics", "物流", "运输"),
        ("construction", "建筑", "建筑业", "工程建设"),
    ),
    "size_band": _vocab(
        ("small", "小型"),
        ("medium", "中型"),
        ("large", "大型"),
        ("enterprise", "集团", "集团客户"),
    ),
    "currency": _vocab(
        ("CNY", "人民币", "RMB", "cny", "元"),
        ("USD", "美元", "usd", "US$"),
        ("EUR", "欧元", "eur"),
        ("HKD", "港币", "hkd", "港元"),
    ),
    "product_line": _vocab(
        ("software", "软件", "软件系统"),
        ("engineering", "工程", "工程服务"),
        ("equipment", "设备", "设备交付"),
    ),
    "lead_status": _vocab(
        ("new", "新建", "open"),
        ("qualified", "已确认", "mql", "sql"),
        ("converted", "已转化"),
        ("disqualified", "无效", "unqualified", "junk"),
    ),
    "history_field": _vocab(
        ("stage", "阶段"),
        ("amount", "金额"),
        ("expected_close_date", "预计成交日期", "close date"),
    ),
    "direction": _vocab(
        ("inbound", "呼入", "in"),
        ("outbound", "呼出", "out"),
    ),
    "contract_status": _vocab(
        ("active", "执行中"),
        ("completed", "已完成"),
        ("terminated", "已终止"),
    ),
    "project_status": _vocab(
        ("planning", "规划中"),
        ("in_progress", "进行中"),
        ("completed", "已完成"),
        ("on_hold", "暂停"),
    ),
    "task_status": _vocab(
        ("todo", "待办"),
        ("in_progress", "进行中"),
        ("done", "已完成"),
    ),
    "doc_type": _vocab(
        ("contract", "合同"),
        ("proposal", "技术方案", "方案"),
        ("quotation", "报价单"),
        ("acceptance_report", "验收报告"),
        ("other", "其他"),
    ),
    "payment_method": _vocab(
        ("bank_transfer", "银行转账", "wire", "转账"),
        ("acceptance_bill", "承兑汇票", "汇票"),
        ("cheque", "支票"),
        ("cash", "现金"),
    ),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    zh: str  # the header a Chinese CRM or Excel export uses
    required: bool = False
    vocab: str | None = None  # for enum columns: a key of VOCABULARIES
    min: float | None = None  # inclusive bounds for numbers (amounts are also checked >= 0)
    max: float | None = None
    pii: bool = False
    aliases: tuple[str, ...] = ()  # further header spellings
    description: str = ""

    def header_spellings(self) -> tuple[str, ...]:
        return (self.name, self.zh, *self.aliases)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_entity: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Entity:
    name: str
    zh: str
    description: str  # "One row per ..."
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    # (earlier, later): when both are present the later must not come before the earlier
    date_order: tuple[tuple[str, str], ...] = ()
    # amount columns are converted to CNY with this currency column (None: already CNY)
    currency_column: str | None = None
    # date or timestamp columns that may not lie after the as-of date
    event_dates: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def record_key_of(self, row: dict) -> str:
        return key_text(row[c] for c in self.primary_key)


def key_text(values) -> str:
    """A record key as text: the primary key's values joined by '|'."""
    return "|".join("" if v is None else str(v) for v in values)


def fk(cols: str, ref: str, ref_cols: str) -> ForeignKey:
    return ForeignKey(tuple(cols.split(",")), ref, tuple(ref_cols.split(",")))


C = Column
ENTITIES: tuple[Entity, ...] = (
    Entity(
        "users", "用户", "One row per user of the CRM: sales reps, managers, finance, executives, stewards.",
        (
            C("user_id", "str", "用户编号", True, aliases=("员工编号",)),
            C("name", "str", "姓名", True),
            C("email", "str", "邮箱", pii=True),
            C("role", "enum", "角色", True, vocab="role"),
            C("team_id", "str", "团队编号"),
            C("team_name", "str", "团队名称", aliases=("团队",)),
            C("region", "enum", "区域", vocab="region", aliases=("大区",)),
            C("manager_id", "str", "上级编号", aliases=("直属上级",)),
            C("hire_date", "date", "入职日期"),
            C("is_active", "bool", "是否在职", True),
        ),
        ("user_id",),
        (fk("manager_id", "users", "user_id"),),
        event_dates=("hire_date",),
    ),
    Entity(
        "quotas", "销售指标", "One row per sales rep and month: the bookings target in CNY.",
        (
            C("user_id", "str", "用户编号", True),
            C("month", "date", "月份", True, description="first day of the month"),
            C("quota_cny", "amount", "指标金额", True, aliases=("指标",)),
        ),
        ("user_id", "month"),
        (fk("user_id", "users", "user_id"),),
    ),
    Entity(
        "accounts", "客户", "One row per account (customer or prospect company).",
        (
            C("account_id", "str", "客户编号", True, aliases=("客户ID",)),
            C("account_name", "str", "客户名称", True, aliases=("公司名称",)),
            C("industry", "enum", "行业", True, vocab="industry"),
            C("region", "enum", "区域", True, vocab="region"),
            C("city", "str", "城市"),
            C("size_band", "enum", "规模", vocab="size_band", aliases=("企业规模",)),
            C("owner_user_id", "str", "负责人编号", True, aliases=("客户负责人",)),
            C("created_at", "date", "创建日期", True),
            C("annual_revenue_cny", "amount", "年营业额", aliases=("年收入",)),
        ),
        ("account_id",),
        (fk("owner_user_id", "users", "user_id"),),
        event_dates=("created_at",),
    ),
    Entity(
        "contacts", "联系人", "One row per contact person at an account.",
        (
            C("contact_id", "str", "联系人编号", True),
            C("account_id", "str", "客户编号", True),
            C("name", "str", "姓名", True, pii=True),
            C("title", "str", "职位"),
            C("is_decision_maker", "bool", "是否决策人", True, aliases=("决策人",)),
            C("phone", "str", "手机", pii=True, aliases=("电话", "手机号")),
            C("email", "str", "邮箱", pii=True),
            C("wechat_id", "str", "微信号", pii=True),
            C("created_at", "date", "创建日期", True),
        ),
        ("contact_id",),
        (fk("account_id", "accounts", "account_id"),),
        event_dates=("created_at",),
    ),
    Entity(
        "campaigns", "市场活动", "One row per marketing campaign.",
        (
            C("campaign_id", "str", "活动编号", True),
            C("name", "str", "活动名称", True),
            C("channel", "enum", "渠道", True, vocab="lead_source", aliases=("线索来源",)),
            C("start_date", "date", "开始日期", True),
            C("end_date", "date", "结束日期"),
            C("budget", "amount", "预算", aliases=("预算金额",)),
            C("currency", "enum", "币种", True, vocab="currency"),
        ),
        ("campaign_id",),
        date_order=(("start_date", "end_date"),),
        currency_column="currency",
    ),
    Entity(
        "channel_spend", "渠道费用", "One row per lead source channel and month: marketing spend.",
        (
            C("month", "date", "月份", True),
            C("channel", "enum", "渠道", True, vocab="lead_source"),
            C("spend", "amount", "费用", True, aliases=("花费", "投放金额")),
            C("currency", "enum", "币种", True, vocab="currency"),
        ),
        ("month", "channel"),
        currency_column="currency",
        event_dates=("month",),
    ),
    Entity(
        "leads", "线索", "One row per lead (an inbound or outbound sales lead).",
        (
            C("lead_id", "str", "线索编号", True),
            C("lead_source", "enum", "线索来源", True, vocab="lead_source", aliases=("来源",)),
            C("campaign_id", "str", "活动编号"),
            C("account_id", "str", "客户编号"),
            C("owner_user_id", "str", "负责人编号", True),
            C("company_name", "str", "公司名称", True),
            C("created_at", "timestamp", "创建时间", True),
            C("status", "enum", "线索状态", True, vocab="lead_status", aliases=("状态",)),
            C("converted_at", "timestamp", "转化时间"),
        ),
        ("lead_id",),
        (
            fk("campaign_id", "campaigns", "campaign_id"),
            fk("account_id", "accounts", "account_id"),
            fk("owner_user_id", "users", "user_id"),
        ),
        date_order=(("created_at", "converted_at"),),
        event_dates=("created_at", "converted_at"),
    ),
    Entity(
        "opportunities", "商机", "One row per opportunity (deal) in its state as of the export.",
        (
            C("opportunity_id", "str", "商机编号", True, aliases=("商机ID",)),
            C("account_id", "str", "客户编号", True),
            C("lead_id", "str", "线索编号"),
            C("owner_user_id", "str", "负责人编号", True, aliases=("销售负责人",)),
            C("name", "str", "商机名称", True),
            C("lead_source", "enum", "线索来源", True, vocab="lead_source"),
            C("product_line", "enum", "产品线", True, vocab="product_line"),
            C("amount", "amount", "金额", True, aliases=("商机金额", "预计金额")),
            C("currency", "enum", "币种", True, vocab="currency"),
            C("stage", "enum", "阶段", True, vocab="stage", aliases=("商机阶段",)),
            C("probability", "int", "赢率", min=0, max=100, description="rep-entered, 0-100"),
            C("created_at", "timestamp", "创建时间", True),
            C("expected_close_date", "date", "预计成交日期", True),
            C("closed_at", "timestamp", "关闭时间"),
            C("lost_reason", "str", "输单原因"),
        ),
        ("opportunity_id",),
        (
            fk("account_id", "accounts", "account_id"),
            fk("lead_id", "leads", "lead_id"),
            fk("owner_user_id", "users", "user_id"),
        ),
        date_order=(("created_at", "closed_at"),),
        currency_column="currency",
        event_dates=("created_at", "closed_at"),
    ),
    Entity(
        "opportunity_history", "商机变更", "One row per change to an opportunity: stage moves, amount and close-date changes.",
        (
            C("history_id", "str", "变更编号", True),
            C("opportunity_id", "str", "商机编号", True),
            C("changed_at", "timestamp", "变更时间", True),
            C("field", "enum", "变更字段", True, vocab="history_field"),
            C("from_stage", "enum", "原阶段", vocab="stage"),
            C("to_stage", "enum", "新阶段", vocab="stage"),
            C("old_value", "str", "原值"),
            C("new_value", "str", "新值"),
            C("changed_by", "str", "操作人编号"),
        ),
        ("history_id",),
        (fk("opportunity_id", "opportunities", "opportunity_id"), fk("changed_by", "users", "user_id")),
        event_dates=("changed_at",),
    ),
    Entity(
        "activities", "跟进记录", "One row per touchpoint with a customer: WeChat, phone, email, social, visit, meeting, demo.",
        (
            C("activity_id", "str", "记录编号", True),
            C("account_id", "str", "客户编号", True),
            C("contact_id", "str", "联系人编号"),
            C("opportunity_id", "str", "商机编号"),
            C("user_id", "str", "跟进人编号", True),
            C("channel", "enum", "渠道", True, vocab="channel", aliases=("跟进方式",)),
            C("direction", "enum", "方向", vocab="direction"),
            C("occurred_at", "timestamp", "跟进时间", True),
            C("duration_minutes", "int", "时长分钟", min=0, max=1440),
            C("subject", "str", "主题", aliases=("跟进内容",)),
        ),
        ("activity_id",),
        (
            fk("account_id", "accounts", "account_id"),
            fk("contact_id", "contacts", "contact_id"),
            fk("opportunity_id", "opportunities", "opportunity_id"),
            fk("user_id", "users", "user_id"),
        ),
        event_dates=("occurred_at",),
    ),
    Entity(
        "contracts", "合同", "One row per signed contract.",
        (
            C("contract_id", "str", "合同编号", True),
            C("opportunity_id", "str", "商机编号", True),
            C("account_id", "str", "客户编号", True),
            C("signed_date", "date", "签约日期", True),
            C("start_date", "date", "开始日期", True),
            C("end_date", "date", "结束日期"),
            C("contract_value", "amount", "合同金额", True),
            C("currency", "enum", "币种", True, vocab="currency"),
            C("payment_terms_days", "int", "账期天数", min=0, max=365),
            C("status", "enum", "合同状态", True, vocab="contract_status"),
        ),
        ("contract_id",),
        (fk("opportunity_id", "opportunities", "opportunity_id"), fk("account_id", "accounts", "account_id")),
        date_order=(("start_date", "end_date"),),
        currency_column="currency",
        event_dates=("signed_date",),
    ),
    Entity(
        "projects", "项目", "One row per delivery project of a contract.",
        (
            C("project_id", "str", "项目编号", True),
            C("contract_id", "str", "合同编号", True),
            C("account_id", "str", "客户编号", True),
            C("name", "str", "项目名称", True),
            C("manager_user_id", "str", "项目经理编号"),
            C("planned_start", "date", "计划开始", True),
            C("planned_end", "date", "计划结束", True),
            C("actual_start", "date", "实际开始"),
            C("actual_end", "date", "实际结束"),
            C("status", "enum", "项目状态", True, vocab="project_status"),
        ),
        ("project_id",),
        (
            fk("contract_id", "contracts", "contract_id"),
            fk("account_id", "accounts", "account_id"),
            fk("manager_user_id", "users", "user_id"),
        ),
        date_order=(("planned_start", "planned_end"), ("actual_start", "actual_end")),
        event_dates=("actual_start", "actual_end"),
    ),
    Entity(
        "project_tasks", "项目任务", "One row per task of a delivery project.",
        (
            C("task_id", "str", "任务编号", True),
            C("project_id", "str", "项目编号", True),
            C("name", "str", "任务名称", True),
            C("assignee_user_id", "str", "负责人编号"),
            C("estimated_hours", "float", "预估工时", True, min=0, max=2000),
            C("due_date", "date", "截止日期", True),
            C("completed_at", "date", "完成日期"),
            C("status", "enum", "任务状态", True, vocab="task_status"),
        ),
        ("task_id",),
        (fk("project_id", "projects", "project_id"), fk("assignee_user_id", "users", "user_id")),
        event_dates=("completed_at",),
    ),
    Entity(
        "documents", "文档", "One row per document version uploaded to an opportunity or project.",
        (
            C("document_id", "str", "文档编号", True),
            C("project_id", "str", "项目编号"),
            C("opportunity_id", "str", "商机编号"),
            C("doc_type", "enum", "文档类型", True, vocab="doc_type"),
            C("version", "int", "版本", True, min=1, max=999),
            C("file_name", "str", "文件名", True),
            C("uploaded_at", "timestamp", "上传时间", True),
            C("uploaded_by", "str", "上传人编号"),
        ),
        ("document_id",),
        (
            fk("project_id", "projects", "project_id"),
            fk("opportunity_id", "opportunities", "opportunity_id"),
            fk("uploaded_by", "users", "user_id"),
        ),
        event_dates=("uploaded_at",),
    ),
    Entity(
        "invoices", "发票", "One row per invoice issued against a contract.",
        (
            C("invoice_id", "str", "发票编号", True),
            C("contract_id", "str", "合同编号", True),
            C("account_id", "str", "客户编号", True),
            C("invoice_date", "date", "开票日期", True),
            C("due_date", "date", "到期日期", True),
            C("amount", "amount", "发票金额", True, aliases=("开票金额",)),
            C("currency", "enum", "币种", True, vocab="currency"),
        ),
        ("invoice_id",),
        (fk("contract_id", "contracts", "contract_id"), fk("account_id", "accounts", "account_id")),
        date_order=(("invoice_date", "due_date"),),
        currency_column="currency",
        event_dates=("invoice_date",),
    ),
    Entity(
        "payments", "回款", "One row per payment received against an invoice (回款).",
        (
            C("payment_id", "str", "回款编号", True),
            C("invoice_id", "str", "发票编号", True),
            C("account_id", "str", "客户编号", True),
            C("payment_date", "date", "回款日期", True),
            C("amount", "amount", "回款金额", True),
            C("currency", "enum", "币种", True, vocab="currency"),
            C("method", "enum", "付款方式", vocab="payment_method"),
        ),
        ("payment_id",),
        (fk("invoice_id", "invoices", "invoice_id"), fk("account_id", "accounts", "account_id")),
        currency_column="currency",
        event_dates=("payment_date",),
    ),
    Entity(
        "nps_responses", "NPS调研", "One row per NPS survey response.",
        (
            C("response_id", "str", "问卷编号", True),
            C("account_id", "str", "客户编号", True),
            C("contact_id", "str", "联系人编号"),
            C("responded_at", "date", "回复日期", True),
            C("score", "int", "评分", True, min=0, max=10, aliases=("推荐分",)),
            C("comment", "str", "评价"),
        ),
        ("response_id",),
        (fk("account_id", "accounts", "account_id"), fk("contact_id", "contacts", "contact_id")),
        event_dates=("responded_at",),
    ),
    Entity(
        "fx_rates", "汇率", "One row per currency and day: CNY per unit of the currency.",
        (
            C("rate_date", "date", "日期", True),
            C("currency", "enum", "币种", True, vocab="currency"),
            C("rate_to_cny", "float", "兑人民币汇率", True, min=0.0001, max=1000, aliases=("汇率",)),
        ),
        ("rate_date", "currency"),
    ),
)
del C

ENTITY_BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}


def get_entity(name: str) -> Entity:
    try:
        return ENTITY_BY_NAME[name]
    except KeyError:
        known = ", ".join(ENTITY_BY_NAME)
        raise KeyError(f"unknown entity {name!r}; the contract knows: {known}") from None


def vocabulary_lookup(vocab: str) -> dict[str, str]:
    """Every accepted spelling (lower-cased, trimmed) -> canonical code."""
    out: dict[str, str] = {}
    for term in VOCABULARIES[vocab]:
        for s in term.spellings():
            out[s.strip().lower()] = term.code
    return out


def codes(vocab: str) -> list[str]:
    return [t.code for t in VOCABULARIES[vocab]]
