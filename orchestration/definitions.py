"""Dagster definitions: the whole Salescope flow as one asset graph.

Load with ``dagster dev -m orchestration.definitions`` (``salescope ui`` does it for you). The dbt
manifest must have been prepared first (``salescope prepare``; ``salescope run`` and ``ui`` do it).
Schedules (``orchestration.sensors``): ``daily_build`` (files), ``daily_<source>`` when
``SALESCOPE_SOURCE_URL`` is set, ``freshness_hourly``; sensors ``landing_files_changed`` and, reaching people
(``orchestration.notify_sensors``), ``notify_after_publish`` and ``notify_run_failed``.
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from orchestration.assets import dbt_project
from orchestration.graph import ALL_ASSETS, ALL_CHECKS
from orchestration.jobs import freshness_checks, full_build
from orchestration.notify_sensors import notify_after_publish, notify_run_failed
from orchestration.resources import dbt_resource, default_resource
from orchestration.sensors import landing_files_changed, schedules
from salescope.settings import get_settings

defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=[full_build, freshness_checks],
    schedules=schedules(get_settings()),
    sensors=[landing_files_changed, notify_after_publish, notify_run_failed],
    # one process executes the whole run: every step writes the one warehouse in turn anyway, and the
    # process recorded with the run (orchestration.recovery) is then the one doing the work
    executor=in_process_executor,
    resources={
        "salescope": default_resource(),
        "dbt": dbt_resource(dbt_project, get_settings()),
    },
)
