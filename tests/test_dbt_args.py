"""dbt arguments and profile are built by pure functions: checked without running dbt."""

from __future__ import annotations

from datetime import date

import yaml

from orchestration.dbt_args import build_args, profile_dict, write_profiles


def test_profile_points_at_absolute_warehouse(tmp_path):
    prof = profile_dict(tmp_path / "w" / ".." / "w.duckdb", threads=2)
    out = prof["salescope"]["outputs"]["local"]
    assert out["path"] == str((tmp_path / "w.duckdb").resolve())
    assert out["threads"] == 2 and out["extensions"] == []


def test_build_args_pass_as_of_as_var():
    args = build_args(date(2026, 6, 30), select="fct_opportunities+")
    assert args[0] == "build"
    assert yaml.safe_load(args[args.index("--vars") + 1]) == {"as_of": "2026-06-30"}
    assert args[args.index("--select") + 1] == "fct_opportunities+"
    assert "--vars" not in build_args(None)


def test_write_profiles_is_stable(tmp_path):
    p = write_profiles(tmp_path, tmp_path / "w.duckdb")
    mtime = p.stat().st_mtime_ns
    write_profiles(tmp_path, tmp_path / "w.duckdb")
    assert p.stat().st_mtime_ns == mtime
