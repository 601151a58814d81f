"""Vocabularies: the allowed values of the contract's enum columns.

Each value has a canonical code (what the warehouse stores), its Chinese name and further aliases that
real exports use; any spelling is read as the code. The dashboards show a code by its Chinese name or its
English name (``en_name``).
"""

from __future__ import annotations

from dataclasses import dataclass


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


def vocabulary_lookup(vocab: str) -> dict[str, str]:
    """Every accepted spelling (lower-cased, trimmed) -> canonical code."""
    out: dict[str, str] = {}
    for term in VOCABULARIES[vocab]:
        for s in term.spellings():
            out[s.strip().lower()] = term.code
    return out


def zh_name(vocab: str, code: str) -> str:
    """The Chinese name of a code (the code itself when the vocabulary does not know it)."""
    for term in VOCABULARIES.get(vocab, ()):
        if term.code == code:
            return term.zh
    return str(code)


# English names where a code's own spelling is not one. Every other code's English name is the code with
# spaces for underscores and a capital first letter (initial_contact -> Initial contact, CNY -> CNY).
EN_NAMES: dict[str, dict[str, str]] = {
    "lead_source": {"wechat": "WeChat", "social": "Social media"},
    "channel": {"wechat": "WeChat", "social": "Social media"},
    "role": {"admin": "Administrator"},
    "industry": {"it": "IT"},
    "task_status": {"todo": "To do"},
}


def en_name(vocab: str, code: str) -> str:
    """The English name of a code (the code itself when the vocabulary does not know it)."""
    if code not in {t.code for t in VOCABULARIES.get(vocab, ())}:
        return str(code)
    name = EN_NAMES.get(vocab, {}).get(code) or code.replace("_", " ")
    return name[:1].upper() + name[1:]


def codes(vocab: str) -> list[str]:
    return [t.code for t in VOCABULARIES[vocab]]
