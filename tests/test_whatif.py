"""The bottleneck simulator (dashboards/whatif.py, `salescope whatif`): its arithmetic on a hand-computed
ten-deal world, its stage figures against independent SQL on the pipeline's snapshot, the scope of its query,
and the command line."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from dashboards import db
from dashboards import sales_queries as sq
from dashboards import whatif as wi
from dashboards.queries import DealFilter
from dashboards.scope import Scope, scope_for

AS_OF = date(2026, 6, 30)  # window: 2025-07-01 .. 2026-06-30

# The hand-computed world: each deal's stage entries (stage, date), its amount and whether it was won.
#   deal  history                                            amount  note
#   D01   ic 01-01, nc 01-11, pr 01-21, ne 02-10, won 03-02   100    20 days in proposal, cycle 60
#   D02   ic 01-01, nc 01-11, pr 01-21, ne 01-23, won 02-20   300     2 days in proposal, cycle 50
#   D03   ic 01-01, nc 01-11, pr 01-21, ne 01-31, lost 02-10  500    passed proposal, lost later
#   D04   ic 02-01, nc 02-11, pr 02-21, won 03-13             200    skipped negotiation, cycle 40
#   D05   ic 02-01, nc 02-11, pr 02-21, lost 03-01           1000    lost at proposal
#   D06   ic 04-01, nc 04-11, pr 04-21 (still there)         1000    open at proposal: not passed
#   D07   ic 03-01, nc 03-11, ne 03-21, won 04-10             400    skipped proposal (reached and passed it)
#   D08   ic 03-01, nc 03-11, lost 03-21                      700
#   D09   ic 05-01, lost 05-11                                700
#   D10   ic 2025-02-01 ... pr 2025-03-01 ... won 2025-05-01 9999    before the window: never counted
# (all dates 2026 unless written)
_WORLD = {
    "D01": (100, [("ic", "01-01"), ("nc", "01-11"), ("pr", "01-21"), ("ne", "02-10"), ("won", "03-02")]),
    "D02": (300, [("ic", "01-01"), ("nc", "01-11"), ("pr", "01-21"), ("ne", "01-23"), ("won", "02-20")]),
    "D03": (500, [("ic", "01-01"), ("nc", "01-11"), ("pr", "01-21"), ("ne", "01-31"), ("lost", "02-10")]),
    "D04": (200, [("ic", "02-01"), ("nc", "02-11"), ("pr", "02-21"), ("won", "03-13")]),
    "D05": (1000, [("ic", "02-01"), ("nc", "02-11"), ("pr", "02-21"), ("lost", "03-01")]),
    "D06": (1000, [("ic", "04-01"), ("nc", "04-11"), ("pr", "04-21")]),
    "D07": (400, [("ic", "03-01"), ("nc", "03-11"), ("ne", "03-21"), ("won", "04-10")]),
    "D08": (700, [("ic", "03-01"), ("nc", "03-11"), ("lost", "03-21")]),
    "D09": (700, [("ic", "05-01"), ("lost", "05-11")]),
    "D10": (
        9999,
        [
            ("ic", "2025-02-01"),
            ("nc", "2025-02-11"),
            ("pr", "2025-03-01"),
            ("ne", "2025-03-11"),
            ("won", "2025-05-01"),
        ],
    ),
}
_SHORT = {"ic": "initial_contact", "nc": "needs_confirmed", "pr": "proposal", "ne": "negotiation"}


def _day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text if len(text) == 10 else f"2026-{text}")


def hand_world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transitions, deals) shaped like fct_stage_transitions and fct_opportunities."""
    rows, deals = [], []
    for opp, (amount, history) in _WORLD.items():
        for i, (short, day) in enumerate(history):
            stage = _SHORT.get(short, short)
            entered = _day(day)
            nxt = history[i + 1] if i + 1 < len(history) else None
            left = _day(nxt[1]) if nxt else None
            until = left if left is not None else pd.Timestamp(AS_OF)
            rows.append(
                {
                    "opportunity_id": opp,
                    "entry_number": i + 1,
                    "stage": stage,
                    "stage_order": wi.STAGE_ORDER.get(stage),  # lost: none
                    "entered_at": entered,
                    "exited_at": left,
                    "days_in_stage": None if stage == "lost" else (until - entered).days,
                    "next_stage": _SHORT.get(nxt[0], nxt[0]) if nxt else None,
                }
            )
        won_at = next((_day(d) for s, d in history if s == "won"), None)
        created = _day(history[0][1])
        deals.append(
            {
                "opportunity_id": opp,
                "is_won": won_at is not None,
                "won_at": won_at,
                "amount_cny": float(amount),
                "cycle_days": (won_at - created).days if won_at is not None else None,
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(deals)


def test_stage_order_is_the_funnel_pages():
    assert wi.STAGES == sq.FUNNEL_STAGES


def test_hand_computed_stage_figures():
    t, d = hand_world()
    s = wi.stage_stats(t, d, AS_OF).set_index("stage")
    # proposal: reached by D01..D07 in the window (D07 by skipping it; D10 before the window) -> n = 7;
    # passed D01 D02 D03 D04 D07 (D05 lost there, D06 still there) -> p = 5/7; won D01 D02 D04 D07 -> w = 4/5;
    # a = (100 + 300 + 200 + 400) / 4 = 250; days in proposal of the passed deals that spent time there:
    # D01 20, D02 2, D03 10, D04 20 -> d = 13
    pr = s.loc["proposal"]
    assert (pr["reached"], pr["passed"], pr["won"]) == (7, 5, 4)
    assert pr["passing_conversion"] == pytest.approx(5 / 7)
    assert pr["downstream_win_rate"] == pytest.approx(4 / 5)
    assert pr["mean_won_amount"] == pytest.approx(250.0)
    assert pr["mean_days"] == pytest.approx(13.0)
    # initial contact: D01..D09 (9), passed all but D09 (8); negotiation: D01 D02 D03 D07 and D04 (skipped it
    # to won) = 5, passed 4 (D03 lost), all won
    assert s.loc["initial_contact", ["reached", "passed", "won"]].tolist() == [9, 8, 4]
    assert s.loc["needs_confirmed", ["reached", "passed", "won"]].tolist() == [8, 7, 4]
    assert s.loc["negotiation", ["reached", "passed", "won"]].tolist() == [5, 4, 4]


def test_hand_computed_change():
    t, d = hand_world()
    r = wi.simulate(t, d, AS_OF, wi.Change("proposal", points=10, days=5))
    # Δbookings = n · x/100 · w · a = 7 · 0.10 · 0.8 · 250 = 140
    assert r.points_applied == 10
    assert r.gain_12m == pytest.approx(140.0)
    # next two quarters: 7 arrivals in 12 months -> 1.75 a quarter -> 3.5; 3.5 · 0.10 · 0.8 · 250 = 70
    assert r.gain_next == pytest.approx(70.0)
    assert r.gain_12m_interval[0] <= r.gain_12m_interval[1]
    # cycle: won in the window D01 60, D02 50, D04 40, D07 40 days -> 47.5; -5 days in proposal: D01 -5,
    # D02 -2 (only 2 days there), D04 -5, D07 0 (skipped it) -> 55, 48, 35, 40 -> 44.5
    assert (r.won_count, r.cycle_before, r.cycle_after) == (4, pytest.approx(47.5), pytest.approx(44.5))
    # +40 points is capped at 100 % - 5/7 = 28.57 points: both deals that did not pass are rescued,
    # each worth w · a = 200 -> 400
    capped = wi.simulate(t, d, AS_OF, wi.Change("proposal", points=40))
    assert capped.points_applied == pytest.approx(100 * 2 / 7)
    assert capped.gain_12m == pytest.approx(400.0)
    assert capped.cycle_before == capped.cycle_after  # no days taken out


def test_the_replay_converges_to_the_formula():
    """Without the bootstrap the replay's mean is the formula's expected value: 20,000 replays, each draw
    with a standard deviation of about 180 (Binomial(2, 0.35) rescues of values 100, 300, 0, 200, 400), so
    a standard error of about 1.3; the tolerance is 5 (about 4 standard errors)."""
    t, d = hand_world()
    reached = wi.reached_deals(t, d, AS_OF, "proposal")
    draws = wi.replay(reached, 10, draws=20_000, seed=1, bootstrap=False)
    assert draws.mean() == pytest.approx(140.0, abs=5.0)
    future = wi.replay(reached, 10, draws=20_000, seed=2, bootstrap=False, future_entries=3.5)
    assert future.mean() == pytest.approx(70.0, abs=5.0)


def test_hand_computed_ranking():
    t, d = hand_world()
    rank = wi.ranking(t, d, AS_OF)
    # +1 point: proposal 7 · 0.01 · 200 = 14; negotiation 5 · 0.01 · 250 = 12.5;
    # needs_confirmed 8 · 0.01 · (1000 / 7) = 11.43; initial_contact 9 · 0.01 · 0.5 · 250 = 11.25
    assert rank["stage"].tolist() == ["proposal", "negotiation", "needs_confirmed", "initial_contact"]
    assert rank["gain_12m"].tolist() == pytest.approx([14.0, 12.5, 80 / 7, 11.25])
    assert rank["gain_next"].tolist() == pytest.approx([7.0, 6.25, 40 / 7, 5.625])
    # proposal also has the lowest passing conversion (5/7 against 8/9, 7/8, 4/5)
    assert rank.loc[rank["is_money_bottleneck"], "stage"].tolist() == ["proposal"]
    assert rank.loc[rank["is_bottleneck"], "stage"].tolist() == ["proposal"]


def test_a_stage_after_won_is_refused():
    with pytest.raises(ValueError, match="initial_contact, needs_confirmed, proposal, negotiation"):
        wi.Change("won", points=1)


# ---- on the pipeline's snapshot (scale 0.05) ------------------------------------------------------------


@pytest.fixture(scope="module")
def serving(pipeline_home):
    path = pipeline_home / "serving" / "serving.duckdb"
    con = duckdb.connect(str(path), read_only=True)
    as_of = con.execute("SELECT max(as_of) FROM meta.publish_log").fetchone()[0]
    yield con, db.current_snapshot(path), as_of
    con.close()


def _sql_stage(con, as_of: date, stage: str, owner: str | None = None) -> tuple[int, float, float, float]:
    """n, p, w, a of a stage by SQL: a deal reaches a stage when it first enters it or a later one."""
    w = wi.Window(as_of)
    k = wi.STAGE_ORDER[stage]
    return con.execute(
        """
        WITH f AS (SELECT opportunity_id, max(stage_order) AS furthest FROM marts.fct_stage_transitions
                   WHERE stage_order IS NOT NULL GROUP BY 1),
             r AS (SELECT opportunity_id, min(entered_at) AS reached_at FROM marts.fct_stage_transitions
                   WHERE stage_order >= ? GROUP BY 1)
        SELECT count(*), avg((f.furthest > ?)::INT),
               count(*) FILTER (WHERE f.furthest > ? AND o.is_won) / count(*) FILTER (WHERE f.furthest > ?),
               avg(o.amount_cny) FILTER (WHERE f.furthest > ? AND o.is_won)
        FROM r JOIN f USING (opportunity_id) JOIN marts.fct_opportunities AS o USING (opportunity_id)
        WHERE r.reached_at >= ? AND r.reached_at < ? AND (? IS NULL OR o.owner_user_id = ?)""",
        [k, k, k, k, k, w.start.to_pydatetime(), w.end.to_pydatetime(), owner, owner],
    ).fetchone()


def test_stage_figures_equal_independent_sql(serving):
    con, snap, as_of = serving
    w = wi.Window(as_of)
    t, d = sq.load_whatif_history(snap, Scope.everything(), DealFilter(), w.start.date())
    stats = wi.stage_stats(t, d, as_of).set_index("stage")
    for stage in ("needs_confirmed", "proposal"):
        n, p, win, amount = _sql_stage(con, as_of, stage)
        assert n > 50
        got = stats.loc[stage]
        assert got["reached"] == n
        assert got["passing_conversion"] == pytest.approx(p)
        assert got["downstream_win_rate"] == pytest.approx(win)
        assert got["mean_won_amount"] == pytest.approx(amount)


def test_a_rep_scope_holds_only_the_reps_deals(serving):
    con, snap, as_of = serving
    rep, team = con.execute(
        """SELECT o.owner_user_id, any_value(o.team_id) FROM marts.fct_opportunities AS o
           JOIN marts.dim_users AS u ON u.user_id = o.owner_user_id WHERE u.role = 'sales_rep'
           GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"""
    ).fetchone()
    since = wi.Window(as_of).start.date()
    t, d = sq.load_whatif_history(snap, scope_for("sales_rep", rep), DealFilter(), since)
    assert len(d) > 10 and set(d["owner_user_id"]) == {rep}
    assert set(t["opportunity_id"]) <= set(d["opportunity_id"])
    n, p, _, _ = _sql_stage(con, as_of, "proposal", owner=rep)
    stats = wi.stage_stats(t, d, as_of).set_index("stage").loc["proposal"]
    assert (stats["reached"], stats["passing_conversion"]) == (n, pytest.approx(p))
    # the rep as a filter of the whole company is the same rows; a manager of another team gets none
    _, d2 = sq.load_whatif_history(snap, Scope.everything(), DealFilter(owner_user_id=rep), since)
    assert d2["opportunity_id"].tolist() == d["opportunity_id"].tolist()
    other = con.execute(
        "SELECT min(team_id) FROM marts.dim_users WHERE team_id IS NOT NULL AND team_id <> ?", [team]
    ).fetchone()[0]
    _, d3 = sq.load_whatif_history(
        snap, Scope(role="sales_manager", team_id=other), DealFilter(owner_user_id=rep), since
    )
    assert d3.empty


def test_cli_prints_the_modules_numbers(serving, pipeline_home):
    from salescope.cli import app

    _, snap, as_of = serving
    w = wi.Window(as_of)
    t, d = sq.load_whatif_history(snap, Scope.everything(), DealFilter(), w.start.date())
    expected = wi.simulate(t, d, as_of, wi.Change("proposal", points=5, days=3))
    res = CliRunner().invoke(
        app,
        ["whatif", "--stage", "proposal", "--conversion", "5", "--days", "3", "--home", str(pipeline_home)],
    )
    assert res.exit_code == 0, res.output
    gained = re.search(r"Bookings gained, last 12 months, CNY\s*│\s*([\d,]+)", res.output)
    assert gained, res.output
    assert int(gained.group(1).replace(",", "")) == round(expected.gain_12m)
    nxt = re.search(r"Bookings gained, next 2 quarters, CNY\s*│\s*([\d,]+)", res.output)
    assert int(nxt.group(1).replace(",", "")) == round(expected.gain_next)
    assert f"{expected.cycle_before:.1f} → {expected.cycle_after:.1f}" in res.output
    assert "Stages by bookings gained per +1 point" in res.output


def test_cli_refuses_a_bad_stage_and_an_empty_scope(pipeline_home, tmp_path):
    from salescope.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["whatif", "--stage", "won", "--home", str(pipeline_home)])
    assert res.exit_code == 2
    assert "initial_contact, needs_confirmed, proposal, negotiation" in " ".join(res.output.split())
    res = runner.invoke(
        app, ["whatif", "--stage", "proposal", "--team", "NO-SUCH", "--home", str(pipeline_home)]
    )
    assert res.exit_code == 2 and "no deals for team NO-SUCH" in " ".join(res.output.split())
    res = runner.invoke(app, ["whatif", "--stage", "proposal", "--home", str(tmp_path)])
    assert res.exit_code == 2 and "run `salescope run` first" in " ".join(res.output.split())


def test_the_funnel_page_shows_the_modules_numbers(pipeline_copy):
    """The simulator section for an executive (AppTest): the cards are the module's numbers for the stage in
    the URL, in both languages' formatting, and the ranking table lists the four open stages."""
    from dashboards import formatting as fmt
    from dashboards import testing
    from dashboards.i18n import t

    path = pipeline_copy / "serving" / "serving.duckdb"
    snap = db.current_snapshot(path)
    con = duckdb.connect(str(path), read_only=True)
    as_of = con.execute("SELECT max(as_of) FROM meta.publish_log").fetchone()[0]
    con.close()
    t_, d = sq.load_whatif_history(snap, Scope.everything(), DealFilter(), wi.Window(as_of).start.date())
    expected = wi.simulate(t_, d, as_of, wi.Change("negotiation", points=5))
    at = testing.open_page(pipeline_copy, "executive", "funnel", params={"sim_stage": "negotiation"})
    assert not at.exception
    cards = testing.metric_values(at)
    assert cards[t("fn.sim.kpi.gain_12m", "zh")] == fmt.money(expected.gain_12m, "zh", signed=True)
    assert cards[t("fn.sim.kpi.gain_next", "zh")] == fmt.money(expected.gain_next, "zh", signed=True)
    assert cards[t("fn.sim.kpi.cycle", "zh")] == fmt.days(expected.cycle_after, "zh")
    table = next(df.value for df in at.dataframe if t("fn.sim.col.gain_12m", "zh") in df.value.columns)
    assert len(table) == len(wi.OPEN_STAGES)
