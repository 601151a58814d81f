"""One-way flow, end to end, on the session's published run (``pipeline_home``: scale 0.05, seed 7, no
defects): a clean drop raises no data issue; the ML-weighted forecast lives beside the marts, not inside them.

That a rerun on the same drop and as-of date publishes the same marts is checked by
``tests/test_crash_recovery.py`` (its rerun after a killed run, on a copy of pipeline_home): before issue 11
the rerun's mart_forecast read the first run's ml.deal_scores and published different figures.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest


def test_clean_drop_raises_no_data_issue(pipeline_home):
    """A clean generated drop: zero quality.issues of every kind (collected vs invoiced compares at one rate)."""
    with duckdb.connect(str(pipeline_home / "serving" / "serving.duckdb"), read_only=True) as con:
        kinds = con.execute(
            "SELECT kind, count(*) FROM quality.issues GROUP BY kind ORDER BY kind"
        ).fetchall()
        assert kinds == []
        # the comparison the check makes, recomputed from the mart: never more collected than invoiced
        over = con.execute("""SELECT count(*) FROM marts.mart_collections
                              WHERE collected_at_invoice_rate_cny > invoiced_cny + 0.01""").fetchone()[0]
        # ...while at the payment dates' rates some contracts do look over-collected (the old false alarm)
        fx_noise = con.execute("""SELECT count(*) FROM marts.mart_collections
                                  WHERE collected_cny > invoiced_cny + 0.01""").fetchone()[0]
    assert over == 0
    assert fx_noise > 0


def test_ml_forecast_weights_scores_and_falls_back_to_the_mart(pipeline_home):
    """ml.forecast_weighted = Σ amount × (ML score, else the stage default) over the deals open on the as-of
    date; without any score it reproduces mart_forecast's stage-default figures exactly."""
    from models_ml.forecast import ml_weighted_forecast
    from models_ml.models import STAGE_DEFAULT

    with duckdb.connect(str(pipeline_home / "serving" / "serving.duckdb"), read_only=True) as con:
        as_of = con.execute("SELECT max(as_of) FROM meta.publish_log").fetchone()[0]
        published = con.execute("SELECT * FROM ml.forecast_weighted").df()
        mart = con.execute("SELECT * FROM marts.mart_forecast WHERE reference_date = ?", [as_of]).df()
        snap = con.execute(
            "SELECT opportunity_id, stage, amount_cny::DOUBLE AS amount_cny, expected_close_date "
            "FROM marts.fct_pipeline_snapshots WHERE snapshot_date = ?",
            [as_of],
        ).df()
        scores = con.execute(
            "SELECT opportunity_id, win_probability FROM ml.deal_scores WHERE as_of = ?", [as_of]
        ).df()
    assert len(published) == len(mart) > 0
    # company, as-of month: an independent pandas sum
    row = mart[(mart["level"] == "company") & (mart["period_type"] == "month")].iloc[0]
    due = snap[
        (pd.to_datetime(snap["expected_close_date"]) >= pd.Timestamp(row["period_start"]))
        & (pd.to_datetime(snap["expected_close_date"]) <= pd.Timestamp(row["period_end"]))
    ]
    p = due["opportunity_id"].map(scores.set_index("opportunity_id")["win_probability"])
    p = p.fillna(due["stage"].map(STAGE_DEFAULT))
    expected = float((due["amount_cny"] * p).sum())
    got = published[
        (published["level"] == "company")
        & (published["period_type"] == "month")
        & (pd.to_datetime(published["period_start"]) == pd.Timestamp(row["period_start"]))
    ]
    assert got["weighted_pipeline_cny"].iloc[0] == pytest.approx(expected, rel=1e-9)
    assert got["scored_deals"].iloc[0] == int(due["opportunity_id"].isin(scores["opportunity_id"]).sum()) > 0
    assert got["forecast_current_cny"].iloc[0] == pytest.approx(
        float(row["bookings_to_date_cny"]) + expected, rel=1e-9
    )
    # without scores: the mart's own figures (one definition of a deal's state, one set of stage defaults)
    with duckdb.connect() as mem:  # the two marts it reads, and no ml.deal_scores
        mem.execute("ATTACH ? AS s (READ_ONLY)", [str(pipeline_home / "serving" / "serving.duckdb")])
        mem.execute("CREATE SCHEMA marts")
        for t in ("fct_pipeline_snapshots", "mart_forecast"):
            mem.execute(f"CREATE TABLE marts.{t} AS SELECT * FROM s.marts.{t}")
        mem.execute("DETACH s")  # its ml.deal_scores would show in information_schema
        unscored = ml_weighted_forecast(mem, as_of)
    merged = unscored.merge(
        mart, on=["period_type", "period_start", "level", "group_id"], suffixes=("", "_mart")
    )
    assert len(merged) == len(mart)
    assert (merged["scored_deals"] == 0).all()
    assert merged["weighted_pipeline_cny"].to_numpy() == pytest.approx(
        merged["weighted_pipeline_cny_mart"].astype(float).to_numpy(), abs=1e-6
    )
    assert merged["forecast_current_cny"].to_numpy() == pytest.approx(
        merged["forecast_current_cny_mart"].astype(float).to_numpy(), abs=1e-6
    )
