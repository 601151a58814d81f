"""Dagster resources, built from the one settings module."""

from __future__ import annotations

from contextlib import contextmanager

import duckdb
from dagster import ConfigurableResource, InitResourceContext

from salescope.settings import Settings, get_settings


class SalescopeResource(ConfigurableResource):
    """Where this run reads its drop (a folder, or a CRM database URL without its password) and writes its
    warehouse, and its as-of date ('' = derive). The database password never passes through here: the
    ingest step takes it from the settings (the CLI's memory, SALESCOPE_SOURCE_PASSWORD or the secrets file)."""

    home: str
    source_dir: str
    as_of: str = ""
    source_url: str = ""
    compare_keys: bool = True  # look for hard deletes (every source key against raw) in this run

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # record the process executing the run, so a later run can tell it died (orchestration.recovery);
        # runs the Dagster daemon launches get it here, `salescope run` also sets it at creation
        if context.instance is not None and context.run_id:
            from orchestration.recovery import tag_run

            tag_run(context.instance, context.run_id)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.home)

    @contextmanager
    def warehouse(self):
        """The single writer connection to warehouse.duckdb (every writing asset runs in pool 'warehouse')."""
        path = self.settings.warehouse_path
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
        try:
            yield con
        finally:
            con.close()


def default_resource() -> SalescopeResource:
    s = get_settings()
    return SalescopeResource(
        home=str(s.home), source_dir=str(s.landing_dir / "current"), source_url=s.source_url
    )


def dbt_resource(project, settings: Settings):
    """dbt CLI resource using the dbt of this interpreter's environment and the profile from the settings."""
    import sys
    from pathlib import Path

    from dagster_dbt import DbtCliResource

    from orchestration.dbt_prepare import profiles_dir

    return DbtCliResource(
        project_dir=project,
        profiles_dir=str(profiles_dir(settings)),
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    )
