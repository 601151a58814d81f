"""Test support: sign a user in for Streamlit's AppTest (which cannot type into a real login page quickly).

It does what the login form does on success (a session row in the auth database, the token in the
session's server-side state). Only tests import this module.
"""

from __future__ import annotations

from pathlib import Path

from dashboards.auth_store import AuthStore
from dashboards.session import TOKEN_KEY
from salescope.settings import Settings

TEST_PASSWORD = "correct-horse-battery"


def auth_store(home: Path) -> AuthStore:
    return AuthStore(Settings(home=Path(home)).auth_db_path)


def ensure_user(home: Path, username: str, role: str, crm_user_id: str | None = None) -> AuthStore:
    store = auth_store(home)
    if store.get_user(username) is None:
        store.add_user(username, TEST_PASSWORD, role, crm_user_id=crm_user_id)
    return store


def sign_in(at, home: Path, role: str, *, crm_user_id: str | None = None, username: str | None = None) -> str:
    """Create the user when absent, log in, and put the session token into ``at``; returns the token."""
    username = username or f"test_{role}"
    store = ensure_user(home, username, role, crm_user_id)
    result = store.login(username, TEST_PASSWORD)
    assert result.token, result.reason
    at.session_state[TOKEN_KEY] = result.token
    return result.token


APP = Path(__file__).resolve().parent / "app.py"
VIEWS = APP.parent / "views"


