"""A systemic failure never reaches the serving snapshot: the gate blocks, the previous file stays byte-identical.

One home per module: a run at defect rate 0.02 publishes (with warnings); then three broken runs on the
same home (a copy of the shared defect home) must each be blocked, naming what failed and where: 30% of
opportunities without amounts, a drop without its payments file and a corrupted mart (the graph without
dbt: ingest and the gate re-run on the built warehouse, to keep the suite at three full pipeline builds).
"""

from __future__ import annotations

import csv
import hashlib
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from contract import ENTITIES
from salescope.cli import app
from salescope.settings import Settings


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def home(defect_pipeline_home, drop_factory, tmp_path_factory):
    drop, manifest = drop_factory(scale=0.05, seed=11, defect_rate=0.02)
    home = tmp_path_factory.mktemp("quality-home") / "home"  # a private copy: these tests break things
    shutil.copytree(defect_pipeline_home, home, ignore=shutil.ignore_patterns("logs", "run.lock"))
    s = Settings.from_env(home)
    return s, drop, manifest, s.serving_path.exists()


def _materialize(s: Settings, source, keys):
    from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterInstance, materialize

    from orchestration.assets import QUALITY_CHECKS, dbt_project
    from orchestration.graph import ALL_ASSETS
    from orchestration.resources import SalescopeResource, dbt_resource

    resources = {
        "salescope": SalescopeResource(home=str(s.home), source_dir=str(source), as_of=""),
        "dbt": dbt_resource(dbt_project, s),
    }
    return materialize(
        ALL_ASSETS,
        # the gate's op holds every suite's check: select them with it
        selection=AssetSelection.assets(*[AssetKey(k) for k in keys])
        | AssetSelection.checks(*[AssetCheckKey(c.asset_key, c.name) for c in QUALITY_CHECKS]),
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _failure_text(result) -> str:
    return "\n".join(ev.step_failure_data.error.message for ev in result.all_events if ev.is_step_failure)


def test_a_few_defects_publish_with_warnings(home):
    s, _, _, published = home
    assert published
    con = duckdb.connect(str(s.serving_path), read_only=True)
    assert con.execute("SELECT quality_status FROM meta.publish_log").fetchall() == [("warnings",)]
    # the stewards' summary is published with the snapshot; docs exist and agree with it
    suites = dict(con.execute("SELECT suite, status FROM quality.summary").fetchall())
    assert suites["raw.activities"] == "warnings" and "failed" not in suites.values()
    assert suites["marts.mart_bookings_monthly"] == "passed"
    index = (s.quality_docs_dir / "index.html").read_text(encoding="utf-8")
    for suite, status in suites.items():
        assert suite in index and status in index


def test_missing_amounts_block_the_publish(home, tmp_path):
    s, drop, _, _ = home
    bad = tmp_path / "drop"
    shutil.copytree(drop, bad)
    path = bad / "opportunities.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    blanked = [r["opportunity_id"] for i, r in enumerate(rows) if i % 10 < 3]
    for i, r in enumerate(rows):
        if i % 10 < 3:
            r["amount"] = ""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    before = _sha(s.serving_path)

    # the graph without dbt (the raw suites judge the new load; the marts are the built ones)
    result = _materialize(
        s, bad, [["crm", e.name] for e in ENTITIES] + [["quality_gate"], ["serving_snapshot"]]
    )
    assert not result.success
    text = _failure_text(result)
    assert "raw.opportunities" in text and "quarantined share" in text  # what failed and where
    assert _sha(s.serving_path) == before

    quality = CliRunner().invoke(
        app, ["quality", "--home", str(s.home), "--fix-list", str(tmp_path / "fix.csv")]
    )
    assert quality.exit_code == 1
    with (tmp_path / "fix.csv").open(encoding="utf-8-sig") as fh:
        fixes = [
            r
            for r in csv.DictReader(fh)
            if r["entity"] == "opportunities" and r["kind"] == "missing_required"
        ]
    assert {r["record_key"] for r in fixes} >= set(blanked)
    assert all(r["column"] == "amount" and r["fix"] for r in fixes if r["record_key"] in blanked)
    index = (s.quality_docs_dir / "index.html").read_text(encoding="utf-8")
    assert "FAILED" in index and "raw.opportunities" in index
    assert any(key in index for key in blanked)


def test_missing_entity_file_blocks_the_publish(home, tmp_path):
    s, drop, _, _ = home
    bad = tmp_path / "drop"
    shutil.copytree(drop, bad)
    (bad / "payments.csv").unlink()
    before = _sha(s.serving_path)
    result = _materialize(
        s, bad, [["crm", e.name] for e in ENTITIES] + [["quality_gate"], ["serving_snapshot"]]
    )
    assert not result.success
    text = _failure_text(result)
    assert "ops.payments" in text and "entity file present in the drop" in text
    assert _sha(s.serving_path) == before


def test_corrupted_mart_blocks_the_publish(home):
    from dagster import AssetCheckSeverity, AssetKey

    s, drop, _, _ = home
    con = duckdb.connect(str(s.warehouse_path))
    month = con.execute(
        "SELECT month FROM marts.mart_bookings_monthly WHERE bookings_cny > 0 ORDER BY month LIMIT 1"
    ).fetchone()[0]
    con.execute(
        "UPDATE marts.mart_bookings_monthly SET bookings_cny = bookings_cny + 1000 WHERE month = ?", [month]
    )
    con.close()
    before = _sha(s.serving_path)
    result = _materialize(s, drop, [["quality_gate"], ["serving_snapshot"]])
    assert not result.success
    assert "marts.mart_bookings_monthly" in _failure_text(result) and str(month) in _failure_text(result)
    assert _sha(s.serving_path) == before
    evals = {(e.asset_key, e.check_name): e for e in result.get_asset_check_evaluations()}
    check = evals[(AssetKey(["marts", "mart_bookings_monthly"]), "mart_suite")]
    assert not check.passed and check.severity == AssetCheckSeverity.ERROR
    assert evals[(AssetKey(["crm", "activities"]), "raw_suite")].severity == AssetCheckSeverity.WARN
