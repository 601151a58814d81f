"""Schedules and sensors: a daily build per source, a build whenever the landing folder changes, and the
hourly freshness checks.

Names are stable (they key the schedules' state and history in Dagster's storage):

- ``daily_build``: the export files of ``SALESCOPE_HOME/landing/current``, every day at 06:00 Asia/Shanghai;
  skipped (with the reason) when that folder holds no export file.
- ``landing_files_changed``: the same files, as soon as they are added or changed (checked every 60 s).
- ``daily_<source name>``, e.g. ``daily_postgresql_127_0_0_1_5432_crm``: only when ``SALESCOPE_SOURCE_URL``
  is set, the CRM database's incremental extraction, every day at 06:00 Asia/Shanghai. Named after the
  database (dialect, host, port, database; never a user or password), so a second source gets a schedule of
  its own. On by default: setting the variable is the opt-in.
- ``freshness_hourly``: the ``loaded_recently`` checks of every ``crm/<entity>`` at minute 5 of every hour
  (``orchestration.freshness``), on by default: they read the load log and build nothing.

Each schedule and the sensor name its source in the run config (resource ``salescope``), so a files run
never reads the database and the reverse, whatever the UI's default is.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    schedule,
    sensor,
)

from orchestration.jobs import freshness_checks, full_build
from orchestration.resources import DatabaseSource, database_source
from salescope.settings import BUSINESS_TZ, Settings, get_settings

DAILY_CRON = "0 6 * * *"  # 06:00 Asia/Shanghai: before the sales team's day starts
FRESHNESS_CRON = "5 * * * *"  # every hour, at minute 5


def _run_config(settings: Settings, source_url: str) -> dict:
    # a resource's run config replaces its whole config: every required field is given
    folder = settings.landing_dir / "current"
    config = {"home": str(settings.home), "source_dir": str(folder), "source_url": source_url}
    return {"resources": {"salescope": {"config": config}}}


def files_run_config(settings: Settings) -> dict:
    """Run config of a files build: the landing folder, never a database."""
    return _run_config(settings, "")


def database_run_config(settings: Settings, source: DatabaseSource) -> dict:
    """Run config of a database build: the URL without its password (run configs are stored and shown)."""
    return _run_config(settings, source.url)


@schedule(
    name="daily_build",
    job=full_build,
    cron_schedule=DAILY_CRON,
    execution_timezone=BUSINESS_TZ,
    description="Full build from the export files in SALESCOPE_HOME/landing/current, at 06:00 Asia/Shanghai",
)
def daily_build(context: ScheduleEvaluationContext):
    settings = get_settings()
    folder = settings.landing_dir / "current"
    if landing_fingerprint(folder) is None:
        return SkipReason(f"no export files in {folder}")
    return RunRequest(run_config=files_run_config(settings), tags={"salescope/source": "files"})


def database_schedule(settings: Settings, source: DatabaseSource) -> ScheduleDefinition:
    """The daily build of one CRM database: its incremental extraction, then dbt, quality, ML, publish."""
    return ScheduleDefinition(
        name=f"daily_{source.name}",
        job=full_build,
        cron_schedule=DAILY_CRON,
        execution_timezone=BUSINESS_TZ,
        run_config=database_run_config(settings, source),
        tags={"salescope/source": source.label},
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Full build from the CRM database {source.label} (what changed since the last run), "
        "at 06:00 Asia/Shanghai",
    )


freshness_hourly = ScheduleDefinition(
    name="freshness_hourly",
    job=freshness_checks,
    cron_schedule=FRESHNESS_CRON,
    execution_timezone=BUSINESS_TZ,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Has every crm/<entity> loaded within 26 h? (asset checks loaded_recently; builds nothing)",
)


def schedules(settings: Settings) -> list[ScheduleDefinition]:
    """Every schedule of this home: files and freshness always, the database's when SALESCOPE_SOURCE_URL is set."""
    db = database_source(settings)
    return [daily_build, freshness_hourly, *([database_schedule(settings, db)] if db else [])]


def landing_fingerprint(folder: Path) -> str | None:
    """A fingerprint of the drop's files (name, size, mtime); None when there is nothing to load."""
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_", "~$")))
    if not files:
        return None
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


@sensor(job=full_build, minimum_interval_seconds=60)
def landing_files_changed(context: SensorEvaluationContext):
    """Start a full build when export files in SALESCOPE_HOME/landing/current are added or changed."""
    settings = get_settings()
    folder = settings.landing_dir / "current"
    fingerprint = landing_fingerprint(folder)
    if fingerprint is None:
        return SkipReason(f"no export files in {folder}")
    if fingerprint == context.cursor:
        return SkipReason("landing files unchanged since the last build")
    context.update_cursor(fingerprint)
    return RunRequest(
        run_key=fingerprint, run_config=files_run_config(settings), tags={"salescope/source": "files"}
    )
