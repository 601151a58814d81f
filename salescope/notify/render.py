"""A digest in words: plain text that reads well in a chat (WeCom, DingTalk, Feishu/Lark send plain text)
and a short HTML for e-mail. Every deal is named with its id and name; every line links to its page."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from contract.vocabularies import en_name, zh_name
from salescope.notify import catalog
from salescope.notify.catalog import money, percent, t
from salescope.notify.content import Content, Line, Section


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    html: str


def link(public_url: str, path: str, lang: str) -> str:
    """``{public_url}/{path}``, with ``lang=en`` for English readers (the pages read ``?lang=``)."""
    url = f"{public_url.rstrip('/')}/{path}"
    if lang != catalog.DEFAULT_LANG:
        url += ("&" if "?" in url else "?") + f"lang={quote(lang)}"
    return url


def stage_name(code: str, lang: str) -> str:
    return (zh_name if lang == "zh" else en_name)("stage", code) or code


def _period(kind: str, start: date, lang: str) -> str:
    quarter = (start.month - 1) // 3 + 1
    month_name = catalog.MONTH_NAMES_EN[start.month - 1]
    key = {"month": "period.month", "quarter": "period.quarter"}.get(kind, "period.quarter_to_date")
    return t(key, lang, year=start.year, month=start.month, quarter=quarter, month_name=month_name)


def _deal(v: dict[str, Any]) -> str:
    return f"{v['deal_id']} {v.get('deal_name') or ''}".strip()


def reasons_text(v: dict[str, Any], lang: str) -> str:
    parts = []
    for code in v["reasons"]:
        if code == "stage_overdue":
            parts.append(t("reason.stage_overdue", lang, days=v["days"], p75=f"{v['p75']:.0f}"))
        elif code == "no_touch_14d":
            touch = v["touch"]
            parts.append(
                t("reason.no_touch_ever", lang)
                if touch is None
                else t("reason.no_touch_14d", lang, touch=touch)
            )
        else:
            parts.append(code)
    return t("reason.sep", lang).join(parts)


def line_text(line: Line, lang: str) -> str:
    v = line.values
    k = line.key
    if k in ("line.stalled", "line.stalled_no_action"):
        action = v["action_zh"] if lang == "zh" else v["action_en"]
        return t(
            k,
            lang,
            deal=_deal(v),
            stage=stage_name(v["stage"], lang),
            reasons=reasons_text(v, lang),
            action=action,
        )
    if k == "line.past_close":
        return t(
            k,
            lang,
            deal=_deal(v),
            close_date=v["close_date"],
            days=v["days"],
            amount=money(v["amount"], lang),
        )
    if k == "line.overdue":
        return t(
            k, lang, invoice=v["invoice"], deal=_deal(v), amount=money(v["amount"], lang), days=v["days"]
        )
    if k == "line.score_change":
        return t(k, lang, deal=_deal(v), old=v["old"], new=v["new"], delta=f"{v['delta']:+d}")
    if k == "line.attainment":
        return t(
            k,
            lang,
            period=_period(v["span"], v["start"], lang),
            bookings=money(v["bookings"], lang),
            quota=money(v["quota"], lang),
            attainment=percent(v["attainment"]),
        )
    if k in ("line.forecast", "line.forecast_no_quota"):
        return t(
            k,
            lang,
            period=_period(v["period_type"], v["period"], lang),
            forecast=money(v["forecast_cny"], lang),
            low=money(v["low_cny"], lang),
            high=money(v["high_cny"], lang),
            quota=money(v["quota_cny"], lang),
            share=percent(v["share"]),
        )
    if k == "line.bottleneck":
        return t(
            k,
            lang,
            stage=stage_name(v["stage"], lang),
            conversion=percent(v["conversion"]),
            reached=v["reached"],
        )
    if k == "line.new_overdue":
        return t(
            k,
            lang,
            invoice=v["invoice"],
            account=v["account"],
            amount=money(v["amount"], lang),
            days=v["days"],
        )
    if k == "line.aging":
        return t(k, lang, bucket=t(f"bucket.{v['bucket']}", lang), amount=money(v["amount"], lang), n=v["n"])
    raise KeyError(k)


def _heading(section: Section, lang: str) -> str:
    values = {"n": section.total, **section.values}
    if "amount" in values:
        values["amount"] = money(values["amount"], lang)
    return t(section.key, lang, **values)


def render(content: Content, name: str, lang: str, public_url: str) -> Message:
    lang = catalog.lang_of(lang)
    title = t(f"digest.title.{content.kind}", lang, name=name, as_of=content.as_of.isoformat())
    text = [title, ""]
    body = [f"<h2>{html.escape(title)}</h2>"]
    if not content.sections:
        text.append(t("digest.nothing", lang))
        body.append(f"<p>{html.escape(t('digest.nothing', lang))}</p>")
    for s in content.sections:
        heading = _heading(s, lang)
        text.append(f"■ {heading}")
        body.append(f"<h3>{html.escape(heading)}</h3><ul>")
        for line in s.lines:
            words, url = line_text(line, lang), link(public_url, line.link, lang)
            text += [f"• {words}", f"  {url}"]
            body.append(f'<li><a href="{html.escape(url)}">{html.escape(words)}</a></li>')
        if s.total > len(s.lines):
            more = t("digest.more", lang, n=s.total - len(s.lines))
            url = link(public_url, s.link, lang)
            text += [f"  {more}", f"  {url}"]
            body.append(f'<li><a href="{html.escape(url)}">{html.escape(more)}</a></li>')
        body.append("</ul>")
        text.append("")
    return Message(title, "\n".join(text).rstrip() + "\n", "\n".join(body))
