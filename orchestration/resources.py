"""Dagster resources, built from the one settings module."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

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


@dataclass(frozen=True)
class DatabaseSource:
    """The CRM database of SALESCOPE_SOURCE_URL, as the definitions hold it: never with its password."""

    url: str  # the URL without its password
    name: str  # file- and Dagster-name-safe: postgresql_127_0_0_1_5432_crm
    label: str  # postgresql://127.0.0.1:5432/crm (no user, no password): how messages name it


def database_source(settings: Settings) -> DatabaseSource | None:
    """SALESCOPE_SOURCE_URL, or None. A password in the URL is taken off and kept in this process's memory
    (``remember_source_password``): every process that loads the definitions (the UI, the daemon, the run
    it launches) does the same, so neither the run config nor the resource shown in the UI holds it."""
    if not settings.source_url:
        return None
    from ingestion.sql_source import SourceError, open_source, without_password
    from salescope.crm_db.url import CrmDbError
    from salescope.settings import remember_source_password

    try:
        url, password = without_password(settings.source_url)
        source = open_source(url)
    except (CrmDbError, SourceError) as exc:  # their messages never hold the password
        raise ValueError(f"SALESCOPE_SOURCE_URL is not a database URL Salescope reads: {exc}") from None
    if password:
        remember_source_password(source.label, password)
    return DatabaseSource(url=url, name=source.name, label=source.label)


def default_resource() -> SalescopeResource:
    """What a run started from the UI reads: the database of SALESCOPE_SOURCE_URL when set, else the landing
    folder. Schedules and the sensor set their source in their run config."""
    s = get_settings()
    db = database_source(s)
    return SalescopeResource(
        home=str(s.home), source_dir=str(s.landing_dir / "current"), source_url=db.url if db else ""
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
