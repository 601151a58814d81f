"""Performance, forecast and funnel pages (AppTest on the pipeline-built snapshot, scale 0.05).

Figures on the pages are checked against independent SQL: bookings and win rates from the deals in
fct_opportunities, quotas from the rolled-up mart, forecast rows from mart_forecast and ml.forecast, funnel
conversions recomputed from mart_funnel's counts. Each role's scope is checked on the page (a rep sees only
their own row whatever the URL says, a manager only their team's rows) and in the query layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import db, testing
from dashboards import formatting as fmt
from dashboards import sales_queries as sq
from dashboards.access import may_open
from dashboards.i18n import STRINGS, label, t
from dashboards.queries import DealFilter
from dashboards.scope import scope_for
from dashboards.testing import XSS, build_snapshot

ZH, EN = STRINGS["zh"], STRINGS["en"]


@dataclass(frozen=True)
class Users:
    team: str  # the team with the most won deals
    region: str  # its region
    manager: str  # its manager (CRM user id)
    rep: str  # its rep with the most won deals
    other_team: str
    other_rep: str  # a rep of another team
    month: str  # 'YYYY-MM': the month in which the team won the most deals (among the last 12)


@pytest.fixture(scope="module")
def home(pipeline_copy) -> Path:
    return pipeline_copy


@pytest.fixture(scope="module")
def con(home):
    c = duckdb.connect(str(home / "serving" / "serving.duckdb"), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def snap(home):
    return db.current_snapshot(home / "serving" / "serving.duckdb")


@pytest.fixture(scope="module")
def users(con) -> Users:
    team, region = con.execute("""
        SELECT o.team_id, o.region FROM marts.fct_opportunities AS o
        WHERE o.is_won GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1""").fetchone()
    manager = con.execute(
        "SELECT user_id FROM marts.dim_users WHERE role = 'sales_manager' AND team_id = ? "
        "ORDER BY user_id LIMIT 1",
        [team],
    ).fetchone()[0]
    rep = con.execute(
        """
        SELECT o.owner_user_id FROM marts.fct_opportunities AS o JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id
        WHERE o.is_won AND o.team_id = ? AND u.role = 'sales_rep' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""",
        [team],
    ).fetchone()[0]
    other_team, other_rep = con.execute(
        """
        SELECT u.team_id, u.user_id FROM marts.dim_users AS u
        WHERE u.role = 'sales_rep' AND u.team_id <> ? AND u.user_id IN (SELECT owner_user_id FROM marts.fct_opportunities)
        ORDER BY u.user_id LIMIT 1""",
        [team],
    ).fetchone()
    month = con.execute(
        """
        SELECT strftime(date_trunc('month', o.won_at), '%Y-%m') FROM marts.fct_opportunities AS o
        WHERE o.is_won AND o.team_id = ? AND o.won_at >= (SELECT max(month) FROM marts.mart_rep_performance)
                                                         - INTERVAL 11 MONTH
        GROUP BY 1 ORDER BY count(*) DESC, 1 DESC LIMIT 1""",
        [team],
    ).fetchone()[0]
    return Users(team, region, manager, rep, other_team, other_rep, month)


def app(home: Path, role: str, crm: str | None, page: str, params: dict | None = None) -> AppTest:
    return testing.open_page(home, role, page, crm_user_id=crm, params=params)


def metrics(at: AppTest) -> dict[str, str]:
    return testing.metric_values(at)


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def texts(at: AppTest) -> str:
    return " ".join(
        str(e.value)
        for kind in ("markdown", "caption", "info", "warning", "title", "subheader")
        for e in at.get(kind)
    )


def month_bounds(month: str) -> tuple[date, date]:
    start = date.fromisoformat(f"{month}-01")
    return start, date(start.year + start.month // 12, start.month % 12 + 1, 1)


# ---- independent SQL --------------------------------------------------------------------------------


def deals_sql(con, where: str, params: list, start: date, end: date) -> dict[str, float]:
    """Bookings, won and lost counts of the deals matching ``where`` (METRICS.md) between start and end."""
    bookings, won, lost = con.execute(
        f"""
        SELECT coalesce(sum(amount_cny) FILTER (WHERE is_won AND won_at >= ? AND won_at < ?), 0)::DOUBLE,
               count(*) FILTER (WHERE is_won AND won_at >= ? AND won_at < ?),
               count(*) FILTER (WHERE is_lost AND lost_at >= ? AND lost_at < ?)
        FROM marts.fct_opportunities WHERE {where}""",
        [start, end] * 3 + params,
    ).fetchone()
    return {"bookings": bookings, "won": won, "lost": lost}


def rollup_quota(con, level: str, group: str, start: date, end: date) -> float:
    return con.execute(
        """SELECT sum(quota_cny)::DOUBLE FROM marts.mart_sales_performance_rollup
                          WHERE level = ? AND group_id = ? AND month >= ? AND month < ?""",
        [level, group, start, end],
    ).fetchone()[0]


def expected_perf_cards(d: dict[str, float], quota: float, lang: str = "zh") -> dict[str, str]:
    return {
        t("perf.kpi.bookings", lang): fmt.money(d["bookings"], lang),
        t("perf.kpi.quota", lang): fmt.money(quota, lang),
        t("perf.kpi.attainment", lang): fmt.percent(d["bookings"] / quota),
        t("perf.kpi.win_rate", lang): fmt.percent(
            d["won"] / (d["won"] + d["lost"]) if d["won"] + d["lost"] else None
        ),
    }


# ---- strings ----------------------------------------------------------------------------------------

# Both catalogs hold the same keys, each non-empty: tests/test_i18n.py.


# ---- performance ------------------------------------------------------------------------------------


def test_performance_cards_per_role_equal_the_deals(home, con, users):
    start, end = month_bounds(users.month)
    cases = (
        ("executive", None, "TRUE", [], ("company", "all")),
        ("finance", None, "TRUE", [], ("company", "all")),
        ("sales_manager", users.manager, "team_id = ?", [users.team], ("team", users.team)),
    )
    for role, crm, where, params, (level, group) in cases:
        d = deals_sql(con, where, params, start, end)
        quota = rollup_quota(con, level, group, start, end)
        # the roll-up mart agrees with the deals (attainment = bookings ÷ quota, sums not averages)
        assert con.execute(
            """SELECT bookings_cny::DOUBLE FROM marts.mart_sales_performance_rollup
                              WHERE level = ? AND group_id = ? AND month = ?""",
            [level, group, start],
        ).fetchone()[0] == pytest.approx(d["bookings"])
        shown = metrics(app(home, role, crm, "performance", {"month": users.month}))
        for k, v in expected_perf_cards(d, quota).items():
            assert shown[k] == v, (role, k)
    # a rep: their own row, quota from their row of mart_rep_performance
    d = deals_sql(con, "owner_user_id = ?", [users.rep], start, end)
    quota = con.execute(
        "SELECT quota_cny::DOUBLE FROM marts.mart_rep_performance WHERE user_id = ? AND month = ?",
        [users.rep, start],
    ).fetchone()[0]
    at = app(home, "sales_rep", users.rep, "performance", {"month": users.month, "lang": "en"})
    shown = metrics(at)
    for k, v in expected_perf_cards(d, quota, "en").items():
        assert shown[k] == v, k
    board = frame_with(at, EN["perf.col.rep"])
    assert len(board) == 1 and board.iloc[0][EN["perf.col.bookings_cny"]] == pytest.approx(d["bookings"])


def test_performance_quarter_to_date_sums_the_months(home, con, users):
    first, end = month_bounds(users.month)
    q_start = date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    d = deals_sql(con, "region = ?", [users.region], q_start, end)
    quota = rollup_quota(con, "region", users.region, q_start, end)
    at = app(
        home,
        "executive",
        None,
        "performance",
        {"month": users.month, "span": "quarter", "region": users.region},
    )
    shown = metrics(at)
    for k, v in expected_perf_cards(d, quota).items():
        assert shown[k] == v, k
    # region level: its teams, then the leaderboard of its reps
    teams = frame_with(at, ZH["perf.col.team"])
    expected = con.execute(
        "SELECT DISTINCT team_id FROM marts.dim_users WHERE region = ? AND team_id IS NOT NULL",
        [users.region],
    ).fetchall()
    assert len(teams) == len(expected)
    assert teams[ZH["perf.col.bookings_cny"]].sum() == pytest.approx(d["bookings"])


def test_drill_down_by_url_shows_the_reps_deals(home, con, users):
    start, end = month_bounds(users.month)
    at = app(
        home,
        "executive",
        None,
        "performance",
        {"month": users.month, "region": users.region, "team": users.team, "rep": users.rep},
    )
    expected = con.execute(
        """
        SELECT count(*) FILTER (WHERE won_at >= ? AND won_at < ?),
               count(*) FILTER (WHERE lost_at >= ? AND lost_at < ?),
               count(*) FILTER (WHERE NOT coalesce(won_at >= ? AND won_at < ?, FALSE) AND NOT coalesce(lost_at >= ? AND lost_at < ?, FALSE)
                                AND created_at < ? AND coalesce(won_at >= ?, TRUE) AND coalesce(lost_at >= ?, TRUE))
        FROM marts.fct_opportunities WHERE owner_user_id = ?""",
        [start, end, start, end, start, end, start, end, end, end, end, users.rep],
    ).fetchone()
    deals = frame_with(at, ZH["perf.col.status"])
    assert len(deals) == sum(expected)
    counts = deals[ZH["perf.col.status"]].value_counts()
    assert [counts.get(ZH[f"perf.status.{s}"], 0) for s in ("won", "lost", "open")] == list(expected)
    assert ZH["perf.deals_caption"].format(won=expected[0], lost=expected[1], open=expected[2]) in texts(at)
    assert set(deals[t("col.deal_id", "zh")]) <= {
        r[0]
        for r in con.execute(
            "SELECT opportunity_id FROM marts.fct_opportunities WHERE owner_user_id = ?", [users.rep]
        ).fetchall()
    }
    board = frame_with(at, ZH["perf.col.rep"])
    assert len(board) == 1
    # team level: the team's reps, each one's bookings from their deals
    at = app(home, "executive", None, "performance", {"month": users.month, "team": users.team})
    board = frame_with(at, ZH["perf.col.rep"]).set_index(ZH["perf.col.rep"])
    reps = con.execute(
        "SELECT user_id, name FROM marts.dim_users WHERE role = 'sales_rep' AND team_id = ?", [users.team]
    ).fetchall()
    assert set(board.index) == {name for _, name in reps}
    for uid, name in reps:
        assert board.loc[name, ZH["perf.col.bookings_cny"]] == pytest.approx(
            deals_sql(con, "owner_user_id = ?", [uid], start, end)["bookings"]
        )


def test_a_rep_cannot_see_another_rep_by_url(home, con, users):
    at = app(
        home,
        "sales_rep",
        users.rep,
        "performance",
        {"month": users.month, "rep": users.other_rep, "team": users.other_team},
    )
    name = con.execute("SELECT name FROM marts.dim_users WHERE user_id = ?", [users.rep]).fetchone()[0]
    assert list(frame_with(at, ZH["perf.col.rep"])[ZH["perf.col.rep"]]) == [name]
    own = {
        r[0]
        for r in con.execute(
            "SELECT opportunity_id FROM marts.fct_opportunities WHERE owner_user_id = ?", [users.rep]
        ).fetchall()
    }
    deals = frame_with(at, ZH["perf.col.status"])
    assert set(deals[t("col.deal_id", "zh")]) <= own
    assert at.query_params.get("rep") in (None, [], [users.rep])
    # a manager asking for a rep of another team gets their own team
    at = app(
        home, "sales_manager", users.manager, "performance", {"month": users.month, "rep": users.other_rep}
    )
    board = frame_with(at, ZH["perf.col.rep"])
    team_names = {
        r[0]
        for r in con.execute("SELECT name FROM marts.dim_users WHERE team_id = ?", [users.team]).fetchall()
    }
    assert set(board[ZH["perf.col.rep"]]) <= team_names
    # and in the query layer: the rep's scope ANDs with any filter
    snap = db.current_snapshot(home / "serving" / "serving.duckdb")
    start, _ = month_bounds(users.month)
    period = sq.Period(start, start)
    assert sq.rep_deals(
        snap, scope_for("sales_rep", users.rep), DealFilter(owner_user_id=users.other_rep), period
    ).empty
    assert sq.perf_breakdown(snap, scope_for("sales_rep", users.rep), DealFilter(), period, "user")[
        "group_id"
    ].tolist() == [users.rep]


# ---- forecast ---------------------------------------------------------------------------------------


def forecast_row(con, period_type: str, level: str, group: str, period: str) -> dict:
    df = con.execute(
        """SELECT * FROM marts.mart_forecast WHERE period_type = ? AND level = ? AND group_id = ?
                        AND period_start = ?""",
        [period_type, level, group, date.fromisoformat(f"{period}-01")],
    ).df()
    assert len(df) == 1
    r = df.iloc[0].to_dict()
    # the page shows the ML-weighted figures of the rows looked at on the as-of date (ml.forecast_weighted)
    ml = con.execute(
        """SELECT weighted_pipeline_cny, forecast_current_cny FROM ml.forecast_weighted
                        WHERE period_type = ? AND level = ? AND group_id = ? AND period_start = ? AND as_of = ?""",
        [period_type, level, group, r["period_start"], r["reference_date"]],
    ).fetchall()
    if ml:
        r["weighted_pipeline_cny"], r["forecast_current_cny"] = ml[0]
    return r


def expected_fc_cards(r: dict, lang: str = "zh") -> dict[str, str]:
    cov = r["pipeline_coverage"]
    return {
        t("fc.kpi.forecast", lang): fmt.money(r["forecast_current_cny"], lang),
        t("fc.kpi.quota", lang): fmt.money(r["quota_cny"], lang),
        t("fc.kpi.booked", lang): fmt.money(r["bookings_to_date_cny"], lang),
        t("fc.kpi.weighted", lang): fmt.money(r["weighted_pipeline_cny"], lang),
        t("fc.kpi.coverage", lang): fmt.NO_VALUE if pd.isna(cov) else f"{cov:.2f}",
    }


def test_forecast_company_and_ml_beside_stage_default(home, con):
    latest = con.execute(
        "SELECT strftime(max(period_start), '%Y-%m') FROM marts.mart_forecast WHERE period_type = 'month'"
    ).fetchone()[0]
    at = app(home, "executive", None, "forecast")
    shown = metrics(at)
    for k, v in expected_fc_cards(forecast_row(con, "month", "company", "all", latest)).items():
        assert shown[k] == v, k
    # the model's bookings forecast: the period shown (or the model's first when it forecasts only later ones)
    fc = con.execute(
        "SELECT strftime(period, '%Y-%m') AS p, component, forecast_cny FROM ml.forecast "
        "WHERE level = 'company' AND period_type = 'month' ORDER BY period"
    ).df()
    shown_p = latest if latest in set(fc["p"]) else fc["p"].iloc[0]
    now = fc[fc["p"] == shown_p].set_index("component")["forecast_cny"]
    for k in ("total", "won_to_date", "open_pipeline", "new_pipeline"):
        assert shown[ZH[f"fc.kpi.{k}"]] == fmt.money(float(now[k]), "zh"), k
    # the backtest summary, row for row
    summary = con.execute(
        "SELECT method, origin_type, horizon, wape FROM ml.forecast_accuracy_summary "
        "ORDER BY origin_type, horizon, method"
    ).df()
    table = frame_with(at, ZH["fc.col.wape"])
    assert table[ZH["fc.col.wape"]].tolist() == pytest.approx(summary["wape"].tolist(), nan_ok=True)
    assert list(table[ZH["fc.col.horizon"]]) == summary["horizon"].tolist()
    # every level of the period, as in the mart
    levels = frame_with(at, ZH["fc.col.level"])
    assert (
        len(levels)
        == con.execute(
            "SELECT count(*) FROM marts.mart_forecast WHERE period_type = 'month' AND period_start = ?",
            [date.fromisoformat(f"{latest}-01")],
        ).fetchone()[0]
    )
    # pipeline trend: the latest snapshot's open pipeline, summed in SQL
    trend = frame_with(at, ZH["fc.col.snapshot_date"])
    last = con.execute(
        "SELECT max(snapshot_date), sum(amount_cny) FILTER (WHERE snapshot_date = "
        "(SELECT max(snapshot_date) FROM marts.fct_pipeline_snapshots))::DOUBLE "
        "FROM marts.fct_pipeline_snapshots"
    ).fetchone()
    shown_last = trend[trend[ZH["fc.col.snapshot_date"]] == str(last[0])]
    assert shown_last[ZH["fc.col.amount_cny"]].sum() == pytest.approx(last[1])


def test_forecast_quarter_for_a_team_in_english(home, con, users):
    period = con.execute(
        "SELECT strftime(max(period_start), '%Y-%m') FROM marts.mart_forecast "
        "WHERE period_type = 'quarter' AND is_closed_period"
    ).fetchone()[0]
    at = app(
        home,
        "finance",
        None,
        "forecast",
        {"ptype": "quarter", "pstart": period, "team": users.team, "lang": "en"},
    )
    assert at.title[0].value == "Forecast"
    shown = metrics(at)
    row = forecast_row(con, "quarter", "team", users.team, period)
    for k, v in expected_fc_cards(row, "en").items():
        assert shown[k] == v, k
    assert shown[EN["fc.kpi.ape"]] == fmt.percent(row["forecast_abs_pct_error"])


def test_a_manager_gets_only_their_teams_forecast_rows(home, con, users, snap):
    at = app(
        home, "sales_manager", users.manager, "forecast", {"team": users.other_team, "region": users.region}
    )
    latest = con.execute(
        "SELECT strftime(max(period_start), '%Y-%m') FROM marts.mart_forecast WHERE period_type = 'month'"
    ).fetchone()[0]
    shown = metrics(at)
    for k, v in expected_fc_cards(forecast_row(con, "month", "team", users.team, latest)).items():
        assert shown[k] == v, k
    team_name = con.execute(
        "SELECT any_value(team_name) FROM marts.dim_users WHERE team_id = ?", [users.team]
    ).fetchone()[0]
    levels = frame_with(at, ZH["fc.col.level"])
    assert list(levels[ZH["fc.col.group"]]) == [team_name]
    assert ZH["fc.model_accuracy"] not in texts(at)  # the company's backtest is not the manager's
    team_fc = sq.bookings_forecast(
        snap, scope_for("sales_manager", users.manager), "month", "team", users.team
    )
    (team_total,) = con.execute(
        "SELECT sum(forecast_cny) FROM ml.forecast WHERE level = 'team' AND group_id = ? AND period_type = 'month' "
        "AND component = 'total'",
        [users.team],
    ).fetchone()
    assert team_fc[team_fc["component"] == "total"]["forecast_cny"].sum() == pytest.approx(float(team_total))
    scope = scope_for("sales_manager", users.manager)
    for ptype in ("month", "quarter"):
        rows = sq.forecast_rows(snap, scope, ptype, sq.forecast_periods(snap, scope, ptype)[0])
        assert set(zip(rows["level"], rows["group_id"], strict=True)) == {("team", users.team)}
    assert sq.forecast_accuracy_summary(snap, scope).empty and sq.forecast_accuracy_months(snap, scope).empty
    assert sq.bookings_forecast(snap, scope, "month", "company", "all").empty
    assert set(sq.forecast_history(snap, scope, "month", "company", "all")["group_id"]) == set()


def test_a_rep_has_neither_forecast_nor_funnel(snap, users):
    """Not in a rep's navigation (access.py), and the queries give a rep's scope nothing anyway."""
    assert not may_open("sales_rep", "forecast") and not may_open("sales_rep", "funnel")
    scope = scope_for("sales_rep", users.rep)
    assert sq.forecast_periods(snap, scope, "month") == []
    assert sq.funnel_choices(snap, scope) == ([], [])
    assert sq.funnel_stages(snap, scope, sq.FunnelFilter()).empty


# ---- funnel -----------------------------------------------------------------------------------------


def funnel_sql(con, where: str, params: list) -> pd.DataFrame:
    """Per stage: counts summed over mart_funnel's rows, conversions from the sums."""
    return (
        con.execute(
            f"""
        SELECT stage, min(stage_order) AS o, sum(reached_count)::BIGINT AS reached, sum(passed_count)::BIGINT AS passed,
               sum(strict_next_count)::BIGINT AS strict
        FROM marts.mart_funnel WHERE {where} GROUP BY stage ORDER BY o""",
            params,
        )
        .df()
        .set_index("stage")
    )


