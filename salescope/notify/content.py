"""What a digest says, read from the published serving snapshot and always within the user's row scope.

Each function returns sections of structured lines (ids, names, amounts, codes); ``render`` turns them into
words in the user's language. The scope's SQL comes from ``dashboards.scope`` (the same filter the pages
use); every value travels as a query parameter. Amounts are CNY (METRICS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from dashboards.scope import Scope, row_filter

MAX_LINES = 10  # per section; the rest is counted ("… and 3 more") and behind the section's link
MAX_MOVERS = 5
FUNNEL_LAST_STAGE_ORDER = 6  # contract_signed has no later stage, so no conversion
AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")


@dataclass(frozen=True)
class Line:
    key: str  # catalog key of the line (catalog.TEXTS)
    values: dict[str, Any]
    link: str  # dashboard path with its filters, e.g. "deals?deal=OPP-0000807"


@dataclass(frozen=True)
class Section:
    key: str
    lines: tuple[Line, ...]
    total: int  # lines in all (more than shown when over MAX_LINES)
    values: dict[str, Any] = field(default_factory=dict)
    link: str = ""


@dataclass(frozen=True)
class Content:
    kind: str  # rep_daily, manager_weekly, finance_daily
    as_of: date
    sections: tuple[Section, ...]
    scores: dict[str, int] = field(default_factory=dict)  # remembered once the digest is delivered
    overdue_ids: frozenset[str] = frozenset()

    @property
    def deal_ids(self) -> set[str]:
        return {
            str(line.values["deal_id"])
            for s in self.sections
            for line in s.lines
            if line.values.get("deal_id") is not None
        }


def query_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _section(key: str, lines: list[Line], link: str = "", **values: Any) -> Section | None:
    if not lines:
        return None
    return Section(key, tuple(lines[:MAX_LINES]), len(lines), values, link)


def snapshot_as_of(con: duckdb.DuckDBPyConnection) -> date:
    """The as-of date of the published snapshot (meta.publish_log)."""
    (as_of,) = con.execute("SELECT max(as_of)::DATE FROM meta.publish_log").fetchone()
    if as_of is None:
        raise ValueError("the serving snapshot has no publish record: run `salescope run` first")
    return as_of


def current_scores(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, dict[str, Any]]:
    """The latest ML score of each open deal in scope, with the deal's name."""
    where, params = scope.opportunity_filter("o")
    rows = query_rows(
        con,
        f"""SELECT s.opportunity_id, o.opportunity_name, s.score::BIGINT AS score
            FROM ml.deal_scores AS s JOIN marts.fct_opportunities AS o ON o.opportunity_id = s.opportunity_id
            WHERE s.as_of = (SELECT max(as_of) FROM ml.deal_scores) AND o.is_open AND {where}""",
        params,
    )
    return {r["opportunity_id"]: r for r in rows}


def score_changes(
    current: dict[str, dict[str, Any]], last: dict[str, int], limit: int | None = None
) -> list[Line]:
    """Deals whose score differs from the one the last digest sent, the biggest change first."""
    moved = [(r["score"] - last[k], k, r) for k, r in current.items() if k in last and r["score"] != last[k]]
    moved.sort(key=lambda x: (-abs(x[0]), x[1]))
    return [
        Line(
            "line.score_change",
            {"deal_id": k, "deal_name": r["opportunity_name"], "old": last[k], "new": r["score"], "delta": d},
            f"deals?deal={k}",
        )
        for d, k, r in moved[:limit]
    ]


# ---- sales rep, daily ----------------------------------------------------------------------------------


