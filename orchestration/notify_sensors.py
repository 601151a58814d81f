"""Reaching people after runs (salescope.notify): digests and alerts after each publish, an alert after a run
that published nothing.

- ``notify_after_publish``: when a ``full_build`` run succeeds (it published the serving snapshot), send the
  digests due on its as-of date (``salescope.notify.digest.due_roles``: reps and finance daily, managers on
  Mondays) and the event alerts. Each message has a dedupe key, so a sensor retry or a second publish of the
  same day sends nothing twice.
- ``notify_run_failed``: when a ``full_build`` run fails (a step, or the quality gate), alert the data_steward
  and admin tags. ``salescope run`` sends the same alert itself (same key: one message).

Both skip, saying why, while SALESCOPE_HOME has no notify.yml. On by default: the file is the opt-in.
"""

from __future__ import annotations

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
)

from orchestration.jobs import full_build
from salescope.settings import get_settings


def _nobody_to_notify(settings) -> SkipReason | None:
    if settings.notify_config_path.exists():
        return None
    return SkipReason(f"no {settings.notify_config_path}: nobody to notify")


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[full_build],
    default_status=DefaultSensorStatus.RUNNING,
    description="After each publish: the digests due (reps daily, managers Mondays, finance daily) and alerts",
)
def notify_after_publish(context: RunStatusSensorContext):
    from salescope.notify.service import after_publish

    settings = get_settings()
    if skip := _nobody_to_notify(settings):
        return skip
    digest_pass, alert_outcomes = after_publish(settings)
    outcomes = [*digest_pass.outcomes, *alert_outcomes]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("delivered", "failed", "skipped")}
    context.log.info(
        f"run {context.dagster_run.run_id[:8]}: as of {digest_pass.as_of}, notifications {counts}"
    )
    return None


@run_failure_sensor(
    monitored_jobs=[full_build],
    default_status=DefaultSensorStatus.RUNNING,
    description="A build that published nothing: alert the data_steward and admin tags",
)
def notify_run_failed(context: RunFailureSensorContext):
    from salescope.notify.service import report_run

    settings = get_settings()
    if skip := _nobody_to_notify(settings):
        return skip
    failures = [
        (str(event.step_key or "run"), str(event.message or ""))
        for event in context.get_step_failure_events()
    ] or [("run", str(context.failure_event.message or ""))]
    report_run(settings, context.dagster_run.run_id, failures)
    return None
