"""The whole graph at a small scale: generate -> ingest -> dbt build -> quality gate -> publish.

Checked against the generator's manifest (an independent record of what was written and injected),
never against an earlier run's output.
"""

from __future__ import annotations

import duckdb
import pytest

from contract import ENTITIES
from salescope.settings import Settings


def _serving(s):
    return duckdb.connect(str(s.serving_path), read_only=True)


@pytest.fixture(scope="module")
def clean_run(pipeline_home, drop_factory):
    _, manifest = drop_factory(scale=0.05, seed=7, defect_rate=0.0)
    return Settings.from_env(pipeline_home), True, manifest  # pipeline_home asserts that it published


@pytest.fixture(scope="module")
def defect_run(defect_pipeline_home, drop_factory):
    _, manifest = drop_factory(scale=0.05, seed=11, defect_rate=0.02)
    s = Settings.from_env(defect_pipeline_home)
    return s, s.serving_path.exists(), manifest  # the home was fresh: a snapshot there is that run's


def test_clean_drop_publishes_and_conserves_rows(clean_run):
    s, published, manifest = clean_run
    assert published
    con = _serving(s)
    log = {
        e: (read, loaded, q)
        for e, read, loaded, q in con.execute(
            "SELECT entity, rows_read, rows_loaded, rows_quarantined FROM ops.load_log WHERE status = 'loaded'"
        ).fetchall()
    }
    assert set(log) == {e.name for e in ENTITIES}
    for entity, n in manifest["rows"].items():
        read, loaded, quarantined = log[entity]
        assert read == n, entity
        assert read == loaded + quarantined, entity
        assert quarantined == 0, entity
    assert con.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM quality.issues WHERE severity = 'error'").fetchone()[0] == 0


def test_clean_drop_marts_match_source_rows(clean_run):
    s, _, manifest = clean_run
    con = _serving(s)
    assert (
        con.execute("SELECT count(*) FROM marts.fct_opportunities").fetchone()[0]
        == manifest["rows"]["opportunities"]
    )
    assert (
        con.execute("SELECT count(*) FROM marts.dim_accounts").fetchone()[0] == manifest["rows"]["accounts"]
    )
    assert con.execute("SELECT count(*) FROM marts.dim_users").fetchone()[0] == manifest["rows"]["users"]
    status, as_of = con.execute(
        "SELECT quality_status, as_of FROM meta.publish_log ORDER BY published_at DESC LIMIT 1"
    ).fetchone()
    assert status in {"passed", "warnings"}
    assert as_of.isoformat() == manifest["as_of"]


def test_every_injected_defect_is_reported(defect_run):
    s, published, manifest = defect_run
    assert manifest["defects"], "the generator injected nothing at defect rate 0.02"
    con = duckdb.connect(str(s.warehouse_path), read_only=True)
    found = set(con.execute("SELECT entity, record_key, kind FROM quality.issues").fetchall())
    expected = {(d["entity"], d["record_key"], d["kind"]) for d in manifest["defects"]}
    missing = sorted(expected - found)
    assert not missing, f"{len(missing)} of {len(expected)} defects not reported, e.g. {missing[:5]}"
    kinds = {d["kind"] for d in manifest["defects"]}
    assert len(kinds) == 10, kinds
    # conservation holds with defects too, and the quarantine is what the load log says
    for entity, read, loaded, quarantined in con.execute(
        "SELECT entity, rows_read, rows_loaded, rows_quarantined FROM ops.load_log WHERE status = 'loaded'"
    ).fetchall():
        assert read == manifest["rows"][entity]
        assert read == loaded + quarantined
        q_rows = con.execute(
            "SELECT count(DISTINCT source_row) FROM ops.quarantine WHERE entity = ?", [entity]
        ).fetchone()[0]
        assert q_rows == quarantined, entity
    assert published, "a 2% defect rate is not systemic: the snapshot should still publish"


# a rerun of the same drop (loads nothing new, publishes identical marts) is checked on a copy of
# pipeline_home by tests/test_crash_recovery.py, after a killed run