def open_page(
    home: Path,
    role: str,
    page: str,
    *,
    crm_user_id: str | None = None,
    params: dict | None = None,
    username: str | None = None,
    timeout: float = 60,
):
    """An AppTest of ``page`` (views/<page>.py) signed in as ``role`` with these URL parameters; it has run
    without an exception or an error message."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    sign_in(at, home, role, crm_user_id=crm_user_id, username=username or f"{role}_{crm_user_id or 'all'}")
    at.run()
    at.switch_page(str(VIEWS / f"{page}.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def metric_values(at) -> dict[str, str]:
    """label -> shown value of every st.metric of an AppTest."""
    return {m.label: m.value for m in at.metric}


# ---- a small serving snapshot with every table the pages read -------------------------------------------

AS_OF = "2026-06-30"
XSS = "<script>alert(1)</script>"
# user_id, name, role, team_id, team_name, region, manager_id
CRM_USERS = (
    ("E1", "总经理", "executive", None, None, None, None),
    ("M1", "李经理", "sales_manager", "T1", "华东一组", "east", "E1"),
    ("M2", "刘经理", "sales_manager", "T2", "华北一组", "north", "E1"),
    ("R1", "张伟", "sales_rep", "T1", "华东一组", "east", "M1"),
    ("R2", "王芳", "sales_rep", "T1", "华东一组", "east", "M1"),
    ("R3", "赵强", "sales_rep", "T2", "华北一组", "north", "M2"),
)
# account_id, name, owner
ACCOUNTS = (("A1", "华光制造", "R1"), ("A2", XSS, "R1"), ("A3", "北方能源", "R2"), ("A4", "京华物流", "R3"))
# id, account, owner, amount_cny, created, won_at, lost_at, stage (open deals), days in stage
DEALS = (
    ("D01", "A1", "R1", 1_200_000, "2026-01-10", "2026-03-05", None, None, None),
    ("D02", "A1", "R1", 600_000, "2026-02-01", None, "2026-04-10", None, None),
    ("D03", "A2", "R1", 3_500_000, "2026-03-15", "2026-05-20", None, None, None),
    ("D04", "A2", "R1", 2_500_000, "2026-04-01", None, None, "proposal", 40),
    ("D05", "A3", "R2", 2_000_000, "2026-02-11", "2026-06-11", None, None, None),
    ("D06", "A3", "R2", 800_000, "2026-05-02", None, None, "negotiation", 12),
    ("D07", "A4", "R3", 4_345_678, "2026-02-20", "2026-06-25", None, None, None),
    ("D08", "A4", "R3", 1_000_000, "2026-05-15", None, "2026-06-03", None, None),
    ("D09", "A4", "R3", 3_000_000, "2026-01-05", None, None, "needs_confirmed", 90),
    ("D10", "A1", "R1", 700_000, "2026-06-20", None, None, "initial_contact", 10),
)
QUARANTINED_RAW = '{"联系人":"王五","电话":"13812345678","email":"wang.wu@example.cn","amount":"abc"}'


def build_snapshot(
    path: Path, *, as_of: str = AS_OF, quality_status: str = "passed", deal_marts: bool = True
) -> None:
    """Write a small, coherent serving snapshot at ``path`` (atomic rename, as publish does).

    mart_bookings_monthly is computed here in SQL from the deals with METRICS.md's definitions, so pages
    can be checked against it."""
    import json
    import os

    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    for schema in ("marts", "meta", "ops", "quality"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        """CREATE TABLE marts.dim_users (user_id VARCHAR, name VARCHAR, role VARCHAR, team_id VARCHAR,
               team_name VARCHAR, region VARCHAR, manager_id VARCHAR, manager_name VARCHAR, is_active BOOLEAN,
               hire_date DATE)"""
    )
    names = {u[0]: u[1] for u in CRM_USERS}
    for u in CRM_USERS:
        con.execute(
            "INSERT INTO marts.dim_users VALUES (?, ?, ?, ?, ?, ?, ?, ?, TRUE, DATE '2024-01-01')",
            [*u, names.get(u[6])],
        )
    con.execute(
        """CREATE TABLE marts.dim_accounts (account_id VARCHAR, account_name VARCHAR, industry VARCHAR,
               region VARCHAR, city VARCHAR, size_band VARCHAR, owner_user_id VARCHAR, created_at TIMESTAMP,
               annual_revenue_cny DECIMAL(18,2), first_won_at TIMESTAMP, won_deal_count BIGINT, is_customer BOOLEAN)"""
    )
    team = {u[0]: (u[3], u[5]) for u in CRM_USERS}
    for aid, name, owner in ACCOUNTS:
        con.execute(
            "INSERT INTO marts.dim_accounts VALUES (?, ?, 'manufacturing', ?, '上海', 'mid', ?, "
            "TIMESTAMP '2025-01-01', 1e7, NULL, 0, FALSE)",
            [aid, name, team[owner][1], owner],
        )
    con.execute(
        """CREATE TABLE marts.fct_opportunities (opportunity_id VARCHAR, opportunity_name VARCHAR,
               account_id VARCHAR, owner_user_id VARCHAR, team_id VARCHAR, region VARCHAR, lead_source VARCHAR,
               industry VARCHAR, product_line VARCHAR, amount DECIMAL(18,2), currency VARCHAR,
               amount_cny DECIMAL(18,2), created_at TIMESTAMP, won_at TIMESTAMP, signed_at TIMESTAMP,
               lost_at TIMESTAMP, is_won BOOLEAN, is_lost BOOLEAN, is_closed BOOLEAN, is_open BOOLEAN,
               current_stage VARCHAR, days_in_current_stage INTEGER, cycle_days INTEGER, push_count INTEGER,
               regression_count INTEGER, expected_close_date DATE)"""
    )
    for oid, aid, owner, amount, created, won, lost, stage, days in DEALS:
        con.execute(
            """INSERT INTO marts.fct_opportunities VALUES (?, ?, ?, ?, ?, ?, 'website', 'manufacturing', 'erp',
                   ?, 'CNY', ?, ?::TIMESTAMP, ?::TIMESTAMP, NULL, ?::TIMESTAMP, ?, ?, ?, ?,
                   ?, ?, date_diff('day', ?::DATE, ?::DATE), 0, 0, DATE '2026-09-30')""",
            [
                oid,
                f"{oid} 项目",
                aid,
                owner,
                team[owner][0],
                team[owner][1],
                amount,
                amount,
                created,
                won,
                lost,
                won is not None,
                lost is not None,
                (won or lost) is not None,
                not (won or lost),
                stage or ("won" if won else "lost"),
                days,
                created,
                won,
            ],
        )
    con.execute(
        f"""CREATE TABLE marts.mart_bookings_monthly AS
            WITH spine AS (SELECT range::DATE AS month
                           FROM range(DATE '2025-07-01', DATE '{as_of}', INTERVAL 1 MONTH)),
            o AS (SELECT * FROM marts.fct_opportunities),
            m AS (
                SELECT s.month,
                   (SELECT sum(amount_cny) FROM o WHERE date_trunc('month', won_at) = s.month) AS bookings,
                   (SELECT count(*) FROM o WHERE date_trunc('month', won_at) = s.month) AS won_count,
                   (SELECT count(*) FROM o WHERE date_trunc('month', lost_at) = s.month) AS lost_count,
                   (SELECT avg(cycle_days) FROM o WHERE date_trunc('month', won_at) = s.month) AS cycle_days_mean,
                   (SELECT median(cycle_days) FROM o WHERE date_trunc('month', won_at) = s.month)
                       AS cycle_days_median,
                   (SELECT sum(amount_cny) FROM o WHERE created_at < s.month + INTERVAL 1 MONTH
                        AND (won_at IS NULL OR won_at >= s.month + INTERVAL 1 MONTH)
                        AND (lost_at IS NULL OR lost_at >= s.month + INTERVAL 1 MONTH)) AS open_pipeline,
                   (SELECT count(*) FROM o WHERE created_at < s.month + INTERVAL 1 MONTH
                        AND (won_at IS NULL OR won_at >= s.month + INTERVAL 1 MONTH)
                        AND (lost_at IS NULL OR lost_at >= s.month + INTERVAL 1 MONTH)) AS open_count
                FROM spine AS s)
            SELECT month, (month + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS period_end,
                   coalesce(bookings, 0)::DECIMAL(18,2) AS bookings_cny, won_count, lost_count,
                   CASE WHEN won_count + lost_count > 0 THEN won_count / (won_count + lost_count) END AS win_rate,
                   cycle_days_mean, cycle_days_median,
                   coalesce(open_pipeline, 0)::DECIMAL(18,2) AS open_pipeline_cny, open_count
            FROM m ORDER BY month"""
    )
    _performance_marts(con)
    if deal_marts:
        _deal_marts(con)
    con.execute(
        "CREATE TABLE meta.publish_log (published_at TIMESTAMP, run_id VARCHAR, as_of DATE, "
        "row_counts VARCHAR, quality_status VARCHAR)"
    )
    con.execute(
        "INSERT INTO meta.publish_log VALUES (TIMESTAMP '2026-07-01 02:00', 'run-test', ?, ?, ?)",
        [as_of, json.dumps({"marts.fct_opportunities": len(DEALS)}), quality_status],
    )
    con.execute(
        """CREATE TABLE quality.validation_results (run_id VARCHAR, suite VARCHAR, expectation VARCHAR,
               "column" VARCHAR, success BOOLEAN, unexpected_count BIGINT, unexpected_percent DOUBLE,
               severity VARCHAR, sample_keys VARCHAR, detail VARCHAR, validated_at TIMESTAMP)"""
    )
    con.execute(
        """INSERT INTO quality.validation_results VALUES
           ('run-test', 'ingestion', 'every file of the drop is readable', NULL, TRUE, 0, 0, 'blocking', '[]',
            'every file was read', TIMESTAMP '2026-07-01 01:00'),
           ('run-test', 'marts', 'amount_cny is positive', 'amount_cny', FALSE, 1, 10.0, 'warning', '["D09"]',
            '1 deal without amount', TIMESTAMP '2026-07-01 01:00')"""
    )
    con.execute(
        """CREATE TABLE quality.issues (entity VARCHAR, record_key VARCHAR, kind VARCHAR, severity VARCHAR,
               action VARCHAR, detail VARCHAR, source_file VARCHAR, source_row BIGINT, detected_at TIMESTAMP,
               run_id VARCHAR, column_name VARCHAR, load_id VARCHAR)"""
    )
    con.execute(
        "INSERT INTO quality.issues VALUES ('contacts', 'C9', 'unparseable_amount', 'error', 'quarantined', "
        "'abc is not an amount', 'contacts.csv', 7, TIMESTAMP '2026-07-01 01:00', 'run-test', 'amount', 'L1')"
    )
    con.execute(
        """CREATE TABLE ops.load_log (load_id VARCHAR, run_id VARCHAR, entity VARCHAR, file VARCHAR,
               sha256 VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, status VARCHAR,
               message VARCHAR, loaded_at TIMESTAMP)"""
    )
    con.execute(
        "INSERT INTO ops.load_log VALUES ('L1', 'run-test', 'contacts', 'contacts.csv', 'x', 10, 9, 1, "
        "'loaded', '9 of 10 rows loaded', TIMESTAMP '2026-07-01 01:00')"
    )
    con.execute(
        """CREATE TABLE ops.quarantine (load_id VARCHAR, run_id VARCHAR, entity VARCHAR, source_file VARCHAR,
               source_row BIGINT, record_key VARCHAR, kind VARCHAR, column_name VARCHAR, reason VARCHAR,
               raw_record VARCHAR, quarantined_at TIMESTAMP)"""
    )
    con.execute(
        "INSERT INTO ops.quarantine VALUES ('L1', 'run-test', 'contacts', 'contacts.csv', 7, 'C9', "
        "'unparseable_amount', 'amount', 'abc is not an amount: write digits, e.g. 120万', ?, "
        "TIMESTAMP '2026-07-01 01:00')",
        [QUARANTINED_RAW],
    )
    con.close()
    os.replace(tmp, path)


CONTACTS = (  # contact_id, account, name, phone, email, wechat
    ("C1", "A2", "陈总", "13900001111", "chen@huaguang.cn", "wx_chen"),
    ("C2", "A4", "周工", "13700002222", "zhou@jinghua.cn", "wx_zhou"),
)


def _performance_figures(group_match: str) -> str:
    """Per group (``g.group_id``) and month of the spine: the figures of mart_bookings_monthly over the deals
    that ``group_match`` (a condition on ``o`` and ``g``) gives the group, by the same definitions."""
    won = "date_trunc('month', o.won_at) = m.month"
    opened = (
        "o.created_at < m.month + INTERVAL 1 MONTH AND (o.won_at IS NULL OR o.won_at >= m.month + INTERVAL 1 "
        "MONTH) AND (o.lost_at IS NULL OR o.lost_at >= m.month + INTERVAL 1 MONTH)"
    )
    return f"""
        SELECT g.*, m.month,
               coalesce(sum(o.amount_cny) FILTER (WHERE {won}), 0)::DOUBLE AS bookings_cny,
               count(o.opportunity_id) FILTER (WHERE {won}) AS won_count,
               count(o.opportunity_id) FILTER (WHERE date_trunc('month', o.lost_at) = m.month) AS lost_count,
               avg(o.cycle_days) FILTER (WHERE {won}) AS cycle_days_mean,
               median(o.cycle_days) FILTER (WHERE {won}) AS cycle_days_median,
               coalesce(sum(o.amount_cny) FILTER (WHERE {opened}), 0)::DOUBLE AS open_pipeline_cny,
               count(o.opportunity_id) FILTER (WHERE {opened}) AS open_count
        FROM groups AS g
        CROSS JOIN (SELECT month FROM marts.mart_bookings_monthly) AS m
        LEFT JOIN marts.fct_opportunities AS o ON {group_match}
        GROUP BY ALL"""


def _performance_marts(con) -> None:
    """mart_rep_performance (per rep) and mart_sales_performance_rollup (per team, region, company), month by
    month, with the figures of mart_bookings_monthly per group; quotas are 1,000,000 a rep and month."""
    win_rate = "CASE WHEN won_count + lost_count > 0 THEN won_count / (won_count + lost_count) END"
    con.execute(
        f"""CREATE TABLE marts.mart_rep_performance AS
            WITH groups AS (SELECT user_id, name AS user_name, role, team_id, region
                            FROM marts.dim_users WHERE role = 'sales_rep'),
            f AS ({_performance_figures("o.owner_user_id = g.user_id")})
            SELECT user_id, user_name, role, team_id, region, month, bookings_cny, 1000000.0 AS quota_cny,
                   bookings_cny / 1000000.0 AS attainment, won_count, lost_count, {win_rate} AS win_rate,
                   NULL::DOUBLE AS avg_deal_size_cny, cycle_days_mean, cycle_days_median, open_pipeline_cny,
                   open_count, 0 AS touchpoints
            FROM f"""
    )
    con.execute(
        f"""CREATE TABLE marts.mart_sales_performance_rollup AS
            WITH groups AS (SELECT DISTINCT 'team' AS level, team_id AS group_id FROM marts.fct_opportunities
                            UNION SELECT DISTINCT 'region', region FROM marts.fct_opportunities
                            UNION SELECT 'company', 'all'),
            f AS ({
            _performance_figures(
                "CASE g.level WHEN 'team' THEN o.team_id = g.group_id WHEN 'region' THEN o.region = g.group_id "
                "ELSE TRUE END"
            )
        })
            SELECT level, group_id, month, bookings_cny, won_count, lost_count, {win_rate} AS win_rate,
                   cycle_days_mean, cycle_days_median, open_pipeline_cny, open_count
            FROM f"""
    )


def _deal_marts(con) -> None:
    """mart_deal_risk, fct_stage_transitions, fct_touchpoints, mart_collections, ml.*, dim_contacts: only the
    columns pages read."""
    con.execute(
        """CREATE TABLE marts.mart_deal_risk AS
           SELECT opportunity_id, opportunity_name, account_id, owner_user_id, team_id, region, current_stage,
                  amount_cny, expected_close_date, days_in_current_stage, 30.0 AS stage_p75_days,
                  days_in_current_stage - 30.0 AS days_over_stage_p75,
                  CASE WHEN opportunity_id = 'D09' THEN 20 ELSE 3 END AS days_since_last_touch,
                  2 AS touchpoints_30d, push_count,
                  days_in_current_stage > 30 OR opportunity_id = 'D09' AS is_stalled,
                  CASE WHEN opportunity_id = 'D09' THEN 'stage_overdue;no_touch_14d'
                       WHEN days_in_current_stage > 30 THEN 'stage_overdue' ELSE '' END AS stall_reasons,
                  CASE WHEN opportunity_id = 'D09' THEN 'stage_overdue;no_touch_14d;'
                       WHEN days_in_current_stage > 30 THEN 'stage_overdue;' ELSE '' END AS risk_reasons
           FROM marts.fct_opportunities WHERE is_open"""
    )
    con.execute(
        """CREATE TABLE marts.fct_stage_transitions AS
           SELECT opportunity_id, 1 AS entry_number, 'initial_contact' AS stage, created_at AS entered_at,
                  created_at + INTERVAL 5 DAY AS exited_at, 5 AS days_in_stage, current_stage AS next_stage,
                  FALSE AS is_regression, FALSE AS is_skip
           FROM marts.fct_opportunities"""
    )
    con.execute(
        """CREATE TABLE marts.fct_touchpoints AS
           SELECT 'TP-' || opportunity_id AS touchpoint_id, 'activity' AS touchpoint_type, 'visit' AS channel,
                  created_at + INTERVAL 2 DAY AS occurred_at, account_id, opportunity_id, owner_user_id AS user_id,
                  'outbound' AS direction, 60 AS duration_minutes, '首次拜访' AS subject
           FROM marts.fct_opportunities"""
    )
    con.execute(
        """CREATE TABLE marts.mart_collections AS
           SELECT 'K-' || opportunity_id AS contract_id, opportunity_id, account_id, won_at::DATE AS signed_date,
                  'active' AS contract_status, amount_cny AS contract_value_cny, amount_cny / 2 AS invoiced_cny,
                  amount_cny / 4 AS collected_cny, 0.5 AS billed_pct, 0.25 AS collected_pct,
                  amount_cny / 4 AS receivables_cny, 0 AS ar_current, 0 AS ar_1_30, 0 AS ar_31_60, 0 AS ar_61_90,
                  amount_cny / 4 AS ar_over_90
           FROM marts.fct_opportunities WHERE is_won"""
    )
    con.execute("CREATE SCHEMA ml")
    con.execute(
        """CREATE TABLE ml.deal_scores AS
           SELECT opportunity_id, DATE '2026-06-30' AS as_of, 0.25 AS win_probability, 25 AS score,
                  '{"positive": [{"code": "touch_volume", "zh": "近 30 天跟进 5 次", "en": "5 touchpoints in 30 days"}],
                    "negative": [{"code": "days_in_stage", "zh": "在当前阶段已停留 90 天", "en": "90 days in the current stage"}]}'
                      AS reasons, 'v-test' AS model_version
           FROM marts.fct_opportunities WHERE is_open"""
    )
    con.execute(
        """CREATE TABLE ml.next_actions AS
           SELECT opportunity_id, 1 AS rank, 'agree_next_step' AS action_code, '与客户约定下一步' AS action_zh,
                  'agree the next step' AS action_en, 'stalled' AS evidence, DATE '2026-06-30' AS as_of
           FROM marts.fct_opportunities WHERE is_open"""
    )
    con.execute("""CREATE TABLE marts.dim_contacts (contact_id VARCHAR, account_id VARCHAR, contact_name VARCHAR,
                   title VARCHAR, is_decision_maker BOOLEAN, phone VARCHAR, email VARCHAR, wechat_id VARCHAR)""")
    for c in CONTACTS:
        con.execute("INSERT INTO marts.dim_contacts VALUES (?, ?, ?, '总经理', TRUE, ?, ?, ?)", list(c))


# one dashboard user per role, linked to the snapshot's CRM users
ROLE_USERS = {
    "sales_rep": ("rep1", "R1"),
    "sales_manager": ("mgr1", "M1"),
    "finance": ("fin", None),
    "executive": ("exec", None),
    "data_steward": ("steward", None),
    "admin": ("admin", None),
}


def add_role_users(home: Path) -> dict[str, str]:
    """The users of ROLE_USERS (password TEST_PASSWORD); returns role -> user name."""
    for role, (username, crm) in ROLE_USERS.items():
        ensure_user(home, username, role, crm)
    return {role: u for role, (u, _crm) in ROLE_USERS.items()}
