"""The money pages (回款 collections, 项目交付 delivery, 渠道 channels) on a real pipeline-built snapshot.

Every figure the page shows is compared with an independent SQL computation on the snapshot's marts, with the
row scope written out here again (a rep: own deals; a manager: the team's deals; finance and executive: all),
in zh and en. The pipeline always publishes marts.fct_invoices, so the invoice sections are always checked.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import db, testing
from dashboards import formatting as fmt
from dashboards import money_queries as mq
from dashboards.filters import state_key
from dashboards.i18n import STRINGS, month_label, vocab_label
from dashboards.money_ui import period_for
from dashboards.scope import Scope

ZH, EN = STRINGS["zh"], STRINGS["en"]


# ---- fixtures: a copy of the pipeline's snapshot, real CRM users ---------------------------------------


@pytest.fixture(scope="module")
def home(pipeline_copy) -> Path:
    return pipeline_copy


@pytest.fixture(scope="module")
def con(home):
    c = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    yield c
    c.close()


@pytest.fixture(autouse=True)
def _env(home, monkeypatch):
    monkeypatch.setenv("SALESCOPE_HOME", str(home))


@pytest.fixture(scope="module")
def users(con) -> dict[str, str | None]:
    """role -> CRM user id: the rep with the most contracts, and a manager of that rep's team."""
    rep, team = con.execute("""
        SELECT o.owner_user_id, o.team_id FROM marts.mart_collections AS c
        JOIN marts.fct_opportunities AS o USING (opportunity_id)
        JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
        WHERE u.role = 'sales_rep' GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1""").fetchone()
    (manager,) = con.execute(
        "SELECT min(user_id) FROM marts.dim_users WHERE role = 'sales_manager' AND team_id = ?", [team]
    ).fetchone()
    assert manager, "the pipeline's demo data has a manager per team"
    return {"sales_rep": rep, "sales_manager": manager, "finance": None, "executive": None}


@pytest.fixture(scope="module")
def as_of(con) -> date:
    return con.execute("SELECT max(as_of) FROM meta.publish_log").fetchone()[0]


def deal_scope(role: str, crm: str | None) -> tuple[str, list]:
    """The access table, written independently of scope.py: a predicate over fct_opportunities AS o."""
    if role == "sales_rep":
        return "o.owner_user_id = ?", [crm]
    if role == "sales_manager":
        return "o.team_id = (SELECT u.team_id FROM marts.dim_users AS u WHERE u.user_id = ?)", [crm]
    return "TRUE", []


def scoped(con, role: str, crm: str | None, sql: str) -> pd.DataFrame:
    """``sql`` with {deals}: the scope's opportunity ids (a subquery)."""
    where, params = deal_scope(role, crm)
    deals = f"(SELECT o.opportunity_id FROM marts.fct_opportunities AS o WHERE {where})"
    return con.execute(sql.format(deals=deals), params).df()


def open_page(home: Path, role: str, crm: str | None, page: str, lang: str = "zh", **params: str) -> AppTest:
    return testing.open_page(
        home,
        role,
        page,
        crm_user_id=crm,
        username=f"money_{role}",
        params={**({"lang": lang} if lang != "zh" else {}), **params},
    )


def metrics(at: AppTest) -> dict[str, str]:
    return testing.metric_values(at)


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def texts(at: AppTest) -> str:
    return " ".join(
        str(e.value) for kind in ("markdown", "caption", "info", "success", "subheader") for e in at.get(kind)
    )


# ---- collections -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def collections_pages(home, users) -> dict[str, AppTest]:
    """One run per role (zh; finance in en), shared by the collections tests."""
    return {
        role: open_page(home, role, crm, "collections", lang="en" if role == "finance" else "zh")
        for role, crm in users.items()
    }


