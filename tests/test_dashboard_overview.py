"""Executive overview page, the query layer and the snapshot connection.

The fixture snapshot is built from a small list of opportunities; the monthly mart in it and every
expected number are computed here in plain Python (METRICS.md definitions), independently of the
dashboard's SQL.
"""

from __future__ import annotations

import json
import os
import statistics
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards import db, formatting, queries
from dashboards.i18n import STRINGS
from dashboards.scope import Scope
from dashboards.testing import sign_in
from salescope.settings import Settings

APP = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"
TIMEOUT = 60

AS_OF = date(2026, 7, 15)  # July is partial: the latest complete month is June
# the mart's months: Jul 2025 .. Jul 2026, so 12 complete months (Jul 2025 .. Jun 2026) and a partial July
MONTHS = [date(2025, m, 1) for m in range(7, 13)] + [date(2026, m, 1) for m in range(1, 8)]
COMPLETE = MONTHS[:-1]

# opportunity_id, owner, team, region, amount_cny, created_at, won_at, lost_at
OPPS = [
    ("o1", "u1", "t1", "east", 1_200_000, "2026-01-10", "2026-03-05", None),
    ("o2", "u2", "t2", "north", 800_000, "2026-02-01", None, "2026-04-10"),
    ("o3", "u1", "t1", "east", 3_500_000, "2026-03-15", "2026-05-20", None),
    ("o4", "u2", "t2", "north", 2_000_000, "2026-04-01", "2026-05-11", None),
    ("o5", "u1", "t1", "east", 600_000, "2026-04-20", None, "2026-04-28"),
    ("o6", "u1", "t1", "east", 5_000_000, "2026-05-02", "2026-06-18", None),
    ("o7", "u2", "t2", "north", 4_345_678, "2026-02-20", "2026-06-25", None),
    ("o8", "u2", "t2", "north", 1_000_000, "2026-05-15", None, "2026-06-03"),
    ("o9", "u1", "t1", "east", 2_500_000, "2026-06-01", None, None),
    ("o10", "u2", "t2", "north", 3_000_000, "2026-01-05", None, None),
    ("o11", "u1", "t1", "east", 700_000, "2026-06-20", "2026-07-08", None),
    ("o12", "u2", "t2", "north", 900_000, "2026-07-02", None, None),
]


def _ts(d: str | None) -> datetime | None:
    return None if d is None else datetime.fromisoformat(d).replace(hour=10)


def _month_start(d: datetime) -> date:
    return date(d.year, d.month, 1)


def _next_month(m: date) -> datetime:
    return datetime(m.year + (m.month == 12), m.month % 12 + 1, 1)


def reference_monthly(
    owner: str | None = None, team: str | None = None, region: str | None = None
) -> dict[date, dict]:
    """METRICS.md by hand: bookings, win rate, cycle days over won_at/lost_at months; open pipeline as of
    each month's last day. Over the deals of one owner, team or region when given."""
    opps = [o for o in OPPS if owner in (None, o[1]) and team in (None, o[2]) and region in (None, o[3])]
    won = defaultdict(list)
    lost = defaultdict(int)
    for _id, _own, _team, _reg, amount, created, won_at, lost_at in opps:
        if won_at:
            won[_month_start(_ts(won_at))].append((amount, (_ts(won_at) - _ts(created)).days))
        if lost_at:
            lost[_month_start(_ts(lost_at))] += 1
    out = {}
    for m in MONTHS:
        end = _next_month(m)
        open_ = [
            o[4]
            for o in opps
            if _ts(o[5]) < end and not (o[6] and _ts(o[6]) < end) and not (o[7] and _ts(o[7]) < end)
        ]
        w = won.get(m, [])
        n_won, n_lost = len(w), lost.get(m, 0)
        out[m] = {
            "bookings_cny": float(sum(a for a, _ in w)),
            "won_count": n_won,
            "lost_count": n_lost,
            "win_rate": n_won / (n_won + n_lost) if n_won + n_lost else None,
            "cycle_days_mean": statistics.mean(c for _, c in w) if w else None,
            "cycle_days_median": float(statistics.median(c for _, c in w)) if w else None,
            "open_pipeline_cny": float(sum(open_)),
            "open_count": len(open_),
        }
    return out