def check_funnel(at: AppTest, expected: pd.DataFrame, lang: str = "zh") -> None:
    table = frame_with(at, t("fn.col.passing_conversion", lang)).set_index(t("fn.col.stage", lang))
    has_next = expected[expected["o"] < len(sq.FUNNEL_STAGES)]
    passing = has_next["passed"] / has_next["reached"]
    for stage, r in has_next.iterrows():
        row = table.loc[label(f"stage.{stage}", lang, stage)]
        assert row[t("fn.col.reached_count", lang)] == r["reached"]
        assert row[t("fn.col.passing_conversion", lang)] == pytest.approx(r["passed"] / r["reached"])
        assert row[t("fn.col.strict_conversion", lang)] == pytest.approx(r["strict"] / r["reached"])
    neck = passing.idxmin()  # lowest passing conversion (the earliest stage on a tie)
    shown = {m.label: m for m in at.metric}
    assert shown[t("fn.kpi.bottleneck", lang)].value == label(f"stage.{neck}", lang, neck)
    assert fmt.percent(passing[neck]) in shown[t("fn.kpi.bottleneck", lang)].delta
    assert table.loc[label(f"stage.{neck}", lang, neck), t("fn.col.is_bottleneck", lang)] == t(
        "fn.bottleneck_mark", lang
    )
    entered = expected.iloc[0]["reached"]
    assert shown[t("fn.kpi.entered", lang)].value == f"{entered:,}"
    assert shown[t("fn.kpi.overall", lang)].value == fmt.percent(expected.loc["won", "reached"] / entered)


