"""The Dagster definitions load and validate, with the dbt manifest prepared outside import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from salescope.settings import REPO_ROOT, Settings


def test_definitions_validate(tmp_path):
    from orchestration.dbt_prepare import ensure_manifest

    s = Settings.from_env(tmp_path / "home")
    s.ensure_dirs()
    ensure_manifest(s)
    env = {**os.environ, "SALESCOPE_HOME": str(s.home), "DAGSTER_HOME": str(s.dagster_home)}
    dagster = Path(sys.executable).parent / "dagster"
    res = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]


def test_asset_graph_shape(tmp_path, monkeypatch):
    from orchestration.dbt_prepare import ensure_manifest

    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path / "home"))
    ensure_manifest(Settings.from_env())
    from dagster import AssetKey

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    assert AssetKey(["crm", "opportunities"]) in keys
    assert AssetKey(["marts", "fct_opportunities"]) in keys
    # lineage: the dbt staging model reads the ingested crm asset; publish comes after the gate
    assert (
        AssetKey(["crm", "opportunities"])
        in graph.get(AssetKey(["staging", "stg_crm__opportunities"])).parent_keys
    )
    assert AssetKey(["quality_gate"]) in graph.get(AssetKey(["serving_snapshot"])).parent_keys
    for key in (
        AssetKey(["crm", "opportunities"]),
        AssetKey(["marts", "fct_opportunities"]),
        AssetKey(["serving_snapshot"]),
    ):
        assert graph.get(key).pools == {"warehouse"}, key
    # one way (issue 11): the seed is a dbt asset the forecast mart reads; no dbt model depends on ML; the
    # ML-weighted forecast comes after the deal scores and the mart, and before the publish
    seed = AssetKey(["seeds", "stage_probabilities"])
    forecast = graph.get(AssetKey(["marts", "mart_forecast"]))
    assert seed in forecast.parent_keys
    assert not any(k.path[0].startswith("ml") for k in forecast.parent_keys)
    weighted = graph.get(AssetKey(["ml_forecast_weighted"]))
    assert {AssetKey(["ml_deal_scores"]), forecast.key} <= weighted.parent_keys
    assert weighted.key in graph.get(AssetKey(["serving_snapshot"])).parent_keys
    # issue 12 part 4: the freshness checks run apart (hourly), never inside a build
    assert [n.name for n in defs.resolve_job_def("freshness_checks").graph.nodes] == ["crm_freshness"]
    assert "crm_freshness" not in {n.name for n in defs.resolve_job_def("full_build").graph.nodes}
    assert {s.name for s in defs.schedules} == {"daily_build", "freshness_hourly"}
    staging = [k for k in keys if k.path[0] == "staging"]
    assert staging and all(p.path[0] == "crm" for k in staging for p in graph.get(k).parent_keys)


def test_landing_sensor_fingerprint(tmp_path):
    from orchestration.sensors import landing_fingerprint

    assert landing_fingerprint(tmp_path / "absent") is None
    assert landing_fingerprint(tmp_path) is None
    (tmp_path / "_manifest.json").write_text("{}")
    assert landing_fingerprint(tmp_path) is None  # underscore files are not data
    f = tmp_path / "accounts.csv"
    f.write_text("account_id\nA1\n")
    first = landing_fingerprint(tmp_path)
    assert first and landing_fingerprint(tmp_path) == first
    f.write_text("account_id\nA1\nA2\n")
    assert landing_fingerprint(tmp_path) != first