def rep_daily(
    con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, last_scores: dict[str, int]
) -> Content:
    where, params = scope.opportunity_filter("o")
    stalled = query_rows(
        con,
        f"""SELECT o.opportunity_id, o.opportunity_name, o.current_stage, o.stall_reasons,
                   o.days_in_current_stage, o.stage_p75_days::DOUBLE AS stage_p75_days, o.days_since_last_touch,
                   a.action_zh, a.action_en
            FROM marts.mart_deal_risk AS o
            LEFT JOIN ml.next_actions AS a ON a.opportunity_id = o.opportunity_id AND a.rank = 1
            WHERE o.is_stalled AND {where}
            ORDER BY o.amount_cny DESC NULLS LAST, o.opportunity_id""",
        params,
    )
    past = query_rows(
        con,
        f"""SELECT o.opportunity_id, o.opportunity_name, o.expected_close_date, o.amount_cny::DOUBLE AS amount_cny
            FROM marts.fct_opportunities AS o
            WHERE o.is_open AND o.expected_close_date < ? AND {where}
            ORDER BY o.expected_close_date, o.opportunity_id""",
        [as_of, *params],
    )
    inv_where, inv_params = scope.opportunity_filter("i")
    overdue = query_rows(
        con,
        f"""SELECT i.invoice_id, i.opportunity_id, o.opportunity_name, i.unpaid_cny::DOUBLE AS unpaid_cny,
                   i.days_past_due
            FROM marts.fct_invoices AS i LEFT JOIN marts.fct_opportunities AS o ON o.opportunity_id = i.opportunity_id
            WHERE i.is_overdue AND {inv_where}
            ORDER BY i.unpaid_cny DESC, i.invoice_id""",
        inv_params,
    )
    scores = current_scores(con, scope)
    sections = [
        _section(
            "section.stalled",
            [
                Line(
                    "line.stalled" if r["action_zh"] else "line.stalled_no_action",
                    {
                        "deal_id": r["opportunity_id"],
                        "deal_name": r["opportunity_name"],
                        "stage": r["current_stage"],
                        "reasons": [c for c in (r["stall_reasons"] or "").split(";") if c],
                        "days": r["days_in_current_stage"],
                        "p75": r["stage_p75_days"],
                        "touch": r["days_since_last_touch"],
                        "action_zh": r["action_zh"],
                        "action_en": r["action_en"],
                    },
                    f"deals?deal={r['opportunity_id']}",
                )
                for r in stalled
            ],
            "deals",
        ),
        _section(
            "section.past_close",
            [
                Line(
                    "line.past_close",
                    {
                        "deal_id": r["opportunity_id"],
                        "deal_name": r["opportunity_name"],
                        "close_date": r["expected_close_date"],
                        "days": (as_of - r["expected_close_date"]).days,
                        "amount": r["amount_cny"],
                    },
                    f"deals?deal={r['opportunity_id']}",
                )
                for r in past
            ],
            "deals",
        ),
        _section(
            "section.overdue",
            [
                Line(
                    "line.overdue",
                    {
                        "invoice": r["invoice_id"],
                        "deal_id": r["opportunity_id"],
                        "deal_name": r["opportunity_name"],
                        "amount": r["unpaid_cny"],
                        "days": r["days_past_due"],
                    },
                    f"deals?deal={r['opportunity_id']}",
                )
                for r in overdue
            ],
            "collections",
        ),
        _section("section.score_changes", score_changes(scores, last_scores), "deals"),
    ]
    return Content(
        "rep_daily",
        as_of,
        tuple(s for s in sections if s),
        scores={k: int(r["score"]) for k, r in scores.items()},
    )


# ---- sales manager, weekly -----------------------------------------------------------------------------


def _quarter_start(d: date) -> date:
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)


def team_of(con: duckdb.DuckDBPyConnection, scope: Scope) -> str | None:
    if scope.team_id:
        return scope.team_id
    row = con.execute("SELECT team_id FROM marts.dim_users WHERE user_id = ?", [scope.user_id]).fetchone()
    return row[0] if row else None


def team_attainment(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date) -> list[dict[str, Any]]:
    """Bookings and quota of the scope's group for the as-of month and the quarter to date (sums of the
    months, METRICS.md: roll up sums, not averages)."""
    where, params = scope.performance_group("p")
    month = date(as_of.year, as_of.month, 1)
    out = []
    for span, start in (("month", month), ("quarter_to_date", _quarter_start(as_of))):
        bookings, quota = con.execute(
            f"""SELECT sum(p.bookings_cny)::DOUBLE, sum(p.quota_cny)::DOUBLE
                FROM marts.mart_sales_performance_rollup AS p
                WHERE {where} AND p.month >= ? AND p.month <= ?""",
            [*params, start, month],
        ).fetchone()
        if bookings is None and quota is None:
            continue
        out.append(
            {
                "span": span,
                "start": start,
                "bookings": bookings or 0.0,
                "quota": quota,
                "attainment": (bookings or 0.0) / quota if quota else None,
            }
        )
    return out


def team_forecast(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date) -> list[dict[str, Any]]:
    """ml.forecast (component 'total') of the scope's group for the first month and quarter not over on the
    as-of date, with the quota of that period where the snapshot has one (marts.mart_forecast)."""
    where, params = scope.performance_group("f")
    return query_rows(
        con,
        f"""WITH f AS (
                SELECT f.*, row_number() OVER (PARTITION BY f.period_type ORDER BY f.period) AS n
                FROM ml.forecast AS f
                WHERE {where} AND f.component = 'total' AND f.period_end >= ?
            )
            SELECT f.period_type, f.period, f.forecast_cny, f.low_cny, f.high_cny, q.quota_cny::DOUBLE AS quota_cny
            FROM f LEFT JOIN marts.mart_forecast AS q
              ON q.period_type = f.period_type AND q.period_start = f.period AND q.level = f.level
             AND q.group_id = f.group_id
            WHERE f.n = 1 ORDER BY f.period_type""",
        [*params, as_of],
    )


