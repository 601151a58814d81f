"""Pure functions that build dbt's profile and command-line arguments from the settings.

Kept free of Dagster and of side effects so tests can check them without running dbt.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

PROFILE_NAME = "salescope"
TARGET_NAME = "local"


def profile_dict(warehouse_path: Path, threads: int = 1) -> dict:
    """dbt's profiles.yml content: DuckDB at the absolute warehouse path; no extensions to download."""
    return {
        PROFILE_NAME: {
            "target": TARGET_NAME,
            "outputs": {
                TARGET_NAME: {
                    "type": "duckdb",
                    "path": str(Path(warehouse_path).resolve()),
                    "threads": int(threads),
                    "schema": "main",
                    "extensions": [],
                }
            },
        }
    }


def write_profiles(profiles_dir: Path, warehouse_path: Path, threads: int = 1) -> Path:
    profiles_dir.mkdir(parents=True, exist_ok=True)
    path = profiles_dir / "profiles.yml"
    text = yaml.safe_dump(profile_dict(warehouse_path, threads), sort_keys=False)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def dbt_vars(as_of: date | None) -> dict:
    return {"as_of": as_of.isoformat()} if as_of else {}


def build_args(as_of: date | None, select: str | None = None) -> list[str]:
    """Arguments for ``dbt build`` (after the command name)."""
    args = ["build"]
    v = dbt_vars(as_of)
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
