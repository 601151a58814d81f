"""Mart suites, written by hand from METRICS.md's invariants.

Each suite runs when its mart exists and is reported 'skipped' (not failed) when a table it reads is
absent, so suites for marts still being built wait for them. The invariant is computed in SQL as a
column of the suite's query (a difference, a previous stage's count...) and GX checks that column.

- fct_opportunities: one row per opportunity, amounts not negative, no orphan facts (account, owner).
- mart_bookings_monthly: bookings of a month = Σ amount_cny of deals won in that month (fct_opportunities).
- mart_funnel: reached counts never rise along the stages (initial_contact -> ... -> contract_signed).
- mart_rep_performance: attainment = bookings_cny ÷ quota_cny (none without a quota).
- mart_collections: collected never exceeds invoiced unless the row carries an overpayment flag (any
  excess warns; beyond ``FX_TOLERANCE`` of the invoiced amount it blocks). Both sides at the invoice's own
  rate (``collected_at_invoice_rate_cny``), so exchange-rate moves never look like overpayments.
- fct_pipeline_snapshots: one row per (snapshot_date, opportunity_id); the count per snapshot date
  equals the deals open as of that date in fct_opportunities; every row references a known deal.

Orphan facts follow the raw rule: a warning per reference, blocking above ``MAX_ORPHAN_SHARE``.
"""

from __future__ import annotations

from collections.abc import Callable

from contract import VOCABULARIES
from ingestion.sqlutil import ident, lit

from .raw_suites import MAX_ORPHAN_SHARE
from .spec import BLOCKING, WARNING, Expect, Suite

MONEY_TOLERANCE = 0.01  # CNY: sums of DECIMAL(18,2) amounts agree to the fen
RATIO_TOLERANCE = 1e-6
# collected is compared with invoiced at the invoice's own rate (mart_collections.collected_at_invoice_rate_cny;
# collected_cny, at the payment dates' rates, shows rate moves as excess). Any excess warns; beyond this
# share of the invoiced amount it blocks.
FX_TOLERANCE = 0.20
FUNNEL_STAGES = [t.code for t in VOCABULARIES["stage"] if t.code != "lost"]

NO_SOURCE = "CAST(NULL AS VARCHAR) AS _source_file, CAST(NULL AS BIGINT) AS _source_row"


