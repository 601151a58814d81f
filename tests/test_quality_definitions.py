"""The suites are asset checks on the assets they validate; dbt tests are checks too; GX loads lazily."""

from __future__ import annotations

import subprocess
import sys

from salescope.settings import REPO_ROOT, Settings


def test_suites_are_checks_on_the_validated_assets(tmp_path, monkeypatch):
    from orchestration.dbt_prepare import ensure_manifest

    monkeypatch.setenv("SALESCOPE_HOME", str(tmp_path / "home"))
    ensure_manifest(Settings.from_env())
    from dagster import AssetCheckKey, AssetKey

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = set(graph.asset_check_keys)
    for entity in ("opportunities", "activities", "payments"):
        assert AssetCheckKey(AssetKey(["crm", entity]), "raw_suite") in checks
        assert AssetCheckKey(AssetKey(["crm", entity]), "operational") in checks
    for mart in ("fct_opportunities", "mart_bookings_monthly"):
        assert AssetCheckKey(AssetKey(["marts", mart]), "mart_suite") in checks
    # dbt's own tests surface as checks on the models they test
    fct = [
        k
        for k in checks
        if k.asset_key == AssetKey(["marts", "fct_opportunities"]) and k.name != "mart_suite"
    ]
    assert any(k.name.startswith(("unique_", "not_null_")) for k in fct), fct
    # publish still comes after the gate
    assert AssetKey(["quality_gate"]) in graph.get(AssetKey(["serving_snapshot"])).parent_keys


def test_great_expectations_is_imported_lazily():
    code = (
        "import sys, salescope.cli, data_quality.runner, data_quality.report, salescope.commands.quality\n"
        "assert 'great_expectations' not in sys.modules, 'GX imported eagerly'\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
