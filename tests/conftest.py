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
