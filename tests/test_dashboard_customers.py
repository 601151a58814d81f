"""Customers page and account 360 (AppTest on the pipeline-built snapshot, scale 0.05).

Every figure on the page is checked against an independent computation from the facts (won deals in
fct_opportunities, accounts' owners in dim_accounts, ml.customer_ltv), not against the customer marts the
page reads; the scope of each role (executive: all, manager: their team's accounts, rep: their own) and
PII masking are checked on the page and in the query layer.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import customer_queries as cq
from dashboards import db, testing
from dashboards import formatting as fmt
from dashboards.i18n import STRINGS, t
from dashboards.queries import DealFilter
from dashboards.scope import scope_for
from dashboards.testing import XSS

ZH, EN = STRINGS["zh"], STRINGS["en"]


@dataclass(frozen=True)
class Users:
    rep: str  # CRM user id of the rep with the most customers
    manager: str  # CRM user id of that rep's manager
    other_rep: str  # a rep outside the manager's team
    own_account: str  # the rep's customer with the most won deals
    other_account: str  # an account of other_rep


@pytest.fixture(scope="module")
def home(pipeline_copy) -> Path:
    return pipeline_copy


@pytest.fixture(scope="module")
def con(home):
    c = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def users(con) -> Users:
    rep, team = con.execute("""
        SELECT a.owner_user_id, u.team_id
        FROM marts.dim_accounts AS a JOIN marts.dim_users AS u ON u.user_id = a.owner_user_id
        WHERE u.role = 'sales_rep' AND a.account_id IN (SELECT account_id FROM marts.fct_opportunities
                                                         WHERE won_at IS NOT NULL)
        GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1""").fetchone()
    manager = con.execute(
        "SELECT user_id FROM marts.dim_users WHERE role = 'sales_manager' AND team_id = ? "
        "ORDER BY user_id LIMIT 1",
        [team],
    ).fetchone()[0]
    other_rep, other_account = con.execute(
        """
        SELECT a.owner_user_id, a.account_id FROM marts.dim_accounts AS a
        JOIN marts.dim_users AS u ON u.user_id = a.owner_user_id
        WHERE u.role = 'sales_rep' AND u.team_id <> ? ORDER BY a.account_id LIMIT 1""",
        [team],
    ).fetchone()
    own_account = con.execute(
        """
        SELECT a.account_id FROM marts.dim_accounts AS a
        JOIN marts.fct_opportunities AS o ON o.account_id = a.account_id AND o.owner_user_id = a.owner_user_id
        JOIN marts.dim_contacts AS c ON c.account_id = a.account_id
        WHERE a.owner_user_id = ? AND c.phone IS NOT NULL
        GROUP BY 1 ORDER BY count(DISTINCT o.opportunity_id) DESC, 1 LIMIT 1""",
        [rep],
    ).fetchone()[0]
    return Users(rep, manager, other_rep, own_account, other_account)


def owners(con, role: str, crm: str | None) -> tuple[str, list]:
    """An independent owner predicate over dim_accounts AS a for the role (DESIGN.md access table)."""
    if role == "sales_rep":
        return "a.owner_user_id = ?", [crm]
    if role == "sales_manager":
        return (
            "a.owner_user_id IN (SELECT user_id FROM marts.dim_users WHERE team_id = "
            "(SELECT team_id FROM marts.dim_users WHERE user_id = ?))",
            [crm],
        )
    return "TRUE", []


def expected_kpis(con, role: str, crm: str | None, lang: str = "zh") -> dict[str, str]:
    """The cards (label -> shown value), computed from won deals and the ML table (METRICS.md)."""
    where, params = owners(con, role, crm)
    as_of = con.execute("SELECT max(as_of) FROM meta.publish_log").fetchone()[0]
    customers, repurchase = con.execute(
        f"""
        WITH won AS (
            SELECT o.account_id, o.won_at::DATE AS d,
                   row_number() OVER (PARTITION BY o.account_id ORDER BY o.won_at, o.opportunity_id) AS n
            FROM marts.fct_opportunities AS o JOIN marts.dim_accounts AS a ON a.account_id = o.account_id
            WHERE o.won_at IS NOT NULL AND o.won_at::DATE <= ? AND {where}),
        f AS (SELECT account_id, min(d) FILTER (WHERE n = 1) AS d1, min(d) FILTER (WHERE n = 2) AS d2
              FROM won GROUP BY 1)
        SELECT count(*), avg(CASE WHEN d2 IS NOT NULL AND d2 <= d1 + INTERVAL 12 MONTH THEN 1.0 ELSE 0.0 END)
                             FILTER (WHERE d1 + INTERVAL 12 MONTH <= ?)
        FROM f""",
        [as_of, *params, as_of],
    ).fetchone()
    ltv, at_risk = con.execute(
        f"""
        SELECT sum(l.predicted_ltv_12m_cny), count(*) FILTER (WHERE l.lifecycle = 'at_risk')
        FROM ml.customer_ltv AS l JOIN marts.dim_accounts AS a ON a.account_id = l.account_id
        WHERE {where}""",
        params,
    ).fetchone()
    values = {
        "customers": f"{customers:,.0f}",
        "repurchase": fmt.percent(repurchase),
        "ltv": fmt.money(float(ltv), lang),
        "at_risk": f"{at_risk:,.0f}",
    }
    return {t(f"cust.kpi.{k}", lang): v for k, v in values.items()}


def expected_nrr(con) -> float:
    """12-month NRR of the latest first-purchase cohort with 24 complete months, from won deals."""
    as_of = con.execute("SELECT max(as_of) FROM meta.publish_log").fetchone()[0]
    return con.execute(
        """
        WITH w AS (SELECT account_id, won_at::DATE AS d, amount_cny FROM marts.fct_opportunities
                   WHERE won_at IS NOT NULL AND won_at::DATE <= ?),
        c AS (SELECT account_id, date_trunc('month', min(d)) AS cm FROM w GROUP BY 1),
        r AS (SELECT c.cm, date_diff('month', c.cm, date_trunc('month', w.d)) AS k, sum(w.amount_cny) AS rev
              FROM w JOIN c USING (account_id) GROUP BY ALL)
        SELECT sum(rev) FILTER (WHERE k BETWEEN 12 AND 23) / sum(rev) FILTER (WHERE k BETWEEN 0 AND 11)
        FROM r WHERE cm + INTERVAL 24 MONTH <= ?::DATE + INTERVAL 1 DAY
        GROUP BY cm ORDER BY cm DESC LIMIT 1""",
        [as_of, as_of],
    ).fetchone()[0]


def open_page(home: Path, role: str, crm: str | None, params: dict | None = None) -> AppTest:
    return testing.open_page(
        home, role, "customers", crm_user_id=crm, params=params, username=f"cust_{role}_{crm}"
    )


def texts(at: AppTest) -> str:
    return " ".join(
        str(e.value)
        for kind in ("markdown", "caption", "error", "warning", "info", "title", "subheader")
        for e in at.get(kind)
    )


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart_types(at: AppTest) -> list[str]:
    return [
        trace.get("type", "") for c in at.get("plotly_chart") for trace in json.loads(c.proto.spec)["data"]
    ]


def frame_with(at: AppTest, column: str, *, last: bool = False):
    """The first (or last) table with this column: the at-risk table comes before the account list."""
    frames = [df.value for df in at.dataframe if column in df.value.columns]
    return frames[-1] if last else frames[0]


# ---- the overview, per role ------------------------------------------------------------------------------


def test_executive_sees_company_figures_heatmap_and_nrr(home, con):
    at = open_page(home, "executive", None)
    m = metrics(at)
    for k, v in expected_kpis(con, "executive", None).items():
        assert m[k] == v, k
    assert m["净收入留存"] == fmt.percent(expected_nrr(con))
    assert "heatmap" in chart_types(at)
    assert "客户群留存" in texts(at) and "各细分的 NPS" in texts(at)
    nps = frame_with(at, "年度 NPS")
    year_all = con.execute("""SELECT nps FROM marts.mart_nps WHERE period_type = 'year' AND segment_type = 'all'
                              ORDER BY period_start DESC LIMIT 1""").fetchone()[0]
    assert nps.iloc[0]["细分"] == "全部客户" and nps.iloc[0]["年度 NPS"] == pytest.approx(year_all)
    risk = frame_with(at, "存活概率")
    assert len(risk) == min(200, int(m["流失风险客户"].replace(",", "")))
    total = con.execute("SELECT count(*) FROM marts.dim_accounts").fetchone()[0]
    assert f"{total:,} 个客户账户" in texts(at)


@pytest.mark.parametrize("role", ["sales_manager", "sales_rep"])
def test_manager_and_rep_see_their_accounts_and_no_company_figures(home, con, users, role):
    crm = users.manager if role == "sales_manager" else users.rep
    at = open_page(home, role, crm)
    m = metrics(at)
    for k, v in expected_kpis(con, role, crm).items():
        assert m[k] == v, (role, k)
    assert "净收入留存" not in m
    assert "heatmap" not in chart_types(at)
    assert "只对管理层显示" in texts(at) and "各细分的 NPS" not in texts(at)
    where, params = owners(con, role, crm)
    allowed = {
        r[0]
        for r in con.execute(
            f"SELECT a.account_id FROM marts.dim_accounts AS a WHERE {where}", params
        ).fetchall()
    }
    shown = set(frame_with(at, "客户编号", last=True)["客户编号"])
    assert shown and shown <= allowed and len(shown) == min(len(allowed), 2_000)


def test_english_labels_and_a_rep_filter_narrows(home, con, users):
    at = open_page(home, "executive", None, {"lang": "en", "rep": users.rep})
    assert at.title[0].value == "Customers"
    m = metrics(at)
    expected = expected_kpis(con, "sales_rep", users.rep, "en")
    assert set(expected) == {"Customers", "Repurchase rate", "Predicted LTV (12 m)", "Customers at risk"}
    for k, v in expected.items():
        assert m[k] == v, k
    assert "NRR (12 m)" in m  # company level, whatever the filter
    assert {"Tiers and lifecycle", "Cohort retention and net revenue retention", "Accounts"} <= {
        s.value for s in at.subheader
    }
    assert "Account id" in frame_with(at, "Account id").columns


# ---- account 360 -----------------------------------------------------------------------------------------


def test_rep_opens_own_account_360(home, con, users):
    acc = users.own_account
    at = open_page(home, "sales_rep", users.rep, {"account": acc})
    assert not at.warning
    name = con.execute("SELECT account_name FROM marts.dim_accounts WHERE account_id = ?", [acc]).fetchone()[
        0
    ]
    assert fmt.plain(name) in texts(at)
    deals = con.execute(
        "SELECT count(*) FROM marts.fct_opportunities WHERE account_id = ? AND owner_user_id = ?",
        [acc, users.rep],
    ).fetchone()[0]
    assert f"你能看到的商机共 {deals} 个" in texts(at) and len(frame_with(at, "阶段")) == deals
    contacts = con.execute(
        "SELECT contact_name, phone FROM marts.dim_contacts WHERE account_id = ?", [acc]
    ).fetchall()
    shown = frame_with(at, "电话")
    assert sorted(zip(shown["联系人"], shown["电话"], strict=True), key=str) == sorted(
        contacts, key=str
    )  # in clear
    touches = con.execute(
        "SELECT count(*) FROM marts.fct_touchpoints WHERE account_id = ?", [acc]
    ).fetchone()[0]
    assert f"共 {touches:,} 个触点" in texts(at) and len(frame_with(at, "渠道")) == min(touches, 200)
    frequency = con.execute(
        "SELECT count(*) FROM marts.fct_opportunities WHERE account_id = ? AND won_at IS NOT NULL", [acc]
    ).fetchone()[0]
    assert metrics(at)["购买次数"] == f"{frequency:,}"
    tables = cq.available_tables(db.current_snapshot(home / "serving" / "serving.duckdb"))
    if cq.INVOICES in tables:
        invoices, amount = con.execute(
            """
            SELECT count(*), sum(i.amount_cny) FROM marts.fct_invoices AS i
            JOIN marts.fct_opportunities AS o ON o.opportunity_id = i.opportunity_id
            WHERE i.account_id = ? AND o.owner_user_id = ?""",
            [acc, users.rep],
        ).fetchone()
        assert invoices == 0 or (
            len(frame_with(at, "发票号")) == invoices
            and metrics(at)["开票合计"] == fmt.money(float(amount), "zh")
        )
    else:  # the mart has not landed in this snapshot: that section says so, the rest of the page works
        assert "marts.fct_invoices" in texts(at)
    if cq.NPS_RESPONSES in tables:
        answers = con.execute(
            "SELECT count(*) FROM marts.fct_nps_responses WHERE account_id = ?", [acc]
        ).fetchone()[0]
        assert answers == 0 or len(frame_with(at, "评语")) == answers
    else:
        assert "marts.fct_nps_responses" in texts(at)


def test_rep_cannot_open_another_reps_account(home, con, users):
    at = open_page(home, "sales_rep", users.rep, {"account": users.other_account})
    assert "没有找到这个客户" in at.warning[0].value
    name = con.execute(
        "SELECT account_name FROM marts.dim_accounts WHERE account_id = ?", [users.other_account]
    ).fetchone()[0]
    assert fmt.plain(name) not in texts(at) and not at.metric and not at.dataframe
    snap = db.current_snapshot(home / "serving" / "serving.duckdb")
    for scope in (scope_for("sales_rep", users.rep), scope_for("sales_manager", users.manager)):
        assert cq.account_profile(snap, scope, users.other_account).empty
        assert cq.account_contacts(snap, scope, users.other_account).empty
        assert cq.account_touchpoints(snap, scope, users.other_account).empty
        assert cq.account_deals(snap, scope, users.other_account).empty
        assert cq.account_projects(snap, scope, users.other_account).empty
    evil = "' OR 1=1 --"
    assert cq.account_profile(snap, scope_for("sales_rep", evil), users.own_account).empty
    assert cq.accounts(
        snap, scope_for("sales_rep", users.rep), DealFilter(owner_user_id=users.other_rep)
    ).empty


def test_executive_360_masks_contact_pii(home, con, users):
    acc = users.own_account
    at = open_page(home, "executive", None, {"account": acc})
    contacts = frame_with(at, "电话")
    raw = con.execute("SELECT phone, email FROM marts.dim_contacts WHERE account_id = ?", [acc]).fetchall()
    phones = {p for p, _ in raw if p}
    emails = {e for _, e in raw if e}
    assert phones and not phones & set(contacts["电话"])
    assert not emails & set(contacts["邮箱"])
    assert all(pd.isna(p) or str(p).startswith("***") for p in contacts["电话"])
    assert all(pd.isna(w) or w == "***" for w in contacts["微信"])
    deals = con.execute(
        "SELECT count(*) FROM marts.fct_opportunities WHERE account_id = ?", [acc]
    ).fetchone()[0]
    assert len(frame_with(at, "阶段")) == deals  # the executive sees every deal of the account


def test_360_without_the_invoice_and_nps_marts_says_not_yet_available(home, users, tmp_path, monkeypatch):
    """A snapshot published before fct_invoices / fct_nps_responses existed: only those sections say so.
    The account's name is markup there: it shows as text."""
    old = tmp_path / "old-home"
    (old / "serving").mkdir(parents=True)
    path = old / "serving" / "serving.duckdb"
    shutil.copy(home / "serving" / "serving.duckdb", path)
    with duckdb.connect(str(path)) as c:
        c.execute("DROP TABLE IF EXISTS marts.fct_invoices")
        c.execute("DROP TABLE IF EXISTS marts.fct_nps_responses")
        c.execute(
            "UPDATE marts.mart_customer_profile SET account_name = ? WHERE account_id = ?",
            [XSS, users.own_account],
        )
    monkeypatch.setenv("SALESCOPE_HOME", str(old))
    at = open_page(old, "sales_rep", users.rep, {"account": users.own_account})
    text = texts(at)
    assert "marts.fct_invoices" in text and "marts.fct_nps_responses" in text and "尚未提供" in text
    assert (
        metrics(at)["购买次数"] and frame_with(at, "电话") is not None and frame_with(at, "阶段") is not None
    )
    assert at.subheader[0].value == r"\<script\>alert\(1\)\</script\>"  # escaped Markdown, never markup


# Both catalogs hold the same keys, each non-empty: tests/test_i18n.py.
