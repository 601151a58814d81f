"""Alerts on events, each sent once (its dedupe key names the event):

- a deal that became stalled -> its rep (key: deal, stage and when it entered the stage: once per stall);
- a large deal (``Settings.large_deal_cny``) lost in the last week, or pushed twice -> its rep and manager
  (and the team's tag);
- an invoice that reached 30 days overdue in the last week -> finance (the role tag and finance users);
- a run that failed or that the quality gate blocked -> data stewards and admins (``run_alert``).

The week's window keeps the first pass on an old snapshot from re-announcing history; a pass missed for
longer than that loses those events (the digests still list the deals and invoices).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import duckdb

from salescope.notify.catalog import money, t
from salescope.notify.content import query_rows as rows_of
from salescope.notify.dispatch import Notification
from salescope.notify.people import Recipient
from salescope.notify.render import link, reasons_text, stage_name

EVENT_WINDOW_DAYS = 7
OVERDUE_ALERT_DAYS = 30
RUN_ALERT_ROLES = ("data_steward", "admin")


def _note(key: str, tags: Iterable[str], title: str, text: str, url: str | None) -> Notification:
    import html

    body = f"{text}\n{url}" if url else text
    markup = f"<p>{html.escape(text)}</p>" + (
        f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>' if url else ""
    )
    return Notification(key, tuple(dict.fromkeys(tags)), title, body + "\n", markup)


def _by_lang(people: list[Recipient]) -> dict[str, list[Recipient]]:
    out: dict[str, list[Recipient]] = {}
    for p in people:
        out.setdefault(p.language, []).append(p)
    return out


def deal_alerts(
    con: duckdb.DuckDBPyConnection,
    people: list[Recipient],
    as_of: date,
    public_url: str,
    large_deal_cny: float,
) -> list[Notification]:
    reps: dict[str, list[Recipient]] = {}
    managers: dict[str, list[Recipient]] = {}
    for p in people:
        if p.role == "sales_rep" and p.crm_user_id:
            reps.setdefault(p.crm_user_id, []).append(p)
        if p.role == "sales_manager" and p.team_id:
            managers.setdefault(p.team_id, []).append(p)
    out: list[Notification] = []
    stalled = rows_of(
        con,
        """SELECT opportunity_id, opportunity_name, owner_user_id, current_stage, stall_reasons,
                  current_stage_entered_at::DATE AS entered, days_in_current_stage,
                  stage_p75_days::DOUBLE AS stage_p75_days, days_since_last_touch
           FROM marts.mart_deal_risk WHERE is_stalled ORDER BY opportunity_id""",
        [],
    )
    for r in stalled:
        values = {
            "reasons": [x for x in (r["stall_reasons"] or "").split(";") if x],
            "days": r["days_in_current_stage"],
            "p75": r["stage_p75_days"] or 0.0,
            "touch": r["days_since_last_touch"],
        }
        deal = f"{r['opportunity_id']} {r['opportunity_name']}"
        key = f"stalled:{r['opportunity_id']}:{r['current_stage']}:{r['entered']}"
        for lang, group in _by_lang(reps.get(r["owner_user_id"], [])).items():
            out.append(
                _note(
                    key,
                    [p.username for p in group],
                    t("alert.stalled.title", lang, deal=deal),
                    t(
                        "alert.stalled.body",
                        lang,
                        deal=deal,
                        stage=stage_name(r["current_stage"], lang),
                        reasons=reasons_text(values, lang),
                    ),
                    link(public_url, f"deals?deal={r['opportunity_id']}", lang),
                )
            )
    large = rows_of(
        con,
        """SELECT o.opportunity_id, o.opportunity_name, o.owner_user_id, o.team_id, o.amount_cny::DOUBLE AS amount,
                  o.lost_at::DATE AS lost_on, o.push_count, o.expected_close_date, o.is_open,
                  coalesce(u.name, o.owner_user_id) AS owner
           FROM marts.fct_opportunities AS o LEFT JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
           WHERE o.amount_cny >= ?
             AND ((o.is_lost AND o.lost_at::DATE > ? AND o.lost_at::DATE <= ?) OR (o.is_open AND o.push_count >= 2))
           ORDER BY o.opportunity_id""",
        [large_deal_cny, as_of - timedelta(days=EVENT_WINDOW_DAYS), as_of],
    )
    for r in large:
        deal = f"{r['opportunity_id']} {r['opportunity_name']}"
        lost = r["lost_on"] is not None and not r["is_open"]
        key = f"large_lost:{r['opportunity_id']}" if lost else f"large_pushed2:{r['opportunity_id']}"
        who = reps.get(r["owner_user_id"], []) + managers.get(r["team_id"], [])
        for lang, group in _by_lang(who).items():
            tags = [p.username for p in group] + [r["team_id"]] * any(
                p.role == "sales_manager" for p in group
            )
            kind = "large_lost" if lost else "large_pushed"
            values: dict[str, Any] = {
                "deal": deal,
                "amount": money(r["amount"], lang),
                "date": r["lost_on"],
                "pushes": r["push_count"],
                "close_date": r["expected_close_date"],
                "owner": r["owner"],
            }
            out.append(
                _note(
                    key,
                    tags,
                    t(f"alert.{kind}.title", lang, **values),
                    t(f"alert.{kind}.body", lang, **values),
                    link(public_url, f"deals?deal={r['opportunity_id']}", lang),
                )
            )
    invoices = rows_of(
        con,
        """SELECT i.invoice_id, i.opportunity_id, coalesce(o.opportunity_name, '') AS opportunity_name,
                  coalesce(a.account_name, i.account_id) AS account, i.unpaid_cny::DOUBLE AS unpaid,
                  i.days_past_due, i.due_date
           FROM marts.fct_invoices AS i
           LEFT JOIN marts.fct_opportunities AS o ON o.opportunity_id = i.opportunity_id
           LEFT JOIN marts.dim_accounts AS a ON a.account_id = i.account_id
           WHERE i.unpaid_cny > 0 AND i.days_past_due >= ? AND i.days_past_due < ?
           ORDER BY i.invoice_id""",
        [OVERDUE_ALERT_DAYS, OVERDUE_ALERT_DAYS + EVENT_WINDOW_DAYS],
    )
    finance = [p for p in people if p.role == "finance"]
    langs = _by_lang(finance) or {"zh": []}
    for r in invoices:
        for lang, group in langs.items():
            values = {
                "invoice": r["invoice_id"],
                "account": r["account"],
                "deal": f"{r['opportunity_id']} {r['opportunity_name']}".strip(),
                "amount": money(r["unpaid"], lang),
                "days": r["days_past_due"],
                "due_date": r["due_date"],
            }
            tags = [p.username for p in group] + (["finance"] if lang == "zh" else [])
            out.append(
                _note(
                    f"overdue30:{r['invoice_id']}",
                    tags,
                    t("alert.overdue30.title", lang, **values),
                    t("alert.overdue30.body", lang, **values),
                    link(public_url, "collections", lang),
                )
            )
    return out


def run_alert(
    people: list[Recipient], run_id: str, failures: list[tuple[str, str]], public_url: str
) -> list[Notification]:
    """A run that published nothing: to the data_steward and admin role tags and those users."""
    gate = any(step == "quality_gate" for step, _ in failures)
    staff = [p for p in people if p.role in RUN_ALERT_ROLES]
    langs = _by_lang(staff)
    langs.setdefault("zh", [])
    out = []
    for lang, group in langs.items():
        lines = [t("alert.run.body", lang, run=run_id[:8])]
        if gate:
            lines.append(t("alert.run.gate", lang))
        if failures:
            lines.append(t("alert.run.failures", lang))
            for step, error in failures:
                detail = [x.strip() for x in (error or "").splitlines() if x.strip()][:12]
                lines.append(f"- {step}: " + ("\n    ".join(detail) or "failed"))
        tags = [p.username for p in group] + (list(RUN_ALERT_ROLES) if lang == "zh" else [])
        out.append(
            _note(
                f"run:{run_id}",
                tags,
                t("alert.run.title", lang, run=run_id[:8]),
                "\n".join(lines),
                link(public_url, "quality", lang),
            )
        )
    return out
