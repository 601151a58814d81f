"""Build the ML inputs straight from a clean generated drop (CSV), for tests and the bench.

Writes ``marts.fct_opportunities`` (the columns ML reads) and ``marts.fct_pipeline_snapshots`` (the
interface of the dbt model: one row per Sunday and per opportunity open on that day, plus the as-of date)
into the connection given. The pipeline itself reads the dbt marts; this is an independent, compact
re-implementation so the ML library can be tested and benchmarked without running dbt.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

STAGE_ORDER_SQL = """CASE {c} WHEN 'initial_contact' THEN 1 WHEN 'needs_confirmed' THEN 2 WHEN 'proposal' THEN 3
    WHEN 'negotiation' THEN 4 WHEN 'won' THEN 5 WHEN 'contract_signed' THEN 6 END"""


def build_reference_marts(con, drop: Path, as_of: date) -> None:
    drop = Path(drop)

    def csv(name: str) -> str:
        return f"read_csv('{(drop / (name + '.csv')).as_posix()}', header=true, all_varchar=true)"

    con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS ref")
    con.execute("SET VARIABLE as_of = ?::DATE", [as_of])
    con.execute(f"""
        CREATE OR REPLACE TABLE ref.opp AS SELECT opportunity_id, account_id, owner_user_id, lead_source, product_line,
            amount::DOUBLE AS amount, currency, created_at::TIMESTAMP AS created_at, expected_close_date::DATE AS ecd
        FROM {csv("opportunities")} WHERE created_at::TIMESTAMP::DATE <= getvariable('as_of');
        CREATE OR REPLACE TABLE ref.hist AS SELECT opportunity_id, changed_at::TIMESTAMP AS changed_at,
            changed_at::TIMESTAMP::DATE AS d, field, from_stage, to_stage, old_value, new_value
        FROM {csv("opportunity_history")} WHERE changed_at::TIMESTAMP::DATE <= getvariable('as_of');
        CREATE OR REPLACE TABLE ref.acts AS SELECT a.opportunity_id, a.channel, a.occurred_at::TIMESTAMP::DATE AS d,
            coalesce(c.is_decision_maker = 'true', false) AS dm
        FROM {csv("activities")} a LEFT JOIN {csv("contacts")} c USING (contact_id)
        WHERE a.opportunity_id IS NOT NULL AND a.occurred_at::TIMESTAMP::DATE <= getvariable('as_of');
        CREATE OR REPLACE TABLE ref.docs AS SELECT opportunity_id, min(uploaded_at::TIMESTAMP::DATE) AS d
        FROM {csv("documents")} WHERE doc_type = 'proposal' AND opportunity_id IS NOT NULL GROUP BY 1;
        CREATE OR REPLACE TABLE ref.fx AS SELECT rate_date::DATE AS rate_date, currency, rate_to_cny::DOUBLE AS rate
        FROM {csv("fx_rates")};
        CREATE OR REPLACE TABLE ref.users AS SELECT * FROM {csv("users")};
        CREATE OR REPLACE TABLE ref.accounts AS SELECT * FROM {csv("accounts")};
    """)
    con.execute("""
        CREATE OR REPLACE TABLE marts.fct_opportunities AS
        WITH m AS (
            SELECT opportunity_id,
                min(CASE WHEN to_stage IN ('won', 'contract_signed') THEN changed_at END) AS won_at,
                min(CASE WHEN to_stage = 'lost' THEN changed_at END) AS lost_any,
                arg_max(to_stage, changed_at) AS current_stage
            FROM ref.hist WHERE field = 'stage' GROUP BY 1)
        SELECT o.opportunity_id, o.account_id, o.owner_user_id, u.team_id, u.region, o.lead_source,
            a.industry, o.product_line, o.created_at, m.won_at,
            CASE WHEN m.won_at IS NULL THEN m.lost_any END AS lost_at,
            m.won_at IS NOT NULL AS is_won, (m.won_at IS NOT NULL OR m.lost_any IS NOT NULL) AS is_closed,
            coalesce(m.current_stage, 'initial_contact') AS current_stage,
            round(o.amount * coalesce(fx.rate, 1), 2)::DECIMAL(18, 2) AS amount_cny
        FROM ref.opp o LEFT JOIN m USING (opportunity_id)
        LEFT JOIN ref.users u ON u.user_id = o.owner_user_id
        LEFT JOIN ref.accounts a ON a.account_id = o.account_id
        LEFT JOIN ref.fx fx ON fx.currency = o.currency
            AND fx.rate_date = coalesce(m.won_at, o.created_at)::DATE
    """)
    order_from = STAGE_ORDER_SQL.format(c="from_stage")
    order_to = STAGE_ORDER_SQL.format(c="to_stage")
    con.execute(f"""
        CREATE OR REPLACE TABLE marts.fct_pipeline_snapshots AS
        WITH dates AS (
            SELECT DISTINCT d::DATE AS snapshot_date FROM (
                SELECT unnest(generate_series(
                    (SELECT min(created_at)::DATE FROM ref.opp) + ((7 - dayofweek((SELECT min(created_at)::DATE FROM ref.opp))) % 7)::INTEGER,
                    getvariable('as_of'), INTERVAL 7 DAY)) AS d
                UNION ALL SELECT getvariable('as_of'))),
        base AS (
            SELECT d.snapshot_date, f.* FROM dates d JOIN marts.fct_opportunities f
              ON f.created_at::DATE <= d.snapshot_date
             AND (coalesce(f.won_at, f.lost_at) IS NULL OR coalesce(f.won_at, f.lost_at)::DATE > d.snapshot_date)),
        st AS (SELECT opportunity_id, d, changed_at, to_stage,
                  sum(CASE WHEN {order_to} < {order_from} THEN 1 ELSE 0 END)
                      OVER (PARTITION BY opportunity_id ORDER BY changed_at ROWS UNBOUNDED PRECEDING) AS regressions
               FROM ref.hist WHERE field = 'stage'),
        am AS (SELECT opportunity_id, d, changed_at, new_value::DOUBLE AS amount_after,
                  row_number() OVER (PARTITION BY opportunity_id ORDER BY changed_at) AS n_changes
               FROM ref.hist WHERE field = 'amount'),
        am_first AS (SELECT opportunity_id, arg_min(old_value::DOUBLE, changed_at) AS first_old FROM ref.hist
                     WHERE field = 'amount' GROUP BY 1),
        ec AS (SELECT opportunity_id, d, changed_at, new_value::DATE AS ecd_after,
                  sum(CASE WHEN new_value::DATE > old_value::DATE THEN 1 ELSE 0 END)
                      OVER (PARTITION BY opportunity_id ORDER BY changed_at ROWS UNBOUNDED PRECEDING) AS pushes
               FROM ref.hist WHERE field = 'expected_close_date'),
        ec_first AS (SELECT opportunity_id, arg_min(old_value::DATE, changed_at) AS first_old FROM ref.hist
                     WHERE field = 'expected_close_date' GROUP BY 1),
        touch AS (
            SELECT b.snapshot_date, b.opportunity_id,
                count(*) FILTER (WHERE a.d > b.snapshot_date - 7) AS touchpoints_7d,
                count(*) AS touchpoints_30d,
                count(*) FILTER (WHERE a.channel = 'wechat') AS tp30_wechat,
                count(*) FILTER (WHERE a.channel = 'phone') AS tp30_phone,
                count(*) FILTER (WHERE a.channel = 'email') AS tp30_email,
                count(*) FILTER (WHERE a.channel = 'social') AS tp30_social,
                count(*) FILTER (WHERE a.channel = 'visit') AS tp30_visit,
                count(*) FILTER (WHERE a.channel = 'meeting') AS tp30_meeting,
                count(*) FILTER (WHERE a.channel = 'demo') AS tp30_demo
            FROM base b JOIN ref.acts a ON a.opportunity_id = b.opportunity_id
             AND a.d > b.snapshot_date - 30 AND a.d <= b.snapshot_date
            GROUP BY 1, 2),
        ever AS (
            SELECT b.snapshot_date, b.opportunity_id, max(a.d) AS last_touch,
                bool_or(a.dm) AS has_dm, bool_or(a.channel = 'visit') AS has_visit, bool_or(a.channel = 'demo') AS has_demo
            FROM base b JOIN ref.acts a ON a.opportunity_id = b.opportunity_id AND a.d <= b.snapshot_date
            GROUP BY 1, 2)
        SELECT b.snapshot_date, b.opportunity_id, b.account_id, b.owner_user_id, b.team_id, b.region, b.lead_source,
            b.industry, b.product_line, coalesce(st.to_stage, 'initial_contact') AS stage,
            (b.snapshot_date - coalesce(st.d, b.created_at::DATE))::INTEGER AS days_in_stage,
            (b.snapshot_date - b.created_at::DATE)::INTEGER AS deal_age_days,
            round(coalesce(am.amount_after, am_first.first_old, o.amount) * (b.amount_cny / nullif(o.amount, 0)), 2)::DECIMAL(18, 2) AS amount_cny,
            coalesce(am.n_changes, 0)::INTEGER AS amount_change_count,
            coalesce(ec.ecd_after, ec_first.first_old, o.ecd) AS expected_close_date,
            (coalesce(ec.ecd_after, ec_first.first_old, o.ecd) - b.snapshot_date)::INTEGER AS days_to_expected_close,
            coalesce(ec.pushes, 0)::INTEGER AS push_count,
            coalesce(st.regressions, 0)::INTEGER AS regression_count,
            coalesce(t.touchpoints_7d, 0)::INTEGER AS touchpoints_7d, coalesce(t.touchpoints_30d, 0)::INTEGER AS touchpoints_30d,
            coalesce(t.tp30_wechat, 0)::INTEGER AS tp30_wechat, coalesce(t.tp30_phone, 0)::INTEGER AS tp30_phone,
            coalesce(t.tp30_email, 0)::INTEGER AS tp30_email, coalesce(t.tp30_social, 0)::INTEGER AS tp30_social,
            coalesce(t.tp30_visit, 0)::INTEGER AS tp30_visit, coalesce(t.tp30_meeting, 0)::INTEGER AS tp30_meeting,
            coalesce(t.tp30_demo, 0)::INTEGER AS tp30_demo,
            (b.snapshot_date - e.last_touch)::INTEGER AS days_since_last_touch,
            coalesce(e.has_dm, false) AS has_decision_maker_contact, coalesce(e.has_visit, false) AS has_visit,
            coalesce(e.has_demo, false) AS has_demo, coalesce(dc.d <= b.snapshot_date, false) AS has_proposal_doc
        FROM base b
        JOIN ref.opp o USING (opportunity_id)
        ASOF LEFT JOIN st ON st.opportunity_id = b.opportunity_id AND (b.snapshot_date + 1)::TIMESTAMP > st.changed_at
        ASOF LEFT JOIN am ON am.opportunity_id = b.opportunity_id AND (b.snapshot_date + 1)::TIMESTAMP > am.changed_at
        LEFT JOIN am_first ON am_first.opportunity_id = b.opportunity_id
        ASOF LEFT JOIN ec ON ec.opportunity_id = b.opportunity_id AND (b.snapshot_date + 1)::TIMESTAMP > ec.changed_at
        LEFT JOIN ec_first ON ec_first.opportunity_id = b.opportunity_id
        LEFT JOIN touch t ON t.opportunity_id = b.opportunity_id AND t.snapshot_date = b.snapshot_date
        LEFT JOIN ever e ON e.opportunity_id = b.opportunity_id AND e.snapshot_date = b.snapshot_date
        LEFT JOIN ref.docs dc ON dc.opportunity_id = b.opportunity_id
    """)