@pytest.mark.parametrize("role", ["sales_rep", "sales_manager", "finance", "executive"])
def test_collections_kpis_equal_sql_in_scope(con, users, collections_pages, role):
    at, crm = collections_pages[role], users[role]
    lang = "en" if role == "finance" else "zh"
    S = ZH if lang == "zh" else EN
    m = metrics(at)
    c = scoped(
        con,
        role,
        crm,
        """
        SELECT sum(contract_value_cny)::DOUBLE AS value, sum(invoiced_cny)::DOUBLE AS invoiced,
               sum(collected_cny)::DOUBLE AS collected
        FROM marts.mart_collections WHERE opportunity_id IN {deals}""",
    ).iloc[0]
    assert m[S["money.coll.kpi.contract_value"]] == fmt.money(c["value"], lang)
    assert m[S["money.coll.kpi.invoiced"]] == fmt.money(c["invoiced"], lang)
    assert m[S["money.coll.kpi.collected_pct"]] == fmt.percent(c["collected"] / c["value"])
    assert m[S["money.coll.kpi.billed_pct"]] == fmt.percent(c["invoiced"] / c["value"])
    # receivables and aging straight from the invoices
    inv = scoped(
        con,
        role,
        crm,
        """
        SELECT sum(unpaid_cny)::DOUBLE AS receivables,
               coalesce(sum(unpaid_cny) FILTER (WHERE aging_bucket = 'over_90'), 0)::DOUBLE AS over_90
        FROM marts.fct_invoices WHERE opportunity_id IN {deals}""",
    ).iloc[0]
    assert m[S["money.coll.kpi.receivables"]] == fmt.money(inv["receivables"], lang)
    assert m[S["money.coll.kpi.over_90"]] == fmt.money(inv["over_90"], lang)
    assert at.metric[0].help == S["money.coll.help.contract_value"]


@pytest.mark.parametrize("role", ["sales_rep", "sales_manager", "finance", "executive"])
def test_collections_contracts_table_is_the_scope(con, users, collections_pages, role):
    at, crm = collections_pages[role], users[role]
    S = ZH if role != "finance" else EN
    col = S["money.col.contract_id"]
    shown = set(frame_with(at, S["money.col.contract_value_cny"])[col])
    expected = set(
        scoped(
            con, role, crm, "SELECT contract_id FROM marts.mart_collections WHERE opportunity_id IN {deals}"
        )["contract_id"]
    )
    assert shown == expected and shown


def test_a_rep_sees_only_contracts_of_own_deals(con, users, collections_pages):
    rep = users["sales_rep"]
    col = ZH["money.col.contract_id"]
    shown = set(frame_with(collections_pages["sales_rep"], ZH["money.col.contract_value_cny"])[col])
    owners = con.execute(
        """SELECT DISTINCT o.owner_user_id FROM marts.mart_collections AS c
                            JOIN marts.fct_opportunities AS o USING (opportunity_id)
                            WHERE list_contains(?, c.contract_id)""",
        [sorted(shown)],
    ).fetchall()
    assert owners == [(rep,)]
    total = con.execute("SELECT count(*) FROM marts.mart_collections").fetchone()[0]
    assert len(shown) < total
    # the rep sees no DSO (a company-level mart): no card, an explanation instead
    assert ZH["money.coll.kpi.dso"] not in metrics(collections_pages["sales_rep"])
    assert ZH["money.coll.dso_company_only"] in texts(collections_pages["sales_rep"])


@pytest.mark.parametrize("role", ["finance", "executive"])
def test_dso_card_is_the_mart_latest_month(con, as_of, collections_pages, role):
    lang = "en" if role == "finance" else "zh"
    S = ZH if lang == "zh" else EN
    month, dso = con.execute(
        "SELECT month, dso FROM marts.mart_dso_monthly WHERE month <= ? ORDER BY month DESC LIMIT 1", [as_of]
    ).fetchone()
    assert metrics(collections_pages[role])[S["money.coll.kpi.dso"]] == fmt.days(dso, lang)
    assert S["money.coll.dso_month"].format(month=month_label(month.year, month.month, lang)) in texts(
        collections_pages[role]
    )