def test_funnel_for_a_manager_is_their_team(home, con, users):
    at = app(home, "sales_manager", users.manager, "funnel", {"cohorts": "all", "team": users.other_team})
    check_funnel(at, funnel_sql(con, "team_id = ?", [users.team]))
    # days in stage: the median over the entries into the stage, from the facts
    median = con.execute(
        """SELECT median(days_in_stage) FROM marts.fct_stage_transitions
                            WHERE team_id = ? AND stage = 'proposal'""",
        [users.team],
    ).fetchone()[0]
    table = frame_with(at, ZH["fn.col.median"]).set_index(ZH["fn.col.stage"])
    assert table.loc[label("stage.proposal", "zh", ""), ZH["fn.col.median"]] == pytest.approx(median)


def test_funnel_by_source_and_cohorts_in_english(home, con, users):
    source = con.execute(
        "SELECT lead_source FROM marts.mart_funnel GROUP BY 1 ORDER BY sum(reached_count) DESC LIMIT 1"
    ).fetchone()[0]
    cohorts = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT strftime(cohort_month, '%Y-%m') AS m FROM marts.mart_funnel "
            "ORDER BY m DESC LIMIT 12"
        ).fetchall()
    ]
    at = app(
        home,
        "executive",
        None,
        "funnel",
        {"source": source, "region": users.region, "lang": "en", "by": "team"},
    )
    assert at.title[0].value == "Sales funnel"
    where = (
        "lead_source = ? AND cohort_month >= ? AND team_id IN "
        "(SELECT team_id FROM marts.dim_users WHERE region = ?)"
    )
    check_funnel(
        at, funnel_sql(con, where, [source, date.fromisoformat(f"{cohorts[-1]}-01"), users.region]), "en"
    )
    breakdown = frame_with(at, EN["fn.col.entered"])
    assert (
        breakdown[EN["fn.col.entered"]].sum()
        == funnel_sql(con, where, [source, date.fromisoformat(f"{cohorts[-1]}-01"), users.region]).iloc[0][
            "reached"
        ]
    )


