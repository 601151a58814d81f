"""Pure functions that build dbt's profile and command-line arguments from the settings.

Kept free of Dagster and of side effects so tests can check them without running dbt.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from salescope.engines import duckdb_output

PROFILE_NAME = "salescope"
TARGET_NAME = "local"


def profile_dict(warehouse_path: Path, threads: int = 1, output: dict | None = None) -> dict:
    """dbt's profiles.yml content: ``output`` (salescope.engines.dbt_output), by default DuckDB at the
    warehouse path."""
    return {
        PROFILE_NAME: {
            "target": TARGET_NAME,
            "outputs": {TARGET_NAME: output or duckdb_output(warehouse_path, threads)},
        }
    }


def write_profiles(
    profiles_dir: Path, warehouse_path: Path, threads: int = 1, output: dict | None = None
) -> Path:
    profiles_dir.mkdir(parents=True, exist_ok=True)
    path = profiles_dir / "profiles.yml"
    text = yaml.safe_dump(profile_dict(warehouse_path, threads, output), sort_keys=False)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def dbt_vars(as_of: date | None, engine_vars: dict | None = None) -> dict:
    return ({"as_of": as_of.isoformat()} if as_of else {}) | (engine_vars or {})


def build_args(as_of: date | None, select: str | None = None, engine_vars: dict | None = None) -> list[str]:
    """Arguments for ``dbt build`` (after the command name); ``engine_vars``: salescope.engines.dbt_vars."""
    args = ["build"]
    v = dbt_vars(as_of, engine_vars)
    if v:
        args += ["--vars", yaml.safe_dump(v, default_flow_style=True).strip()]
    if select:
        args += ["--select", select]
    return args


def common_flags(project_dir: Path, profiles_dir: Path, target_path: Path) -> list[str]:
    return [
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
        "--target-path",
        str(target_path),
    ]