@pytest.mark.parametrize("role", ["sales_rep", "sales_manager", "executive"])
def test_overdue_invoices_are_the_scope_longest_first(con, users, collections_pages, role):
    at, crm = collections_pages[role], users[role]
    expected = scoped(
        con,
        role,
        crm,
        """
        SELECT invoice_id, days_past_due, unpaid_cny::DOUBLE AS unpaid FROM marts.fct_invoices
        WHERE is_overdue AND opportunity_id IN {deals} ORDER BY days_past_due DESC, unpaid_cny DESC, invoice_id""",
    )
    if expected.empty:
        assert ZH["money.coll.no_overdue"] in texts(at)
        return
    table = frame_with(at, ZH["money.col.invoice_id"])
    assert list(table[ZH["money.col.invoice_id"]]) == list(expected["invoice_id"][:500])
    caption = ZH["money.coll.overdue_caption"].format(
        n=len(expected), amount=fmt.money(expected["unpaid"].sum(), "zh")
    )
    assert caption in texts(at)


@pytest.mark.parametrize("role", ["sales_rep", "sales_manager", "finance"])
def test_sales_to_cash_medians_equal_sql(con, users, collections_pages, role):
    at, crm = collections_pages[role], users[role]
    lang = "en" if role == "finance" else "zh"
    S = ZH if lang == "zh" else EN
    rows = scoped(con, role, crm, "SELECT * FROM marts.mart_sales_to_cash WHERE opportunity_id IN {deals}")
    assert metrics(at)[S["money.s2c.kpi.lead_to_cash"]] == fmt.days(
        rows["lead_to_cash_days"].dropna().median(), lang
    )
    table = frame_with(at, S["money.col.median_days"])
    shown = dict(zip(table[S["money.col.step"]], table[S["money.col.median_days"]], strict=True))
    for step, col in mq.SALES_TO_CASH_STEPS:
        values = rows[col].dropna()
        assert shown[S[f"money.s2c.step.{step}"]] == pytest.approx(values.median()), step
    counts = dict(zip(table[S["money.col.step"]], table[S["money.col.deals"]], strict=True))
    assert counts[S["money.s2c.step.created_to_won"]] == rows["created_to_won_days"].notna().sum()


def test_billed_by_month_equals_invoices(con, home, users, as_of):
    snap = db.current_snapshot(home / "serving" / "serving.duckdb")
    rep = users["sales_rep"]
    months = mq.month_span(snap, "marts.mart_dso_monthly", as_of)
    period = period_for("6m", months)
    got = mq.invoiced_by_month(snap, Scope(role="sales_rep", user_id=rep), period)
    expected = scoped(
        con,
        "sales_rep",
        rep,
        """
        SELECT date_trunc('month', invoice_date)::DATE AS month, sum(amount_cny)::DOUBLE AS invoiced,
               sum(collected_cny)::DOUBLE AS collected
        FROM marts.fct_invoices WHERE opportunity_id IN {deals} GROUP BY 1 ORDER BY 1""",
    )
    expected = expected[
        (expected["month"] >= pd.Timestamp(period.start)) & (expected["month"] <= pd.Timestamp(period.end))
    ]
    assert list(pd.to_datetime(got["month"])) == list(pd.to_datetime(expected["month"]))
    assert list(got["invoiced_cny"]) == pytest.approx(list(expected["invoiced"]))
    assert list(got["collected_cny"]) == pytest.approx(list(expected["collected"]))


def test_company_level_queries_compute_nothing_for_narrow_scopes(home, users, as_of):
    snap = db.current_snapshot(home / "serving" / "serving.duckdb")
    period = period_for("12m", mq.month_span(snap, "marts.mart_channel_roi", as_of))
    for scope in (
        Scope(role="sales_rep", user_id=users["sales_rep"]),
        Scope(role="sales_manager", user_id=users["sales_manager"]),
        Scope.nobody(),
    ):
        assert mq.dso_series(snap, scope, period).empty
        assert mq.delivery_totals(snap, scope, None) == {}
        assert mq.channel_totals(snap, scope, period) == {}
        assert mq.channel_table(snap, scope, period).empty


def test_collections_without_invoices_say_not_yet_available(tmp_path, monkeypatch, pipeline_home):
    """A snapshot without fct_invoices: the invoice sections say so, the rest of the page renders."""
    shutil.copytree(pipeline_home / "serving", tmp_path / "serving")
    c = duckdb.connect(str(tmp_path / "serving" / "serving.duckdb"))
    c.execute("DROP TABLE IF EXISTS marts.fct_invoices")
    c.close()
    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path))
    at = open_page(tmp_path, "finance", None, "collections")
    assert "尚未提供" in texts(at) and "marts.fct_invoices" in texts(at)
    assert ZH["money.coll.kpi.receivables"] in metrics(at)
    assert frame_with(at, ZH["money.col.contract_value_cny"]).shape[0] > 0


