"""Prepare the dbt project once (``dbt parse`` -> manifest.json), outside module import.

The CLI calls ``ensure_manifest`` before it loads the Dagster definitions; it re-parses only when a
file of the dbt project is newer than the manifest.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.dbt_args import write_profiles
from salescope.engines import dbt_output
from salescope.settings import DBT_PROJECT_DIR, Settings

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"


def profiles_dir(settings: Settings) -> Path:
    return settings.home / "dbt"


def _newest_source_mtime() -> float:
    files = [
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.is_file()
        and "target" not in p.parts
        and "logs" not in p.parts
        and p.suffix in {".sql", ".yml", ".yaml", ".md", ".csv"}
    ]
    return max((p.stat().st_mtime for p in files), default=0.0)


def manifest_is_current() -> bool:
    return MANIFEST_PATH.exists() and MANIFEST_PATH.stat().st_mtime >= _newest_source_mtime()


def ensure_manifest(settings: Settings, force: bool = False) -> Path:
    write_profiles(
        profiles_dir(settings), settings.warehouse_path, settings.dbt_threads, dbt_output(settings)
    )
    if force or not manifest_is_current():
        from dbt.cli.main import dbtRunner

        res = dbtRunner().invoke(
            [
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(profiles_dir(settings)),
                "--target-path",
                str(MANIFEST_PATH.parent),
            ]
        )
        if not res.success:
            raise RuntimeError(
                f"dbt parse failed: {res.exception}. Run `dbt parse` in {DBT_PROJECT_DIR} to see why."
            )
    return MANIFEST_PATH


def mart_contracts(manifest_path: Path = MANIFEST_PATH) -> dict[str, list[tuple[str, str]]]:
    """The tables of schema marts and their contracts' columns, from the manifest: what an engine other
    than DuckDB copies back into warehouse.duckdb (salescope.engines.fetch_marts)."""
    import json

    nodes = json.loads(manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    return {
        node["alias"]: [(c["name"], c["data_type"]) for c in node["columns"].values()]
        for node in sorted(nodes, key=lambda n: n["alias"])
        if node["resource_type"] == "model"
        and node["schema"] == "marts"
        and node["config"]["materialized"] in ("table", "incremental")
    }
