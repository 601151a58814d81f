"""Dagster definitions: the whole Salescope flow as one asset graph.

Load with ``dagster dev -m orchestration.definitions`` (``salescope ui`` does it for you). The dbt
manifest must have been prepared first (``salescope prepare``; ``salescope run`` and ``ui`` do it).
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from orchestration.assets import dbt_project
from orchestration.graph import ALL_ASSETS
from orchestration.jobs import full_build
from orchestration.resources import dbt_resource, default_resource
from orchestration.sensors import daily_build, landing_files_changed
from salescope.settings import get_settings

defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[full_build],
    schedules=[daily_build],
    sensors=[landing_files_changed],
    # one process executes the whole run: every step writes the one warehouse in turn anyway, and the
    # process recorded with the run (orchestration.recovery) is then the one doing the work
    executor=in_process_executor,
    resources={
        "salescope": default_resource(),
        "dbt": dbt_resource(dbt_project, get_settings()),
    },
)