# ---- delivery --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "lang"), [("finance", "zh"), ("executive", "en")])
def test_delivery_kpis_equal_sql(con, home, role, lang):
    at = open_page(home, role, None, "delivery", lang=lang)
    S = ZH if lang == "zh" else EN
    m = metrics(at)
    r = (
        con.execute("""
        SELECT count(*) AS projects, sum(overdue_task_count)::DOUBLE AS overdue,
               count(*) FILTER (WHERE overdue_task_count > 0) AS with_overdue,
               avg(progress) FILTER (WHERE NOT is_finished) AS progress,
               count(*) FILTER (WHERE NOT is_finished) AS active,
               count(*) FILTER (WHERE schedule_variance_days > 0)::DOUBLE
                   / count(schedule_variance_days) AS late_share,
               median(schedule_variance_days)::DOUBLE AS variance,
               count(*) FILTER (WHERE has_contract_doc)::DOUBLE / count(*) AS doc_contract,
               count(*) FILTER (WHERE has_proposal_doc)::DOUBLE / count(*) AS doc_proposal,
               count(*) FILTER (WHERE is_finished AND has_acceptance_report)::DOUBLE
                   / count(*) FILTER (WHERE is_finished) AS doc_acceptance
        FROM marts.mart_project_delivery""")
        .df()
        .iloc[0]
    )
    assert m[S["money.dlv.kpi.projects"]] == f"{int(r['projects']):,}"
    assert m[S["money.dlv.kpi.overdue_tasks"]] == f"{r['overdue']:,.0f}"
    assert m[S["money.dlv.kpi.with_overdue"]] == f"{int(r['with_overdue']):,}"
    assert m[S["money.dlv.kpi.progress"]] == fmt.percent(r["progress"])
    assert m[S["money.dlv.kpi.active"]] == f"{int(r['active']):,}"
    assert m[S["money.dlv.kpi.late_share"]] == fmt.percent(r["late_share"])
    assert m[S["money.dlv.kpi.variance"]] == fmt.days(r["variance"], lang, signed=True)
    for doc in mq.DOCS:
        assert m[S[f"money.dlv.kpi.doc_{doc}"]] == fmt.percent(r[f"doc_{doc}"]), doc
    table = frame_with(at, S["money.col.project_id"])
    assert len(table) == r["projects"]


def test_delivery_status_filter_from_the_url(con, home):
    at = open_page(home, "executive", None, "delivery", status="in_progress")
    n, overdue = con.execute(
        "SELECT count(*), sum(overdue_task_count) FROM marts.mart_project_delivery "
        "WHERE project_status = 'in_progress'"
    ).fetchone()
    m = metrics(at)
    assert m[ZH["money.dlv.kpi.projects"]] == f"{n:,}"
    assert m[ZH["money.dlv.kpi.overdue_tasks"]] == f"{overdue:,.0f}"
    assert at.query_params["status"] == "in_progress"


def test_schedule_variance_histogram_bins(con, home):
    snap = db.current_snapshot(home / "serving" / "serving.duckdb")
    hist = mq.variance_histogram(snap, Scope.everything(), None)
    v = con.execute(
        "SELECT schedule_variance_days AS v FROM marts.mart_project_delivery "
        "WHERE schedule_variance_days IS NOT NULL"
    ).df()["v"]
    expected = [
        int(((v >= (lo if lo is not None else -(10**9))) & (v <= (hi if hi is not None else 10**9))).sum())
        for _key, lo, hi in mq.VARIANCE_BINS
    ]
    assert list(hist["bin"]) == [k for k, _lo, _hi in mq.VARIANCE_BINS]
    assert list(hist["projects"]) == expected
    assert sum(expected) == len(v)


# ---- channels --------------------------------------------------------------------------------------------


