"""Schedules and sensors: a daily build, and a build whenever the landing folder changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dagster import RunRequest, ScheduleDefinition, SensorEvaluationContext, SkipReason, sensor

from orchestration.jobs import full_build
from salescope.settings import get_settings

daily_build = ScheduleDefinition(
    job=full_build,
    cron_schedule="0 6 * * *",
    execution_timezone="Asia/Shanghai",
    description="Full build every morning at 06:00 Asia/Shanghai",
)


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
    folder = get_settings().landing_dir / "current"
    fingerprint = landing_fingerprint(folder)
    if fingerprint is None:
        return SkipReason(f"no export files in {folder}")
    if fingerprint == context.cursor:
        return SkipReason("landing files unchanged since the last build")
    context.update_cursor(fingerprint)
    return RunRequest(run_key=fingerprint)