def bottleneck(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date) -> dict[str, Any] | None:
    """The stage with the lowest passing conversion (METRICS.md) over the scope's created-month cohorts of the
    12 months up to the as-of date, from mart_funnel's counts summed (never averaged)."""
    where, params = row_filter(scope, team="r.team_id")
    month = date(as_of.year, as_of.month, 1)
    start = date(month.year - 1, month.month, 1) + timedelta(days=32)
    start = date(start.year, start.month, 1)
    rows = query_rows(
        con,
        f"""SELECT r.stage, min(r.stage_order) AS stage_order, sum(r.reached_count)::BIGINT AS reached,
                   (sum(r.passed_count) / nullif(sum(r.reached_count), 0))::DOUBLE AS conversion
            FROM marts.mart_funnel AS r
            WHERE {where} AND r.cohort_month >= ? AND r.cohort_month <= ? AND r.stage_order < ?
            GROUP BY r.stage HAVING sum(r.reached_count) > 0
            ORDER BY conversion, stage_order LIMIT 1""",
        [*params, start, month, FUNNEL_LAST_STAGE_ORDER],
    )
    return rows[0] if rows else None


def manager_weekly(
    con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, last_scores: dict[str, int]
) -> Content:
    team = team_of(con, scope)
    q = f"?team={team}" if team else ""
    attainment = [Line("line.attainment", r, f"performance{q}") for r in team_attainment(con, scope, as_of)]
    forecast = [
        Line(
            "line.forecast" if r["quota_cny"] else "line.forecast_no_quota",
            {**r, "share": r["forecast_cny"] / r["quota_cny"] if r["quota_cny"] else None},
            f"forecast{q}",
        )
        for r in team_forecast(con, scope, as_of)
    ]
    scores = current_scores(con, scope)
    neck = bottleneck(con, scope, as_of)
    sections = [
        _section("section.attainment", attainment, f"performance{q}"),
        _section("section.forecast", forecast, f"forecast{q}"),
        _section("section.movers", score_changes(scores, last_scores, MAX_MOVERS), f"deals{q}"),
        _section(
            "section.bottleneck", [Line("line.bottleneck", neck, f"funnel{q}")] if neck else [], f"funnel{q}"
        ),
    ]
    return Content(
        "manager_weekly",
        as_of,
        tuple(s for s in sections if s),
        scores={k: int(r["score"]) for k, r in scores.items()},
    )


# ---- finance, daily ------------------------------------------------------------------------------------


def finance_daily(con: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, seen: set[str]) -> Content:
    where, params = scope.opportunity_filter("i")
    overdue = query_rows(
        con,
        f"""SELECT i.invoice_id, i.opportunity_id, coalesce(a.account_name, i.account_id) AS account_name,
                   i.unpaid_cny::DOUBLE AS unpaid_cny, i.days_past_due
            FROM marts.fct_invoices AS i LEFT JOIN marts.dim_accounts AS a ON a.account_id = i.account_id
            WHERE i.is_overdue AND {where}
            ORDER BY i.unpaid_cny DESC, i.invoice_id""",
        params,
    )
    new = [r for r in overdue if r["invoice_id"] not in seen]
    aging = query_rows(
        con,
        f"""SELECT i.aging_bucket, count(*) AS n, sum(i.unpaid_cny)::DOUBLE AS unpaid_cny
            FROM marts.fct_invoices AS i WHERE i.unpaid_cny > 0 AND {where} GROUP BY 1""",
        params,
    )
    by_bucket = {r["aging_bucket"]: r for r in aging}
    sections = [
        _section(
            "section.new_overdue",
            [
                Line(
                    "line.new_overdue",
                    {
                        "invoice": r["invoice_id"],
                        "account": r["account_name"],
                        "amount": r["unpaid_cny"],
                        "days": r["days_past_due"],
                    },
                    "collections",
                )
                for r in new
            ],
            "collections",
            amount=sum(r["unpaid_cny"] or 0.0 for r in new),
        ),
        _section(
            "section.aging",
            [
                Line(
                    "line.aging",
                    {"bucket": b, "amount": by_bucket[b]["unpaid_cny"], "n": by_bucket[b]["n"]},
                    "collections",
                )
                for b in AGING_BUCKETS
                if b in by_bucket
            ],
            "collections",
        ),
    ]
    return Content(
        "finance_daily",
        as_of,
        tuple(s for s in sections if s),
        overdue_ids=frozenset(r["invoice_id"] for r in overdue),
    )