def _channel_sums(con, start: date, end: date) -> pd.DataFrame:
    return con.execute(
        """
        SELECT channel, sum(spend_cny)::DOUBLE AS spend, sum(opportunities)::DOUBLE AS opps,
               sum(bookings_first_touch_cny)::DOUBLE AS b_first, sum(bookings_last_touch_cny)::DOUBLE AS b_last,
               sum(bookings_linear_cny)::DOUBLE AS b_linear, sum(new_customers_linear)::DOUBLE AS new_customers
        FROM marts.mart_channel_roi WHERE month BETWEEN ? AND ? GROUP BY channel""",
        [start, end],
    ).df()


def _last_months(con, as_of: date, n: int) -> tuple[date, date]:
    months = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT month FROM marts.mart_channel_roi WHERE month <= ? ORDER BY month DESC LIMIT ?",
            [as_of, n],
        ).fetchall()
    ]
    return min(months), max(months)


@pytest.mark.parametrize(("role", "lang", "period"), [("finance", "zh", "6m"), ("executive", "en", None)])
def test_channel_kpis_recomputed_from_sums(con, home, as_of, role, lang, period):
    at = open_page(home, role, None, "channels", lang=lang, **({"range": period} if period else {}))
    S = ZH if lang == "zh" else EN
    start, end = _last_months(con, as_of, 6 if period == "6m" else 12)
    sums = _channel_sums(con, start, end)
    spend, linear = sums["spend"].sum(), sums["b_linear"].sum()
    m = metrics(at)
    assert m[S["money.chn.kpi.spend"]] == fmt.money(spend, lang)
    assert m[S["money.chn.kpi.roi"]] == f"{(linear - spend) / spend:.2f}"
    assert m[S["money.chn.kpi.cpo"]] == fmt.money(spend / sums["opps"].sum(), lang)
    assert m[S["money.chn.kpi.cac"]] == fmt.money(spend / sums["new_customers"].sum(), lang)
    # per channel: the three models side by side, each ROI from the period's sums
    table = frame_with(at, S["money.col.roi_linear"])
    assert len(table) == len(sums)
    names = {vocab_label("lead_source", c, lang): c for c in sums["channel"]}
    by_channel = sums.set_index("channel")
    for _, row in table.iterrows():
        s = by_channel.loc[names[row[S["money.col.channel"]]]]
        for model, col in (("first_touch", "b_first"), ("last_touch", "b_last"), ("linear", "b_linear")):
            assert row[S[f"money.col.roi_{model}"]] == pytest.approx((s[col] - s["spend"]) / s["spend"]), (
                model
            )
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    roi = next(f for f in specs if f["layout"]["title"]["text"] == S["money.chn.chart.roi"])
    assert [trace["name"] for trace in roi["data"]] == [
        S[f"money.chn.model.{m}"] for m in mq.ATTRIBUTION_MODELS
    ]


def test_channels_single_month_period(con, home, as_of):
    start, end = _last_months(con, as_of, 2)
    at = open_page(home, "executive", None, "channels", range=start.strftime("%Y-%m"))
    sums = _channel_sums(con, start, start)
    assert metrics(at)[ZH["money.chn.kpi.spend"]] == fmt.money(sums["spend"].sum(), "zh")
    assert at.selectbox(key=state_key("range")).value == start.strftime("%Y-%m")
    assert end > start
    at.selectbox(key=state_key("range")).set_value("3m").run()  # a pick goes back into the URL
    assert at.query_params["range"] == "3m"
    first, last = _last_months(con, as_of, 3)
    assert metrics(at)[ZH["money.chn.kpi.spend"]] == fmt.money(
        _channel_sums(con, first, last)["spend"].sum(), "zh"
    )


def test_dso_follows_the_chosen_month(con, home, as_of):
    month, dso = con.execute(
        "SELECT month, dso FROM marts.mart_dso_monthly WHERE month <= ? ORDER BY month DESC LIMIT 1 OFFSET 3",
        [as_of],
    ).fetchone()
    at = open_page(home, "executive", None, "collections", range=month.strftime("%Y-%m"))
    assert metrics(at)[ZH["money.coll.kpi.dso"]] == fmt.days(dso, "zh")