def build_serving(path: Path, *, quality_status: str = "warnings", bookings_scale: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("serving.tmp.duckdb")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA meta; CREATE SCHEMA ops; CREATE SCHEMA quality")
    con.execute(
        """CREATE TABLE marts.mart_bookings_monthly (
               month DATE, bookings_cny DECIMAL(18,2), won_count BIGINT, lost_count BIGINT, win_rate DOUBLE,
               cycle_days_mean DOUBLE, cycle_days_median DOUBLE, open_pipeline_cny DECIMAL(18,2),
               open_count BIGINT)"""
    )
    for m, r in reference_monthly().items():
        con.execute(
            "INSERT INTO marts.mart_bookings_monthly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                m,
                r["bookings_cny"] * bookings_scale,
                r["won_count"],
                r["lost_count"],
                r["win_rate"],
                r["cycle_days_mean"],
                r["cycle_days_median"],
                r["open_pipeline_cny"],
                r["open_count"],
            ],
        )
    _performance_marts(con)
    con.execute(
        """CREATE TABLE marts.fct_opportunities (
               opportunity_id VARCHAR, account_id VARCHAR, owner_user_id VARCHAR, team_id VARCHAR,
               region VARCHAR, lead_source VARCHAR, industry VARCHAR, product_line VARCHAR,
               amount DECIMAL(18,2), currency VARCHAR, amount_cny DECIMAL(18,2), created_at TIMESTAMP,
               won_at TIMESTAMP, signed_at TIMESTAMP, lost_at TIMESTAMP, is_won BOOLEAN, is_closed BOOLEAN,
               is_open BOOLEAN, current_stage VARCHAR, days_in_current_stage INTEGER, cycle_days INTEGER,
               push_count INTEGER, regression_count INTEGER, expected_close_date DATE)"""
    )
    for oid, owner, team, region, amount, created, won_at, lost_at in OPPS:
        c, w, lo = _ts(created), _ts(won_at), _ts(lost_at)
        stage = "won" if w else ("lost" if lo else "proposal")
        con.execute(
            "INSERT INTO marts.fct_opportunities VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                oid,
                f"a-{oid}",
                owner,
                team,
                region,
                "website",
                "manufacturing",
                "erp",
                amount,
                "CNY",
                amount,
                c,
                w,
                None,
                lo,
                w is not None,
                (w or lo) is not None,
                not (w or lo),
                stage,
                3,
                (w - c).days if w else None,
                0,
                0,
                date(2026, 9, 30),
            ],
        )
    con.execute(
        """CREATE TABLE marts.dim_users AS SELECT * FROM (VALUES
               ('u1', '张伟', 'sales_rep', 't1', '华东一组', 'east', 'm1', '李娜', TRUE, DATE '2024-03-01'),
               ('u2', '王芳', 'sales_rep', 't2', '华北一组', 'north', 'm2', '刘洋', TRUE, DATE '2023-09-01'))
           AS t(user_id, name, role, team_id, team_name, region, manager_id, manager_name, is_active, hire_date)"""
    )
    con.execute(
        """CREATE TABLE meta.publish_log (published_at TIMESTAMP, run_id VARCHAR, as_of DATE,
                                          row_counts VARCHAR, quality_status VARCHAR)"""
    )
    con.execute(
        "INSERT INTO meta.publish_log VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)",
        [
            datetime(2026, 7, 1, 2, 0),
            "run-1",
            date(2026, 6, 30),
            "{}",
            "passed",
            datetime(2026, 7, 15, 20, 30),
            "run-2",
            AS_OF,
            json.dumps({"marts.fct_opportunities": len(OPPS)}),
            quality_status,
        ],
    )
    con.close()
    os.replace(tmp, path)  # as publish does


QUOTA = 2_000_000  # every rep's monthly quota
_FIGURES = (
    "bookings_cny",
    "won_count",
    "lost_count",
    "win_rate",
    "cycle_days_mean",
    "cycle_days_median",
    "open_pipeline_cny",
    "open_count",
)


