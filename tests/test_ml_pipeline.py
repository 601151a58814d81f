"""The ML assets in the graph: skipped (never failing) without marts; ml.* published by a whole run."""

from __future__ import annotations

import json

import duckdb

from salescope.settings import Settings


def test_ml_assets_skip_cleanly_when_the_marts_are_missing(tmp_path):
    from dagster import materialize

    from orchestration.ml_assets import ML_ASSETS
    from orchestration.resources import SalescopeResource

    s = Settings.from_env(tmp_path / "home")
    s.ensure_dirs()
    duckdb.connect(str(s.warehouse_path)).close()  # an empty warehouse
    result = materialize(
        ML_ASSETS, resources={"salescope": SalescopeResource(home=str(s.home), source_dir=str(tmp_path))}
    )
    assert result.success
    for mat in result.asset_materializations_for_node("ml_deal_scores"):
        assert mat.metadata["status"].value == "skipped"
        assert "marts.fct_pipeline_snapshots" in mat.metadata["why"].value


def test_run_publishes_ml_tables(pipeline_home):
    s = Settings.from_env(pipeline_home)
    con = duckdb.connect(str(s.serving_path), read_only=True)
    n_open = con.execute("SELECT count(*) FROM marts.fct_opportunities WHERE is_open").fetchone()[0]
    scores = con.execute(
        "SELECT opportunity_id, win_probability, score, reasons, model_version FROM ml.deal_scores"
    ).fetchall()
    assert len(scores) == n_open > 0
    assert all(0 <= p <= 1 and 1 <= sc <= 99 for _, p, sc, _, _ in scores)
    assert all({"positive", "negative"} <= set(json.loads(r)) for *_, r, _ in scores)
    champion = con.execute("SELECT model_version FROM ml.model_registry WHERE is_champion").fetchall()
    assert [(scores[0][4],)] == champion  # scored by the champion
    assert (s.models_dir / "deal_scoring" / champion[0][0] / "metadata.json").exists()
    n_accounts = con.execute("SELECT count(*) FROM marts.dim_accounts").fetchone()[0]
    ltv = con.execute(
        "SELECT count(*), count(DISTINCT account_id), count(tier) FROM ml.customer_ltv"
    ).fetchone()
    assert ltv[0] == ltv[1] == n_accounts and ltv[2] > 0
    lifecycles = {r[0] for r in con.execute("SELECT DISTINCT lifecycle FROM ml.customer_ltv").fetchall()}
    assert lifecycles <= {"prospect", "new", "active", "at_risk", "churned"} and "prospect" in lifecycles
    assert con.execute("SELECT count(*) FROM ml.next_actions").fetchone()[0] > 0
    for t in ("feature_importance", "calibration", "model_metrics", "forecast"):
        assert con.execute(f"SELECT count(*) FROM ml.{t}").fetchone()[0] > 0, t
