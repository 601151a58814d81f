"""The bookings forecast (ml.forecast, ml.forecast_accuracy): the hazard and Markov arithmetic against hand
computations, censored training labels, and the published tables against independent SQL over the snapshot."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from models_ml import bookings_forecast as bf
from models_ml import forecast_backtest as fb
from models_ml.run_rate import created_and_won, forecast_series

D = np.datetime64


def _states(origin: date, **deals: dict) -> pd.DataFrame:
    """Open-deal rows as ``open_at`` returns them, one per keyword (the opportunity id)."""
    base = {
        "stage": "negotiation",
        "amount_cny": 100.0,
        "expected_close_date": D("2026-02-20", "ns"),
        "days_in_stage": 10.0,
        "deal_age_days": 40.0,
        "push_count": 0,
        "regression_count": 0,
        "amount_change_count": 0,
        "touchpoints_30d": 3,
        "days_since_last_touch": 2,
        "has_proposal_doc": True,
        "has_demo": False,
        "has_decision_maker_contact": True,
    }
    rows = [{**base, **v, "opportunity_id": k, "origin": D(origin, "ns")} for k, v in deals.items()]
    return pd.DataFrame(rows)


def test_intervals_run_from_the_origin_to_its_month_end_then_whole_months():
    assert bf.intervals(date(2026, 1, 15), 3) == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ]
    rows = bf.interval_rows(_states(date(2026, 1, 15), a={}), 3)
    # 17 of January's 31 days are left; the deal's expected close (Feb 20) is 19 days into interval 1
    assert rows["interval_share"].tolist() == pytest.approx([17 / 31, 1.0, 1.0])
    assert rows["close_from_start"].tolist() == [36.0, 19.0, -9.0]
    assert rows["month_in_quarter"].tolist() == [1, 2, 3]


def test_win_probability_is_the_hazard_times_the_chance_of_still_being_open():
    # without a classifier every interval has the base rates: open 0.7, won 0.2, lost 0.1, so
    # P(won in j) = 0.7^j × 0.2 → 0.2, 0.14, 0.098
    model = bf.HazardModel(None, np.array([0.7, 0.2, 0.1]), np.arange(3))
    rows = bf.interval_rows(_states(date(2026, 1, 1), a={}, b={"amount_cny": 50.0}), 3)
    p = bf.win_by_interval(model, rows)
    assert p[p["opportunity_id"] == "a"]["p_won"].tolist() == pytest.approx([0.2, 0.14, 0.098])
    assert p.groupby("opportunity_id")["p_won"].sum().tolist() == pytest.approx([0.438, 0.438])


def test_training_labels_count_an_outcome_in_its_interval_and_drop_closed_deals():
    # origin Jan 15: A won Feb 10, B lost Jan 20, C still open
    deals = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c"],
            "won_on": [D("2026-02-10", "ns"), np.datetime64("NaT", "ns"), np.datetime64("NaT", "ns")],
            "closed_on": [D("2026-02-10", "ns"), D("2026-01-20", "ns"), np.datetime64("NaT", "ns")],
        }
    )
    rows = bf.label_rows(bf.interval_rows(_states(date(2026, 1, 15), a={}, b={}, c={}), 3), deals)
    got = {(r.opportunity_id, r.j): r.outcome for r in rows.itertuples()}
    assert got == {
        ("a", 0): bf.OPEN,
        ("a", 1): bf.WON,  # A is not at risk in March: it closed before
        ("b", 0): bf.LOST,
        ("c", 0): bf.OPEN,
        ("c", 1): bf.OPEN,
        ("c", 2): bf.OPEN,
    }


def test_the_markov_baseline_wins_along_the_chain():
    # negotiation: won 0.5, lost 0.2, stays 0.3 a month → won in month 0, 1, 2: 0.5, 0.15, 0.045
    n = len(fb.STATES)
    p = np.eye(n)
    neg, won, lost = fb.STATES.index("negotiation"), fb.STATES.index("won"), fb.STATES.index("lost")
    p[neg] = 0
    p[neg, [won, lost, neg]] = [0.5, 0.2, 0.3]
    got = fb.markov_win_by_month(p, 3)[neg]
    assert got.tolist() == pytest.approx([0.5, 0.15, 0.045])


def test_new_pipeline_counts_deals_created_after_the_state_snapshot_and_won_in_the_interval():
    # origin Mar 1; the open-pipeline part starts from the snapshot of Sunday Feb 22, so a deal created on
    # Feb 27 is new pipeline; one created on Feb 20 was on that snapshot (open pipeline)
    snapshots = np.array([D("2026-02-15", "ns"), D("2026-02-22", "ns"), D("2026-03-01", "ns")])
    deals = pd.DataFrame(
        {
            "created_on": pd.to_datetime(
                ["2026-03-01", "2026-03-10", "2026-02-27", "2026-02-20", "2026-03-02"]
            ),
            "won_on": pd.to_datetime(["2026-03-20", "2026-04-02", "2026-03-05", "2026-03-06", None]),
            "amount_cny": [10.0, 20.0, 40.0, 160.0, 80.0],
        }
    )
    assert created_and_won(deals, date(2026, 3, 1), 0, snapshots) == 50.0
    assert created_and_won(deals, date(2026, 3, 1), 1, snapshots) == 20.0
    # fewer than 12 months of history: the mean; 12 to 23: the same month a year before
    assert forecast_series(pd.Series([1.0, 3.0]), 1).forecast == 2.0
    assert forecast_series(pd.Series(np.arange(14.0)), 1).forecast == 2.0
    assert forecast_series(pd.Series(np.arange(14.0)), 1).method == "seasonal_naive"


# ---- the published tables (the shared scale-0.05 pipeline) ------------------------------------------------


@pytest.fixture(scope="module")
def con(pipeline_home):
    c = duckdb.connect(str(pipeline_home / "serving" / "serving.duckdb"), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def forecast(con) -> pd.DataFrame:
    df = con.execute("SELECT * FROM ml.forecast").df()
    assert len(df), "ml.forecast is empty"
    return df


def _as_of(forecast: pd.DataFrame) -> date:
    return pd.Timestamp(forecast["as_of"].iloc[0]).date()


def test_won_to_date_is_the_bookings_so_far(con, forecast):
    as_of = _as_of(forecast)
    company = forecast[(forecast["level"] == "company") & (forecast["component"] == "won_to_date")]
    assert len(company) == 6  # four months and two quarters
    for r in company.itertuples():
        (booked,) = con.execute(
            """SELECT coalesce(sum(amount_cny), 0)::DOUBLE FROM marts.fct_opportunities
               WHERE CAST(won_at AS DATE) BETWEEN ? AND ?""",
            [r.period, as_of],
        ).fetchone()
        assert r.forecast_cny == pytest.approx(booked, rel=1e-9, abs=0.01), r.period


def test_components_add_up_and_groups_add_up_to_the_company(forecast):
    wide = forecast.pivot_table(
        index=["period_type", "period", "level", "group_id"], columns="component", values="forecast_cny"
    )
    parts = wide["won_to_date"] + wide["open_pipeline"] + wide["new_pipeline"]
    assert np.allclose(wide["total"], parts, rtol=1e-9)
    sums = forecast.groupby(["period_type", "period", "component", "level"])["forecast_cny"].sum().unstack()
    for level in ("region", "team", "rep"):
        assert np.allclose(sums[level], sums["company"], rtol=1e-6), level
    assert (forecast["low_cny"] <= forecast["high_cny"] + 1e-6).all()


def test_open_pipeline_is_a_share_of_the_open_deals(con, forecast):
    as_of = _as_of(forecast)
    (open_amount,) = con.execute(
        """SELECT sum(s.amount_cny)::DOUBLE FROM marts.fct_pipeline_snapshots AS s
           WHERE s.snapshot_date = ?""",
        [as_of],
    ).fetchone()
    op = forecast[(forecast["level"] == "company") & (forecast["component"] == "open_pipeline")].set_index(
        ["period_type", "period"]
    )["forecast_cny"]
    months = op.loc["month"]
    assert 0 < months.sum() <= open_amount
    # the current quarter is its months that the forecast covers (the months before the as-of add nothing)
    q0 = op.loc["quarter"].iloc[0]
    q_start = pd.Timestamp(op.loc["quarter"].index[0]).date()
    in_q = [m for m in months.index if q_start <= pd.Timestamp(m).date() < bf.month_start(q_start, 3)]
    assert q0 == pytest.approx(months.loc[in_q].sum(), rel=1e-9)


def test_backtest_actuals_are_monthly_bookings_and_wape_is_recomputed(con):
    rows = con.execute("SELECT * FROM ml.forecast_accuracy").df()
    assert set(rows["method"]) == set(fb.METHODS)
    assert rows["period"].nunique() >= 3  # SALESCOPE_ML_TRAINING=fast backtests three months
    actual = rows.groupby("period")["actual_cny"].first()
    for period, value in actual.items():
        (booked,) = con.execute(
            """SELECT coalesce(sum(amount_cny), 0)::DOUBLE FROM marts.fct_opportunities
               WHERE date_trunc('month', won_at) = ?""",
            [period],
        ).fetchone()
        assert value == pytest.approx(booked, rel=1e-9, abs=0.01), period
    summary = con.execute("SELECT * FROM ml.forecast_accuracy_summary").df()
    sel = rows[(rows["method"] == "model") & (rows["origin_type"] == "month_start") & (rows["horizon"] == 0)]
    wape = (sel["forecast_cny"] - sel["actual_cny"]).abs().sum() / sel["actual_cny"].sum()
    got = summary[
        (summary["method"] == "model") & (summary["origin_type"] == "month_start") & (summary["horizon"] == 0)
    ]["wape"]
    assert got.iloc[0] == pytest.approx(wape, rel=1e-9)
    # every forecast was made before its target month ended, from an origin inside or before it
    assert (pd.to_datetime(rows["origin"]) <= pd.to_datetime(rows["period"]) + pd.Timedelta(days=14)).all()


def test_a_recent_backtest_is_kept_with_its_model_and_an_old_one_rerun(con, tmp_path):
    from models_ml.forecast import FAST_FORECAST, bookings_forecast, stored_accuracy_as_of

    as_of = stored_accuracy_as_of(con)
    assert as_of is not None
    # a week after the stored backtest (or retrain_days 0): refit, rerun, save; within the week the saved
    # model forecasts
    refit = bookings_forecast(con, as_of, 0, cfg=FAST_FORECAST, model_dir=tmp_path)
    kept = bookings_forecast(con, as_of, 7, cfg=FAST_FORECAST, model_dir=tmp_path)
    assert refit.accuracy is not None and refit.training_rows > 0
    assert kept.accuracy is None and kept.training_rows == 0
    pd.testing.assert_frame_equal(kept.forecast, refit.forecast)