def _performance_marts(con) -> None:
    """mart_rep_performance and mart_sales_performance_rollup: the reference figures per rep, team, region and
    the company (their other columns are not read by the overview)."""
    figures = ", ".join(f"{c} DOUBLE" for c in _FIGURES)
    con.execute(
        f"CREATE TABLE marts.mart_rep_performance (user_id VARCHAR, team_id VARCHAR, month DATE, {figures}, "
        "quota_cny DOUBLE)"
    )
    con.execute(
        f"CREATE TABLE marts.mart_sales_performance_rollup (level VARCHAR, group_id VARCHAR, month DATE, {figures})"
    )
    marks = ", ".join("?" for _ in _FIGURES)
    for owner, team in sorted({(o[1], o[2]) for o in OPPS}):
        for m, r in reference_monthly(owner=owner).items():
            con.execute(
                f"INSERT INTO marts.mart_rep_performance VALUES (?, ?, ?, {marks}, ?)",
                [owner, team, m, *(r[c] for c in _FIGURES), QUOTA],
            )
    groups = [("team", t, {"team": t}) for t in sorted({o[2] for o in OPPS})]
    groups += [("region", g, {"region": g}) for g in sorted({o[3] for o in OPPS})] + [("company", "all", {})]
    for level, group_id, only in groups:
        for m, r in reference_monthly(**only).items():
            con.execute(
                f"INSERT INTO marts.mart_sales_performance_rollup VALUES (?, ?, ?, {marks})",
                [level, group_id, m, *(r[c] for c in _FIGURES)],
            )


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def serving(home) -> Path:
    path = home / "serving" / "serving.duckdb"
    build_serving(path)
    return path


def run_app(lang: str | None = None, period: int | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    sign_in(at, Settings.from_env().home, "executive")  # sees everything: the whole-company figures
    if lang:
        at.query_params["lang"] = lang
    if period:
        at.query_params["period"] = str(period)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, object]:
    return {m.label: m for m in at.metric}


# ---- the numbers, independently -------------------------------------------------------------------

JUNE, MAY = date(2026, 6, 1), date(2026, 5, 1)


def test_reference_numbers_are_what_the_page_assertions_assume():
    ref = reference_monthly()
    assert ref[JUNE]["bookings_cny"] == 9_345_678  # o6 + o7
    assert ref[MAY]["bookings_cny"] == 5_500_000  # o3 + o4
    assert (ref[JUNE]["won_count"], ref[JUNE]["lost_count"]) == (2, 1)
    assert (ref[MAY]["won_count"], ref[MAY]["lost_count"]) == (2, 0)
    assert ref[date(2026, 4, 1)]["win_rate"] == 0.0  # two losses, no win: 0, not null
    assert ref[date(2026, 1, 1)]["win_rate"] is None  # nothing closed
    assert ref[JUNE]["cycle_days_mean"] == (47 + 125) / 2
    assert ref[MAY]["cycle_days_mean"] == (66 + 40) / 2
    assert ref[JUNE]["open_pipeline_cny"] == 2_500_000 + 3_000_000 + 700_000  # o9, o10, o11
    assert ref[MAY]["open_pipeline_cny"] == 5_000_000 + 4_345_678 + 1_000_000 + 3_000_000  # o6 o7 o8 o10


# ---- the page -------------------------------------------------------------------------------------


def test_overview_zh_shows_latest_complete_month_vs_previous(serving):
    at = run_app()
    m = metrics(at)
    assert set(m) == {"签约额", "赢率", "平均销售周期", "在手商机金额", "配额完成率"}
    assert m["配额完成率"].value == "233.6%"  # 9,345,678 / (2 reps × 2,000,000)
    assert m["签约额"].value == "¥935万"  # 9,345,678 (June, not the partial July)
    assert m["签约额"].delta == "+¥385万"  # 9,345,678 - 5,500,000
    assert m["赢率"].value == "66.7%"  # 2 / (2 + 1)
    assert m["赢率"].delta == "-33.3 个百分点"  # May: 2 / (2 + 0)
    assert m["平均销售周期"].value == "86.0 天"
    assert m["平均销售周期"].delta == "+33.0 天"
    assert m["在手商机金额"].value == "¥620万"
    assert m["在手商机金额"].delta == "-¥715万"  # 6,200,000 - 13,345,678
    assert m["签约额"].help.startswith("当月赢单")
    assert list(m["签约额"].proto.chart_data) == [
        reference_monthly()[d]["bookings_cny"] for d in COMPLETE
    ]  # sparkline: the default 12-month window, Jul 2025 .. Jun 2026
    assert "数据截至 2026-07-15" in at.caption[0].value
    assert "2026-07-15 20:30" in at.caption[0].value
    assert "质量检查有警告" in str([md.value for md in at.markdown])
    assert len(at.get("plotly_chart")) == 4
    assert at.dataframe[0].value.shape[0] == 12
    assert not at.error


