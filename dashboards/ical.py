"""The calendar feed: a user's dates as an iCalendar file (RFC 5545, ``icalendar``), within their row scope.

``feed_events(con, scope, lang, public_url)`` reads the serving snapshot (a read-only connection) and
returns the events; ``build_calendar(events, revisions, ...)`` turns them into an ``icalendar.Calendar``.
Both are pure: no files, no clock unless one is passed in. ``user_calendar`` puts them together with the
SEQUENCE store (``calendar_tokens.CalendarStore``) for the CLI and the subscription route.

Events (all-day, in the business time zone's dates; TRANSP TRANSPARENT, so they do not block time):

| UID | date | who gets it |
|---|---|---|
| ``opportunity-<id>-close@salescope`` | expected close date of an open deal | roles with the deals page |
| ``project-<id>-end@salescope`` | planned end of an unfinished project | every business role |
| ``project-<id>-overdue-tasks@salescope`` | the snapshot's as-of date, while the project has overdue tasks | every business role |
| ``invoice-<id>-due@salescope`` | due date of an invoice with an unpaid amount (overdue ones say so) | every business role |

The serving snapshot has the overdue-task count per project (``mart_project_delivery``), not the tasks, so
the overdue-tasks event sits on the data's as-of date and moves (with a new SEQUENCE) at each publish.

Scope (``dashboards.scope``): deals by ``Scope.opportunity_filter``; invoices carry their deal's owner, team
and region, so the same filter; projects through their contract's deal (``mart_collections``). Whole-company
scopes (executive, finance) read everything. A role only gets the kinds of events whose page it may open
(``access.may_open``): finance has no deals page, so no close dates. Roles without business rows
(data_steward, admin) get no events (``has_calendar`` is False).

UIDs carry the record's id, so a client updates an event instead of adding a second one. The content
(date, summary, description, link) has a fingerprint; the store bumps SEQUENCE when it changes between two
exports of the same user. DTSTAMP is the time of the export.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import duckdb
from icalendar import Calendar, Event

from contract.vocabularies import en_name, zh_name
from dashboards.access import BUSINESS, may_open
from dashboards.calendar_tokens import CalendarStore, Revision
from dashboards.scope import Scope, scope_for

PRODID = "-//Salescope//Calendar feed//ZH"
UID_DOMAIN = "salescope"
REFRESH = timedelta(hours=1)  # how often clients are asked to fetch the URL again (RFC 7986; X-PUBLISHED-TTL)
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

_TEXT = {
    "zh": {
        "calendar": "Salescope · {name}",
        "calendar_desc": "Salescope 日历：商机预计成交、项目里程碑、发票到期（数据截至 {as_of}）",
        "deal": "预计成交：{name}",
        "deal_desc": "商机 {id} · 客户：{account}\n阶段：{stage} · 金额：{amount}\n负责人：{owner}",
        "project_end": "项目计划完工：{name}",
        "project_desc": "项目 {id} · 客户：{account}\n状态：{status} · 进度：{progress} · 任务 {tasks} 项",
        "project_overdue": "项目任务逾期：{name}（{n} 项）",
        "project_overdue_desc": "项目 {id} · 客户：{account}\n截至 {as_of}，{n} 项任务已过截止日期仍未完成",
        "invoice_due": "发票到期：{id} · {account}",
        "invoice_overdue": "发票逾期：{id} · {account}",
        "invoice_desc": "发票 {id} · 合同 {contract} · 客户：{account}\n金额：{amount} · 未收：{unpaid}\n状态：{status}",
        "status_due": "未到期",
        "status_overdue": "已逾期（到期日 {due}）",
        "open": "打开：",
        "unknown": "—",
    },
    "en": {
        "calendar": "Salescope · {name}",
        "calendar_desc": "Salescope calendar: expected deal closes, project milestones, invoice due dates (data as of {as_of})",
        "deal": "Expected close: {name}",
        "deal_desc": "Deal {id} · account: {account}\nStage: {stage} · amount: {amount}\nOwner: {owner}",
        "project_end": "Project planned end: {name}",
        "project_desc": "Project {id} · account: {account}\nStatus: {status} · progress: {progress} · {tasks} tasks",
        "project_overdue": "Overdue project tasks: {name} ({n})",
        "project_overdue_desc": "Project {id} · account: {account}\nAs of {as_of}, {n} tasks are past their due date and not done",
        "invoice_due": "Invoice due: {id} · {account}",
        "invoice_overdue": "Invoice overdue: {id} · {account}",
        "invoice_desc": "Invoice {id} · contract {contract} · account: {account}\nAmount: {amount} · unpaid: {unpaid}\nStatus: {status}",
        "status_due": "not yet due",
        "status_overdue": "overdue (due {due})",
        "open": "Open: ",
        "unknown": "—",
    },
}


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    day: date
    summary: str
    description: str  # ends with the link to the page
    url: str
    category: str  # deal, project, invoice

    @property
    def fingerprint(self) -> str:
        """SHA-256 of what a client shows: a change here is a new SEQUENCE."""
        text = "\x1f".join((self.day.isoformat(), self.summary, self.description, self.url, self.category))
        return hashlib.sha256(text.encode()).hexdigest()


def has_calendar(role: str | None) -> bool:
    """Roles with business rows (deals, projects, invoices); data stewards and admins have none."""
    return role in BUSINESS


def uid(kind: str, record_id: str, what: str) -> str:
    return f"{kind}-{record_id}-{what}@{UID_DOMAIN}"


def _lang(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def _vocab(vocab: str, code: Any, lang: str) -> str:
    if code is None:
        return _TEXT[lang]["unknown"]
    return zh_name(vocab, str(code)) if lang == "zh" else en_name(vocab, str(code))


def _money(amount: Any, currency: Any = None, amount_cny: Any = None) -> str:
    """``¥1,200,000``, or ``USD 150,000 (¥1,080,000)`` for a foreign currency."""
    if amount is None and amount_cny is None:
        return "—"
    if currency in (None, "CNY") or amount is None:
        return f"¥{float(amount_cny if amount_cny is not None else amount):,.0f}"
    cny = f" (¥{float(amount_cny):,.0f})" if amount_cny is not None else ""
    return f"{currency} {float(amount):,.0f}{cny}"


def _link(public_url: str, page: str, lang: str, **params: str) -> str:
    query = {k: v for k, v in params.items() if v}
    if lang != DEFAULT_LANG:
        query["lang"] = lang
    return f"{public_url.rstrip('/')}/{page}" + (f"?{urlencode(query)}" if query else "")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def as_of_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The data's as-of date of the latest publish in the snapshot (None when it has no publish log)."""
    try:
        row = con.execute(
            "SELECT as_of FROM meta.publish_log ORDER BY published_at DESC NULLS LAST LIMIT 1"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return _day(row[0]) if row and row[0] is not None else None


# ---- the scoped queries (constant SQL; scope values are parameters) --------------------------------------------

DEALS_SQL = """
SELECT o.opportunity_id, o.opportunity_name, coalesce(a.account_name, o.account_id) AS account_name,
       coalesce(u.name, o.owner_user_id) AS owner, o.current_stage, o.amount::DOUBLE AS amount, o.currency,
       o.amount_cny::DOUBLE AS amount_cny, o.expected_close_date
FROM marts.fct_opportunities AS o
LEFT JOIN marts.dim_accounts AS a ON a.account_id = o.account_id
LEFT JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
WHERE o.is_open AND o.expected_close_date IS NOT NULL AND ({scope})
ORDER BY o.expected_close_date, o.opportunity_id
"""

PROJECTS_SQL = """
SELECT p.project_id, p.project_name, p.account_id, coalesce(a.account_name, p.account_id) AS account_name,
       p.project_status, p.planned_end_date, p.progress::DOUBLE AS progress, p.task_count, p.overdue_task_count
FROM marts.mart_project_delivery AS p
LEFT JOIN marts.dim_accounts AS a ON a.account_id = p.account_id
WHERE NOT p.is_finished AND ({scope})
ORDER BY p.planned_end_date, p.project_id
"""

INVOICES_SQL = """
SELECT i.invoice_id, i.contract_id, i.account_id, coalesce(a.account_name, i.account_id) AS account_name,
       i.due_date, i.amount::DOUBLE AS amount, i.currency, i.amount_cny::DOUBLE AS amount_cny,
       i.unpaid_cny::DOUBLE AS unpaid_cny, i.is_overdue
FROM marts.fct_invoices AS i
LEFT JOIN marts.dim_accounts AS a ON a.account_id = i.account_id
WHERE i.unpaid_cny > 0 AND i.due_date IS NOT NULL AND ({scope})
ORDER BY i.due_date, i.invoice_id
"""


def _project_scope(scope: Scope) -> tuple[str, list]:
    """Projects of the scope's deals: project -> contract -> deal (mart_collections holds the contract's deal)."""
    if scope.is_everything:
        return "TRUE", []
    opp_where, params = scope.opportunity_filter("o")
    return (
        "p.contract_id IN (SELECT c.contract_id FROM marts.mart_collections AS c "
        "JOIN marts.fct_opportunities AS o ON o.opportunity_id = c.opportunity_id "
        f"WHERE {opp_where})"
    ), params


def _deal_events(con, scope: Scope, lang: str, public_url: str) -> list[FeedEvent]:
    text = _TEXT[lang]
    where, params = scope.opportunity_filter("o")
    return [
        FeedEvent(
            uid=uid("opportunity", r["opportunity_id"], "close"),
            day=_day(r["expected_close_date"]),
            summary=text["deal"].format(name=r["opportunity_name"] or r["opportunity_id"]),
            description=text["deal_desc"].format(
                id=r["opportunity_id"],
                account=r["account_name"],
                stage=_vocab("stage", r["current_stage"], lang),
                amount=_money(r["amount"], r["currency"], r["amount_cny"]),
                owner=r["owner"],
            ),
            url=_link(public_url, "deals", lang, deal=r["opportunity_id"]),
            category="deal",
        )
        for r in _rows(con, DEALS_SQL.format(scope=where), params)
    ]


def _project_events(con, scope: Scope, lang: str, public_url: str, as_of: date | None) -> list[FeedEvent]:
    text = _TEXT[lang]
    where, params = _project_scope(scope)
    # finance and executives open projects on the delivery page; sales roles on the account's page
    delivery = may_open(scope.role, "delivery")
    out: list[FeedEvent] = []
    for r in _rows(con, PROJECTS_SQL.format(scope=where), params):
        url = (
            _link(public_url, "delivery", lang)
            if delivery
            else _link(public_url, "customers", lang, account=r["account_id"])
        )
        name = r["project_name"] or r["project_id"]
        if r["planned_end_date"] is not None:
            progress = "—" if r["progress"] is None else f"{r['progress']:.0%}"
            out.append(
                FeedEvent(
                    uid=uid("project", r["project_id"], "end"),
                    day=_day(r["planned_end_date"]),
                    summary=text["project_end"].format(name=name),
                    description=text["project_desc"].format(
                        id=r["project_id"],
                        account=r["account_name"],
                        status=_vocab("project_status", r["project_status"], lang),
                        progress=progress,
                        tasks=r["task_count"],
                    ),
                    url=url,
                    category="project",
                )
            )
        if as_of is not None and (r["overdue_task_count"] or 0) > 0:
            n = int(r["overdue_task_count"])
            out.append(
                FeedEvent(
                    uid=uid("project", r["project_id"], "overdue-tasks"),
                    day=as_of,
                    summary=text["project_overdue"].format(name=name, n=n),
                    description=text["project_overdue_desc"].format(
                        id=r["project_id"], account=r["account_name"], n=n, as_of=as_of.isoformat()
                    ),
                    url=url,
                    category="project",
                )
            )
    return out


def _invoice_events(con, scope: Scope, lang: str, public_url: str) -> list[FeedEvent]:
    text = _TEXT[lang]
    where, params = scope.opportunity_filter("i")
    out: list[FeedEvent] = []
    for r in _rows(con, INVOICES_SQL.format(scope=where), params):
        due = _day(r["due_date"])
        overdue = bool(r["is_overdue"])
        out.append(
            FeedEvent(
                uid=uid("invoice", r["invoice_id"], "due"),
                day=due,
                summary=text["invoice_overdue" if overdue else "invoice_due"].format(
                    id=r["invoice_id"], account=r["account_name"]
                ),
                description=text["invoice_desc"].format(
                    id=r["invoice_id"],
                    contract=r["contract_id"],
                    account=r["account_name"],
                    amount=_money(r["amount"], r["currency"], r["amount_cny"]),
                    unpaid=_money(None, None, r["unpaid_cny"]),
                    status=text["status_overdue"].format(due=due.isoformat())
                    if overdue
                    else text["status_due"],
                ),
                url=_link(public_url, "collections", lang),
                category="invoice",
            )
        )
    return out


def feed_events(
    con: duckdb.DuckDBPyConnection, scope: Scope, lang: str | None, public_url: str
) -> list[FeedEvent]:
    """The events the scope may see, in the user's language (zh unless ``en``)."""
    if not has_calendar(scope.role):
        return []
    lang = _lang(lang)
    as_of = as_of_date(con)
    events: list[FeedEvent] = []
    if may_open(scope.role, "deals"):
        events += _deal_events(con, scope, lang, public_url)
    events += _project_events(con, scope, lang, public_url, as_of)
    events += _invoice_events(con, scope, lang, public_url)
    # the link ends the description, so it is part of the fingerprint as the client shows it
    return [replace(e, description=f"{e.description}\n{_TEXT[lang]['open']}{e.url}") for e in events]


def build_calendar(
    events: list[FeedEvent],
    revisions: dict[str, Revision] | None = None,
    *,
    name: str,
    lang: str | None = None,
    as_of: date | None = None,
    stamp: datetime | None = None,
) -> Calendar:
    """An ``icalendar.Calendar`` of all-day events; ``revisions`` gives SEQUENCE and LAST-MODIFIED per UID."""
    lang = _lang(lang)
    text = _TEXT[lang]
    stamp = (stamp or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", text["calendar"].format(name=name))
    cal.add("name", text["calendar"].format(name=name))  # RFC 7986
    cal.add("x-wr-caldesc", text["calendar_desc"].format(as_of=as_of.isoformat() if as_of else "—"))
    cal.add("x-wr-timezone", "Asia/Shanghai")
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")  # Outlook's older name for the same (an X- property: plain text)
    revisions = revisions or {}
    for e in events:
        ev = Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", stamp)
        ev.add("dtstart", e.day)
        ev.add("dtend", e.day + timedelta(days=1))
        ev.add("summary", e.summary)
        ev.add("description", e.description)
        ev.add("url", e.url)
        ev.add("categories", [e.category])
        ev.add("transp", "TRANSPARENT")
        rev = revisions.get(e.uid)
        ev.add("sequence", rev.sequence if rev else 0)
        if rev is not None:
            ev.add("last-modified", rev.changed_at.astimezone(UTC))
        cal.add_component(ev)
    return cal


def user_calendar(
    con: duckdb.DuckDBPyConnection,
    user: Any,
    store: CalendarStore,
    public_url: str,
    *,
    stamp: datetime | None = None,
) -> Calendar:
    """The user's calendar: their scope and language (``user.language`` when the user object has one, else
    zh), with SEQUENCE numbers recorded in ``store``."""
    lang = _lang(getattr(user, "language", DEFAULT_LANG))
    scope = scope_for(user.role, user.crm_user_id)
    events = feed_events(con, scope, lang, public_url)
    revisions = store.revisions(user.username, [(e.uid, e.fingerprint) for e in events], now=stamp)
    return build_calendar(
        events,
        revisions,
        name=user.display_name or user.username,
        lang=lang,
        as_of=as_of_date(con),
        stamp=stamp,
    )
