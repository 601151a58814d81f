"""Freshness: every ``crm/<entity>`` must have loaded successfully within ``FRESHNESS_MAX_AGE``.

One asset check per entity, ``loaded_recently``, read from the warehouse's ``ops.load_log``: the latest row
of the entity with status ``loaded`` or ``unchanged`` (a file read again unchanged, or a database batch with
or without new rows, still proves the source delivered). It fails when that load is older than 26 hours,
or when there is none. The hourly schedule ``freshness_hourly`` runs the checks on their own (job
``freshness_checks``), so a source that stopped loading is flagged even when no build runs.

Why not Dagster's ``build_last_update_freshness_checks``: it reads the asset's last materialization, and
``crm_raw`` materializes every ``crm/<entity>`` in every run, an absent file or a failed batch included. The
load log is what knows whether the source delivered.

Severity WARN, not ERROR: stale data is old, not wrong. The published snapshot stays correct as of its
date and says so; ERROR is kept for checks whose failure means wrong numbers (rows not conserved, a
blocking quality expectation), which stop the publish. The check is not blocking, for the same reason.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from contract import ENTITIES
from orchestration.keys import crm_key
from orchestration.pools import WAREHOUSE_POOL
from orchestration.resources import SalescopeResource
from orchestration.retries import retry_on_lock
from salescope.settings import BUSINESS_TZ

# a daily source (06:00 schedule) plus two hours for a late export, a slow run or a retried one
FRESHNESS_MAX_AGE = timedelta(hours=26)
FRESHNESS_CHECK = "loaded_recently"
SUCCESSFUL = ("loaded", "unchanged")


@dataclass(frozen=True)
class LastLoad:
    entity: str
    loaded_at: datetime  # Asia/Shanghai wall time, like every TIMESTAMP of the warehouse
    status: str
    source: str  # the file, or the database (no credentials)


def now_business() -> datetime:
    return datetime.now(ZoneInfo(BUSINESS_TZ)).replace(tzinfo=None)


def last_loads(warehouse: Path) -> dict[str, LastLoad]:
    """The latest successful load of every entity; {} when the warehouse or its load log does not exist.

    Opens the warehouse read-only (the check runs in pool ``warehouse``, so no writer is running)."""
    if not Path(warehouse).exists():
        return {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        known = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' AND table_name = 'load_log'"
        ).fetchone()
        if not known or not known[0]:
            return {}
        rows = con.execute(
            """SELECT entity, max(loaded_at), arg_max(status, loaded_at), arg_max(coalesce(source, file), loaded_at)
               FROM ops.load_log WHERE status IN (?, ?) AND loaded_at IS NOT NULL GROUP BY entity""",
            list(SUCCESSFUL),
        ).fetchall()
    finally:
        con.close()
    return {r[0]: LastLoad(r[0], r[1], r[2], r[3] or "") for r in rows}


def judge(entity: str, last: LastLoad | None, now: datetime) -> AssetCheckResult:
    """The check result of one entity: passed when its latest successful load is at most 26 h old."""
    limit_h = FRESHNESS_MAX_AGE.total_seconds() / 3600
    key = crm_key(entity)
    if last is None:
        return AssetCheckResult(
            asset_key=key,
            check_name=FRESHNESS_CHECK,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description=(
                f"{entity} has never loaded: ops.load_log has no '{SUCCESSFUL[0]}' or '{SUCCESSFUL[1]}' row for "
                f"it (limit {limit_h:g} h). Run `salescope run`, or check that the schedule is on and the "
                "source delivers this entity."
            ),
            metadata={"limit_hours": limit_h, "last_loaded_at": "never"},
        )
    age = now - last.loaded_at
    hours = round(age.total_seconds() / 3600, 1)
    passed = age <= FRESHNESS_MAX_AGE
    when = last.loaded_at.isoformat(sep=" ", timespec="seconds")
    description = (
        f"{entity} last loaded {hours:g} h ago ({when} Asia/Shanghai, {last.status}, from {last.source})"
        if passed
        else f"{entity} has not loaded for {hours:g} h (limit {limit_h:g} h): last successful load {when} "
        f"Asia/Shanghai from {last.source}. Check that the export or the CRM extraction still runs "
        "(the schedule, the landing folder, `salescope status`)."
    )
    return AssetCheckResult(
        asset_key=key,
        check_name=FRESHNESS_CHECK,
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "age_hours": hours,
            "limit_hours": limit_h,
            "last_loaded_at": when,
            "status": last.status,
            "source": last.source,
        },
    )


@multi_asset_check(
    name="crm_freshness",
    specs=[
        AssetCheckSpec(
            FRESHNESS_CHECK,
            asset=crm_key(e.name),
            description=f"a successful load (ops.load_log) within the last {FRESHNESS_MAX_AGE.total_seconds() / 3600:g} h",
        )
        for e in ENTITIES
    ],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def crm_freshness(context: AssetCheckExecutionContext, salescope: SalescopeResource):
    """Every crm/<entity>: loaded successfully within FRESHNESS_MAX_AGE (26 h)? Retried when locked."""
    with retry_on_lock(context):
        loads = last_loads(salescope.settings.warehouse_path)
    now = now_business()
    for check_key in sorted(context.selected_asset_check_keys, key=lambda k: k.asset_key.path[-1]):
        entity = check_key.asset_key.path[-1]
        yield judge(entity, loads.get(entity), now)
