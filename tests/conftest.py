"""Shared fixtures: generated drops are built once per session and reused (they are byte-deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def drop_factory(tmp_path_factory):
    """generate(scale, seed, defect_rate, fmt, encoding) -> (folder, manifest), cached per arguments."""
    from salescope.generator import generate

    cache: dict[tuple, tuple[Path, dict]] = {}

    def make(scale: float = 0.05, seed: int = 7, defect_rate: float = 0.0, fmt: str = "csv", encoding: str = "utf-8"):
        key = (scale, seed, defect_rate, fmt, encoding)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"drop-{scale}-{seed}-{defect_rate}-{fmt}-{encoding}")
            generate(out, scale=scale, seed=seed, defect_rate=defect_rate, fmt=fmt, encoding=encoding)
            cache[key] = (out, json.loads((out / "_manifest.json").read_text()))
        return cache[key]

    return make


@pytest.fixture(scope="session")
def pipeline_home(tmp_path_factory, drop_factory) -> Path:
    """A SALESCOPE_HOME whose serving snapshot the real graph published (scale 0.05, seed 7, no defects).

    Shared, read-only, by the dashboard tests that compare pages with the marts. Tests that add users or
    change files there must use their own copy."""
    from salescope.cli import run_pipeline
    from salescope.settings import Settings

    drop, _ = drop_factory(scale=0.05, seed=7, defect_rate=0.0)
    home = tmp_path_factory.mktemp("pipeline-home")
    s = Settings.from_env(home)
    s.ensure_dirs()
    assert run_pipeline(s, drop, None), "the clean demo drop did not publish"
    return home


@pytest.fixture(scope="module")
def pipeline_copy(pipeline_home, tmp_path_factory) -> Path:
    """A private SALESCOPE_HOME with a copy of the pipeline's serving snapshot (tests add users to it)."""
    import shutil

    home = tmp_path_factory.mktemp("pipeline-copy")
    (home / "serving").mkdir()
    shutil.copy(pipeline_home / "serving" / "serving.duckdb", home / "serving" / "serving.duckdb")
    mp = pytest.MonkeyPatch()
    mp.setenv("SALESCOPE_HOME", str(home))
    yield home
    mp.undo()