def table_columns(con, table: str) -> dict[str, str] | None:
    """{column: data_type} of schema.table, or None when the table does not exist."""
    schema, name = table.split(".")
    rows = con.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?
           ORDER BY ordinal_position""",
        [schema, name],
    ).fetchall()
    return {c: t for c, t in rows} or None


def _is_dimension(data_type: str) -> bool:
    t = data_type.upper()
    return t.startswith(("VARCHAR", "DATE", "TIMESTAMP", "BOOLEAN")) or t in ("TEXT",)


def _key_columns(cols: dict[str, str], grain: tuple[str, ...] = ()) -> list[str]:
    """Columns that name a mart row: its grain when present, else ids and periods, else every dimension."""
    if grain and all(g in cols for g in grain):
        return list(grain)
    ids = [
        c
        for c in cols
        if c.endswith("_id") or c in ("month", "period_start", "cohort_month", "snapshot_date", "period")
    ]
    return ids or [c for c, t in cols.items() if _is_dimension(t)]


def _key_expr(cols: list[str], alias: str = "t") -> str:
    if not cols:
        return "CAST(row_number() OVER () AS VARCHAR)"
    return " || '|' || ".join(f"coalesce(CAST({alias}.{ident(c)} AS VARCHAR), '')" for c in cols)


def _orphan(flag: str, column: str, target: str) -> list[Expect]:
    fix = f"rebuild the marts; {column} must reference an existing {target} (check the source's orphan flags)"
    return [
        Expect(
            "expect_column_values_to_be_in_set",
            f"no orphan facts: {column} in {target}",
            column,
            {"column": flag, "value_set": [True]},
            WARNING,
            "orphan_fk",
            fix,
        ),
        Expect(
            "expect_column_values_to_be_in_set",
            f"no orphan facts: {column} in {target} (orphans <= {MAX_ORPHAN_SHARE:.0%})",
            column,
            {"column": flag, "value_set": [True]},
            BLOCKING,
            "orphan_fk",
            fix,
            mostly=1 - MAX_ORPHAN_SHARE,
        ),
    ]


def fct_opportunities(con) -> Suite | str:
    cols = table_columns(con, "marts.fct_opportunities")
    if cols is None:
        return "table marts.fct_opportunities does not exist"
    select = [
        "CAST(t.opportunity_id AS VARCHAR) AS _record_key",
        NO_SOURCE,
        "t.opportunity_id",
        "count(*) OVER (PARTITION BY t.opportunity_id) = 1 AS _grain_unique",
    ]
    ex = [
        Expect(
            "expect_column_values_to_not_be_null",
            "opportunity_id present",
            "opportunity_id",
            {"column": "opportunity_id"},
            BLOCKING,
            "missing_required",
            "rebuild the marts: every fact needs its key",
        ),
        Expect(
            "expect_column_values_to_be_in_set",
            "one row per opportunity",
            "opportunity_id",
            {"column": "_grain_unique", "value_set": [True]},
            BLOCKING,
            "duplicate_key",
            "rebuild the marts: fct_opportunities must hold one row per opportunity",
        ),
    ]
    requires: list[str] = []
    if "amount_cny" in cols:
        select.append("CAST(t.amount_cny AS DOUBLE) AS amount_cny")
        ex.append(
            Expect(
                "expect_column_values_to_be_between",
                "amount_cny not negative",
                "amount_cny",
                {"column": "amount_cny", "min_value": 0},
                BLOCKING,
                "negative_amount",
                "correct the deal's amount in the opportunities file",
            )
        )
    for col, dim, dim_key in (
        ("account_id", "marts.dim_accounts", "account_id"),
        ("owner_user_id", "marts.dim_users", "user_id"),
    ):
        if col in cols and table_columns(con, dim) is not None:
            flag = f"_{col}_known"
            select.append(
                f"CASE WHEN t.{ident(col)} IS NOT NULL THEN EXISTS (SELECT 1 FROM {dim} AS d WHERE d.{ident(dim_key)} = t.{ident(col)}) END AS {flag}"
            )
            ex.extend(_orphan(flag, col, f"{dim}.{dim_key}"))
            requires.append(dim)
    query = f"SELECT {', '.join(select)} FROM marts.fct_opportunities AS t"
    return Suite(
        "marts.fct_opportunities",
        "fct_opportunities",
        "marts.fct_opportunities",
        query,
        tuple(ex),
        requires=tuple(requires),
        asset=("marts", "fct_opportunities"),
    )


def mart_bookings_monthly(con) -> Suite | str:
    for t in ("marts.mart_bookings_monthly", "marts.fct_opportunities"):
        if table_columns(con, t) is None:
            return f"table {t} does not exist"
    query = f"""
        WITH won AS (
            SELECT CAST(date_trunc('month', won_at) AS DATE) AS month, sum(amount_cny) AS won_amount_cny
            FROM marts.fct_opportunities WHERE is_won AND won_at IS NOT NULL GROUP BY 1
        )
        SELECT CAST(coalesce(b.month, w.month) AS VARCHAR) AS _record_key, {NO_SOURCE},
               CAST(b.bookings_cny AS DOUBLE) AS bookings_cny,
               CAST(coalesce(w.won_amount_cny, 0) AS DOUBLE) AS won_amount_cny,
               abs(CAST(coalesce(b.bookings_cny, 0) AS DOUBLE) - CAST(coalesce(w.won_amount_cny, 0) AS DOUBLE))
                   AS bookings_difference_cny
        FROM marts.mart_bookings_monthly AS b FULL OUTER JOIN won AS w ON w.month = b.month"""
    ex = (
        Expect(
            "expect_column_values_to_be_between",
            "bookings = Σ won amounts of the month",
            "bookings_cny",
            {"column": "bookings_difference_cny", "max_value": MONEY_TOLERANCE},
            BLOCKING,
            "bookings_mismatch",
            "rebuild the marts: bookings must equal the sum of amount_cny of the deals won in the month",
        ),
    )
    return Suite(
        "marts.mart_bookings_monthly",
        "mart_bookings_monthly",
        "marts.mart_bookings_monthly",
        query,
        ex,
        requires=("marts.fct_opportunities",),
        asset=("marts", "mart_bookings_monthly"),
    )


def mart_funnel(con) -> Suite | str:
    cols = table_columns(con, "marts.mart_funnel")
    if cols is None:
        return "table marts.mart_funnel does not exist"
    if "stage" not in cols or "reached_count" not in cols:
        return "marts.mart_funnel has no stage and reached_count columns"
    groups = [
        c
        for c, t in cols.items()
        if _is_dimension(t) and not t.upper().startswith("BOOLEAN") and not c.startswith("stage")
    ]
    order = (
        "CASE t.stage " + " ".join(f"WHEN {lit(s)} THEN {i}" for i, s in enumerate(FUNNEL_STAGES)) + " END"
    )
    partition = f"PARTITION BY {', '.join('t.' + ident(g) for g in groups)} " if groups else ""
    query = f"""
        SELECT {_key_expr(groups + ["stage"])} AS _record_key, {NO_SOURCE}, t.stage,
               CAST(t.reached_count AS DOUBLE) AS reached_count,
               CAST(lag(t.reached_count) OVER ({partition}ORDER BY {order}) AS DOUBLE) AS previous_stage_reached_count
        FROM marts.mart_funnel AS t
        WHERE t.stage IN ({", ".join(lit(s) for s in FUNNEL_STAGES)})"""
    ex = (
        Expect(
            "expect_column_pair_values_a_to_be_greater_than_b",
            "reached counts never rise along the stages",
            "reached_count",
            {
                "column_A": "previous_stage_reached_count",
                "column_B": "reached_count",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            BLOCKING,
            "funnel_rises",
            "rebuild the marts: a deal that reached a stage has reached every earlier stage",
        ),
    )
    return Suite(
        "marts.mart_funnel", "mart_funnel", "marts.mart_funnel", query, ex, asset=("marts", "mart_funnel")
    )


def mart_rep_performance(con) -> Suite | str:
    cols = table_columns(con, "marts.mart_rep_performance")
    if cols is None:
        return "table marts.mart_rep_performance does not exist"
    missing = [c for c in ("bookings_cny", "quota_cny", "attainment") if c not in cols]
    if missing:
        return f"marts.mart_rep_performance has no {', '.join(missing)}"
    keys = _key_columns(cols, ("user_id", "month"))
    b, q, a = "CAST(t.bookings_cny AS DOUBLE)", "CAST(t.quota_cny AS DOUBLE)", "CAST(t.attainment AS DOUBLE)"
    query = f"""
        SELECT {_key_expr(keys)} AS _record_key, {NO_SOURCE}, {b} AS bookings_cny, {q} AS quota_cny, {a} AS attainment,
               CASE WHEN coalesce({q}, 0) = 0 THEN CASE WHEN {a} IS NULL THEN 0 ELSE 1 END
                    ELSE coalesce(abs({a} - coalesce({b}, 0) / {q}) / greatest(abs(coalesce({b}, 0) / {q}), 1), 1)
               END AS attainment_error
        FROM marts.mart_rep_performance AS t"""
    ex = (
        Expect(
            "expect_column_values_to_be_between",
            "attainment = bookings ÷ quota",
            "attainment",
            {"column": "attainment_error", "max_value": RATIO_TOLERANCE},
            BLOCKING,
            "attainment_mismatch",
            "rebuild the marts: attainment must be bookings_cny ÷ quota_cny (empty without a quota)",
        ),
    )
    return Suite(
        "marts.mart_rep_performance",
        "mart_rep_performance",
        "marts.mart_rep_performance",
        query,
        ex,
        asset=("marts", "mart_rep_performance"),
    )


def mart_collections(con) -> Suite | str:
    cols = table_columns(con, "marts.mart_collections")
    if cols is None:
        return "table marts.mart_collections does not exist"
    if "invoiced_cny" not in cols or "collected_cny" not in cols:
        return "marts.mart_collections has no invoiced_cny and collected_cny columns"
    flag = next((c for c, t in cols.items() if "overpa" in c.lower() and t.upper() == "BOOLEAN"), None)
    keys = _key_columns({c: t for c, t in cols.items() if c != flag}, ("contract_id",))
    # same rate on both sides when the mart has it: a rate move between invoice and payment is no excess
    collected = (
        "collected_at_invoice_rate_cny" if "collected_at_invoice_rate_cny" in cols else "collected_cny"
    )
    excess = f"CAST(t.{collected} AS DOUBLE) - CAST(t.invoiced_cny AS DOUBLE)"
    over = f"CASE WHEN coalesce(t.{ident(flag)}, false) THEN 0 ELSE {excess} END" if flag else excess
    query = f"""
        SELECT {_key_expr(keys)} AS _record_key, {NO_SOURCE}, CAST(t.invoiced_cny AS DOUBLE) AS invoiced_cny,
               CAST(t.collected_cny AS DOUBLE) AS collected_cny, {over} AS unflagged_overcollected_cny,
               ({over}) / greatest(abs(CAST(t.invoiced_cny AS DOUBLE)), 1) AS unflagged_overcollected_share
        FROM marts.mart_collections AS t"""
    fix = "check the payments of this record with finance: more was collected than invoiced (or flag the overpayment)"
    ex = (
        Expect(
            "expect_column_values_to_be_between",
            "collected <= invoiced unless flagged as overpayment",
            "collected_cny",
            {"column": "unflagged_overcollected_cny", "max_value": MONEY_TOLERANCE},
            WARNING,
            "collected_exceeds_invoiced",
            fix,
        ),
        Expect(
            "expect_column_values_to_be_between",
            f"collected <= invoiced + {FX_TOLERANCE:.0%} unless flagged as overpayment",
            "collected_cny",
            {"column": "unflagged_overcollected_share", "max_value": FX_TOLERANCE},
            BLOCKING,
            "collected_exceeds_invoiced",
            fix,
        ),
    )
    return Suite(
        "marts.mart_collections",
        "mart_collections",
        "marts.mart_collections",
        query,
        ex,
        asset=("marts", "mart_collections"),
    )


def fct_pipeline_snapshots(con) -> Suite | str:
    for t in ("marts.fct_pipeline_snapshots", "marts.fct_opportunities"):
        if table_columns(con, t) is None:
            return f"table {t} does not exist"
    query = f"""
        WITH snap AS (
            SELECT snapshot_date, opportunity_id,
                   count(*) OVER (PARTITION BY snapshot_date, opportunity_id) = 1 AS _grain_unique,
                   count(*) OVER (PARTITION BY snapshot_date) AS snapshot_count,
                   EXISTS (SELECT 1 FROM marts.fct_opportunities AS o WHERE o.opportunity_id = s.opportunity_id)
                       AS _opportunity_known
            FROM marts.fct_pipeline_snapshots AS s
        ),
        dates AS (SELECT DISTINCT CAST(snapshot_date AS DATE) AS d FROM snap),
        open_deals AS (
            SELECT dates.d, count(o.opportunity_id) AS open_deal_count
            FROM dates LEFT JOIN marts.fct_opportunities AS o
              ON CAST(o.created_at AS DATE) <= dates.d
             AND (o.won_at IS NULL OR CAST(o.won_at AS DATE) > dates.d)
             AND (o.lost_at IS NULL OR CAST(o.lost_at AS DATE) > dates.d)
            GROUP BY dates.d
        )
        SELECT CAST(snap.snapshot_date AS VARCHAR) || '|' || CAST(snap.opportunity_id AS VARCHAR) AS _record_key,
               {NO_SOURCE}, snap._grain_unique, snap._opportunity_known,
               CAST(snap.snapshot_count AS BIGINT) AS snapshot_count,
               CAST(open_deals.open_deal_count AS BIGINT) AS open_deal_count
        FROM snap JOIN open_deals ON open_deals.d = CAST(snap.snapshot_date AS DATE)"""
    ex = (
        Expect(
            "expect_column_values_to_be_in_set",
            "one row per (snapshot_date, opportunity_id)",
            "snapshot_date,opportunity_id",
            {"column": "_grain_unique", "value_set": [True]},
            BLOCKING,
            "duplicate_key",
            "rebuild the marts: one snapshot row per deal and date",
        ),
        Expect(
            "expect_column_pair_values_to_be_equal",
            "snapshot count = deals open as of the date",
            "snapshot_date",
            {"column_A": "snapshot_count", "column_B": "open_deal_count"},
            BLOCKING,
            "snapshot_count_mismatch",
            "rebuild the marts: a snapshot holds exactly the deals open (created, not won or lost) as of its date",
        ),
        Expect(
            "expect_column_values_to_be_in_set",
            "no orphan facts: opportunity_id in marts.fct_opportunities",
            "opportunity_id",
            {"column": "_opportunity_known", "value_set": [True]},
            BLOCKING,
            "orphan_fk",
            "rebuild the marts: every snapshot row must reference a deal of fct_opportunities",
        ),
    )
    return Suite(
        "marts.fct_pipeline_snapshots",
        "fct_pipeline_snapshots",
        "marts.fct_pipeline_snapshots",
        query,
        ex,
        requires=("marts.fct_opportunities",),
        asset=("marts", "fct_pipeline_snapshots"),
    )


MART_SUITES: dict[str, Callable[[object], Suite | str]] = {
    "fct_opportunities": fct_opportunities,
    "mart_bookings_monthly": mart_bookings_monthly,
    "mart_funnel": mart_funnel,
    "mart_rep_performance": mart_rep_performance,
    "mart_collections": mart_collections,
    "fct_pipeline_snapshots": fct_pipeline_snapshots,
}