def test_funnel_of_a_rep_from_the_facts_adds_up_to_the_team(snap, con, users):
    """A picked rep's funnel is rebuilt from the facts; the team's reps add up to the mart's team counts."""
    scope = scope_for("sales_manager", users.manager)
    team = sq.funnel_stages(snap, scope, sq.FunnelFilter(team_id=users.team)).set_index("stage")
    reps = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT owner_user_id FROM marts.fct_opportunities WHERE team_id = ?", [users.team]
        ).fetchall()
    ]
    cols = ["reached_count", "passed_count", "strict_next_count"]
    total = sum(
        sq.funnel_stages(snap, scope, sq.FunnelFilter(owner_user_id=r))
        .set_index("stage")[cols]
        .reindex(team.index, fill_value=0)
        for r in reps
    )
    assert (total == team[cols]).all().all()
    # outside the manager's team a rep's funnel is empty
    assert sq.funnel_stages(snap, scope, sq.FunnelFilter(owner_user_id=users.other_rep)).empty


# ---- a small hand-made snapshot: markup in data stays text ------------------------------


def test_markup_in_data_renders_as_text_and_missing_marts_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path))
    build_snapshot(tmp_path / "serving" / "serving.duckdb")  # no forecast or funnel marts
    at = app(tmp_path, "sales_rep", "R1", "performance", {"month": "2026-05"})
    deals = frame_with(at, ZH["perf.col.status"])
    assert XSS in set(deals[t("col.account", "zh")])  # a cell of the table, shown as typed
    assert XSS not in texts(at)
    assert metrics(at)[ZH["perf.kpi.bookings"]] == fmt.money(3_500_000, "zh")  # D03, won in May
    at = app(tmp_path, "executive", None, "forecast")
    assert "marts.mart_forecast" in texts(at)