def test_overview_en(serving):
    at = run_app(lang="en")
    m = metrics(at)
    assert m["Bookings"].value == "¥9.3M"
    assert m["Bookings"].delta == "+¥3.8M"
    assert m["Win rate"].value == "66.7%"
    assert m["Win rate"].delta == "-33.3 pp"
    assert m["Mean sales cycle"].value == "86.0 days"
    assert m["Open pipeline"].value == "¥6.2M"
    assert m["Open pipeline"].delta == "-¥7.1M"
    assert m["Bookings"].help == STRINGS["en"]["help.bookings"]
    assert "Data as of 2026-07-15" in at.caption[0].value
    assert at.title[0].value == "Executive overview"


def test_period_query_parameter_narrows_the_window(serving):
    at = run_app(period=6)
    table = at.dataframe[0].value
    months = sorted(table.iloc[:, 0])
    assert months == [f"2026-0{m}" for m in range(1, 7)]  # the last 6 complete months, July excluded
    at = run_app(lang="en", period=24)
    assert at.dataframe[0].value.shape[0] == 12  # all there is
    assert metrics(at)["Bookings"].value == "¥9.3M"


def test_switching_language_and_period_updates_the_url(serving):
    at = run_app()
    assert at.title[0].value == "经营概览"
    at.sidebar.segmented_control(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Executive overview"
    assert at.query_params["lang"] == "en"
    assert metrics(at)["Bookings"].value == "¥9.3M"
    assert at.dataframe[0].value.shape[0] == 12
    at.segmented_control(key="period").set_value(6).run()  # the browser writes bound widgets to the URL
    assert at.dataframe[0].value.shape[0] == 6
    at.sidebar.segmented_control(key="lang").set_value("zh").run()
    assert "lang" not in at.query_params  # the default language keeps the URL clean
    assert metrics(at)["签约额"].value == "¥935万"


def test_table_and_csv_match_the_mart(serving):
    at = run_app(lang="en")
    table = at.dataframe[0].value.set_index("Month")
    ref = reference_monthly()
    for d in COMPLETE:
        row = table.loc[d.strftime("%Y-%m")]
        assert row["Bookings (CNY)"] == ref[d]["bookings_cny"]
        assert row["Open pipeline (CNY)"] == ref[d]["open_pipeline_cny"]
        assert row["Won"] == ref[d]["won_count"]
    assert at.get("download_button")


def test_quality_status_and_a_failed_status_is_visible(home):
    build_serving(home / "serving" / "serving.duckdb", quality_status="failed")
    at = run_app(lang="en")
    assert "Quality checks failed" in str([md.value for md in at.markdown])


def test_empty_state_without_snapshot(home):
    at = run_app()
    assert not at.metric
    assert "还没有可用的数据快照" in at.info[0].value
    assert "salescope run --source" in at.info[0].value
    at = run_app(lang="en")
    assert "salescope run" in at.info[0].value and "No data snapshot yet" in at.info[0].value


def test_unreadable_snapshot_is_a_friendly_error(home):
    path = home / "serving" / "serving.duckdb"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a duckdb file" * 100)
    at = run_app(lang="en")
    assert "could not be read" in at.error[0].value
    assert not at.metric


# ---- query layer ----------------------------------------------------------------------------------


def _as_reference_frame(ref: dict[date, dict]) -> pd.DataFrame:
    df = pd.DataFrame([{"month": pd.Timestamp(m), **r} for m, r in ref.items()])
    return df[list(queries.MONTHLY_COLUMNS)].astype(
        {"win_rate": float, "cycle_days_mean": float, "cycle_days_median": float}
    )


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, check_exact=False
    )


def test_monthly_series_from_mart_and_from_company_group_equal_reference(serving):
    snap = db.current_snapshot(serving)
    mart = queries.monthly_series(snap, Scope.everything())
    company = queries.monthly_series(snap, Scope.everything(), from_performance_marts=True)
    _same(mart, _as_reference_frame(reference_monthly()))
    _same(company, _as_reference_frame(reference_monthly()))


def test_sales_rep_scope_sees_only_own_rows(serving):
    snap = db.current_snapshot(serving)
    rep = Scope(role="sales_rep", user_id="u1", team_id="t1")
    opps = queries.opportunities(snap, rep)
    assert set(opps["owner_user_id"]) == {"u1"}
    assert sorted(opps["opportunity_id"]) == sorted(o[0] for o in OPPS if o[1] == "u1")
    _same(queries.monthly_series(snap, rep), _as_reference_frame(reference_monthly(owner="u1")))


