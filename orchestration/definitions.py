"""Dagster definitions: the whole Salescope flow as one asset graph.

Load with ``dagster dev -m orchestration.definitions`` (``salescope ui`` does it for you). The dbt
manifest must have been prepared first (``salescope prepare``; ``salescope run`` and ``ui`` do it).
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job

from orchestration.assets import ALL_ASSETS, dbt_project
from orchestration.resources import dbt_resource, default_resource
from salescope.settings import get_settings

full_build = define_asset_job("full_build", selection=AssetSelection.all(), description="ingest -> dbt -> quality -> publish")

defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[full_build],
    schedules=[ScheduleDefinition(job=full_build, cron_schedule="0 6 * * *", execution_timezone="Asia/Shanghai")],
    resources={
        "salescope": default_resource(),
        "dbt": dbt_resource(dbt_project, get_settings()),
    },
)