def test_other_scopes_filter_and_fail_closed(serving):
    snap = db.current_snapshot(serving)
    manager = Scope(role="sales_manager", user_id="m2", team_id="t2")
    assert set(queries.opportunities(snap, manager)["team_id"]) == {"t2"}
    _same(queries.monthly_series(snap, manager), _as_reference_frame(reference_monthly(team="t2")))
    regional = Scope(role="executive", region="east")
    assert not regional.is_everything
    assert set(queries.opportunities(snap, regional)["region"]) == {"east"}
    _same(queries.monthly_series(snap, regional), _as_reference_frame(reference_monthly(region="east")))
    assert len(queries.opportunities(snap, Scope.everything())) == len(OPPS)
    for nobody in (Scope(role="sales_rep"), Scope(role="data_steward"), Scope(role="nonsense")):
        assert queries.opportunities(snap, nobody).empty
        assert queries.monthly_series(snap, nobody)["bookings_cny"].sum() == 0
    # a region on top of a rep is no single group of the marts: nothing rather than someone else's figures
    assert (
        queries.monthly_series(snap, Scope(role="sales_rep", user_id="u1", region="north"))["won_count"].sum()
        == 0
    )


def test_scope_values_are_parameters_not_sql():
    sql, params = Scope(role="sales_rep", user_id="u1' OR '1'='1").opportunity_filter("o")
    assert sql == "o.owner_user_id = ?" and params == ["u1' OR '1'='1"]
    with pytest.raises(ValueError):
        Scope.everything().opportunity_filter("o; DROP")
    sql, params = Scope(role="sales_manager", team_id="t1' OR '1'='1").performance_group("p")
    assert sql == "p.level = 'team' AND p.group_id = ?" and params == ["t1' OR '1'='1"]
    assert Scope.everything().performance_group("p") == ("p.level = 'company'", [])
    assert Scope(role="sales_rep").performance_group("p") == ("FALSE", [])  # no id: nothing
    with pytest.raises(ValueError):
        Scope.everything().performance_group("p; DROP")


# ---- connection -----------------------------------------------------------------------------------


def test_connection_is_read_only_without_external_access(serving):
    other = serving.parent / "other.csv"
    other.write_text("a,b\n1,2\n")
    con = db.open_readonly(str(serving))
    try:
        with pytest.raises(duckdb.Error):
            con.execute("CREATE TABLE marts.x (a INTEGER)")
        with pytest.raises(duckdb.PermissionException):
            con.execute("SELECT * FROM read_csv(?)", [str(other)]).fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
    finally:
        con.close()
    cur = db.cursor(db.current_snapshot(serving))  # settings are database-wide: cursors inherit them
    with pytest.raises(duckdb.PermissionException):
        cur.execute("SELECT * FROM read_csv(?)", [str(other)]).fetchall()
    with pytest.raises(duckdb.Error):
        cur.execute("CREATE TABLE marts.x (a INTEGER)")
    cur.close()


def test_reconnects_to_a_republished_snapshot(serving):
    first = db.current_snapshot(serving)
    held = db.connection(first)  # still open while the new snapshot is published
    expected = sum(r["bookings_cny"] for r in reference_monthly().values())
    assert queries.monthly_series(first, Scope.everything())["bookings_cny"].sum() == expected
    build_serving(serving, bookings_scale=2)  # publish again: atomic rename over the old file
    second = db.current_snapshot(serving)
    assert second != first
    total = queries.monthly_series(second, Scope.everything())["bookings_cny"].sum()
    assert total == 2 * expected
    # the connection opened before the publish still reads the old file, undisturbed
    assert held.cursor().execute(
        "SELECT sum(bookings_cny) FROM serving.marts.mart_bookings_monthly"
    ).fetchone()[0] == pytest.approx(expected)


# ---- formatting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "zh", "en"),
    [
        (9_345_678, "¥935万", "¥9.3M"),
        (123_456_789, "¥1.23亿", "¥123.5M"),
        (56_300, "¥5.6万", "¥56.3K"),
        (999_960, "¥100万", "¥1.0M"),
        (5_000, "¥5,000", "¥5.0K"),
        (0, "¥0", "¥0"),
        (-7_145_678, "-¥715万", "-¥7.1M"),
        (None, "—", "—"),
    ],
)
def test_money_format(x, zh, en):
    assert formatting.money(x, "zh") == zh
    assert formatting.money(x, "en") == en


def test_every_label_exists_in_both_languages():
    assert set(STRINGS["zh"]) == set(STRINGS["en"])
