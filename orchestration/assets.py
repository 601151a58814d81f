"""The asset graph: crm/<entity> (ingestion) -> dbt models -> quality_gate -> serving_snapshot."""

from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from contract import ENTITIES
from data_quality.mart_suites import MART_SUITES
from ingestion import ingest_directory, run_cross_checks
from ingestion.sql_source import ingest_sql_source
from orchestration import run_context
from orchestration.dbt_args import build_args
from orchestration.dbt_prepare import MANIFEST_PATH, mart_contracts
from orchestration.keys import crm_key
from orchestration.pools import WAREHOUSE_POOL
from orchestration.publish import publish_snapshot
from orchestration.resources import SalescopeResource
from orchestration.retries import retry_on_lock
from salescope import engines
from salescope.failpoints import failpoint
from salescope.settings import DBT_PROJECT_DIR


@multi_asset(
    specs=[
        AssetSpec(crm_key(e.name), description=e.description, group_name="ingestion", kinds={"duckdb"})
        for e in ENTITIES
    ],
    check_specs=[
        AssetCheckSpec(
            "rows_conserved",
            asset=crm_key(e.name),
            blocking=True,
            description="rows read = rows loaded + rows quarantined for every file",
        )
        for e in ENTITIES
    ],
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def crm_raw(context: AssetExecutionContext, salescope: SalescopeResource):
    """Ingest the drop (every file of a folder, or what changed in a CRM database since the last run) into
    raw.<entity>, quarantining bad rows, then cross-entity checks. Retried when the warehouse is locked."""
    with retry_on_lock(context):
        yield from _ingest(context, salescope)


def _ingest(context: AssetExecutionContext, salescope: SalescopeResource):
    given = run_context.parse_as_of(salescope.as_of)
    if salescope.source_url:
        result, source_name = _ingest_database(context, salescope, given)
    else:
        source = Path(salescope.source_dir)
        if not source.is_dir():
            raise Failure(f"source folder {source} does not exist: pass --source DIR with your export files")
        source_name = str(source)
        with salescope.warehouse() as con:
            result = ingest_directory(
                con,
                source,
                as_of=given or run_context.today_in_business_tz(),
                run_id=context.run_id,
                progress=context.log.info,
            )
    with salescope.warehouse() as con:
        flagged = run_cross_checks(con, run_id=context.run_id)
        as_of = given or run_context.derive_as_of(con)
        run_context.record_as_of(con, context.run_id, as_of, source_name)
    context.log.info(f"as-of date {as_of}; {flagged} cross-entity issues flagged")
    for err in result.errors:
        context.log.error(err.message)
    by_entity = {f.entity: f for f in result.files if f.entity}
    for e in ENTITIES:
        f = by_entity.get(e.name)
        conserved = f is None or f.conserved
        metadata = {
            "file": f.file if f else "(no file in this drop)",
            "status": f.status if f else "absent",
            "rows_read": f.rows_read if f else 0,
            "rows_loaded": f.rows_loaded if f else 0,
            "rows_quarantined": f.rows_quarantined if f else 0,
        }
        if f is not None and f.source:
            metadata["rows_deleted"] = f.rows_deleted
            metadata["keys_removed"] = f.keys_removed or 0
            metadata["cursor"] = f"{f.cursor_from or '(full)'} → {f.cursor_to or '-'}"
        yield MaterializeResult(asset_key=crm_key(e.name), metadata=metadata)
        yield AssetCheckResult(
            asset_key=crm_key(e.name),
            check_name="rows_conserved",
            passed=conserved,
            severity=AssetCheckSeverity.ERROR,
            metadata={"rows_read": f.rows_read if f else 0},
        )


def _ingest_database(context: AssetExecutionContext, salescope: SalescopeResource, given):
    """dlt extracts what changed in the CRM database into its landing file; the delta then takes the
    files' path into raw (ingestion.sql_source). Called from this asset rather than wrapped as
    @dlt_assets: see README, "A CRM database as the source"."""
    from ingestion.sql_source import SourceError, open_source

    settings = salescope.settings
    settings.configure_dlt()
    try:
        probe = open_source(salescope.source_url)
        source = open_source(salescope.source_url, settings.source_password(probe.label))
        with salescope.warehouse() as con:
            result = ingest_sql_source(
                con,
                source,
                landing_dir=settings.landing_dir,
                pipelines_dir=settings.dlt_dir / "pipelines",
                as_of=given or run_context.today_in_business_tz(),
                run_id=context.run_id,
                lag_seconds=settings.source_lag_seconds,
                compare_keys=salescope.compare_keys,
                progress=context.log.info,
            )
    except SourceError as exc:
        raise Failure(str(exc)) from None
    return result, source.label


# the profile is handed to the dbt resource per run (it depends on SALESCOPE_HOME), not fixed here
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=MANIFEST_PATH.parent)


# dbt's source tests validate the crm/* assets ingestion writes: load them as asset checks of those assets
# (otherwise every one of them is logged as an observation with a warning)
DBT_TRANSLATOR = DagsterDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
)
DBT_STOP_SECONDS = 5  # on Ctrl-C/SIGTERM dbt gets this long to stop before it is killed


@dbt_assets(
    manifest=MANIFEST_PATH, project=dbt_project, pool=WAREHOUSE_POOL, dagster_dbt_translator=DBT_TRANSLATOR
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, salescope: SalescopeResource):
    """Staging, intermediate and mart models; dbt tests surface as asset checks. Retried when the warehouse
    is locked before dbt starts (the as-of date is read first). On PostgreSQL or Spark (SALESCOPE_ENGINE) the
    raw tables are copied there first and the marts copied back after (salescope.engines)."""
    settings = salescope.settings
    with retry_on_lock(context), salescope.warehouse() as con:
        as_of = run_context.as_of_for_run(con, context.run_id)
        engines.land_raw(con, settings, progress=context.log.info)
    settings.configure_warehouse()
    invocation = dbt.cli(build_args(as_of, engine_vars=engines.dbt_vars(settings)), context=context)
    invocation.termination_timeout_seconds = DBT_STOP_SECONDS
    for event in invocation.stream():
        failpoint("dbt.event")
        yield event
    if settings.engine != "duckdb":
        with salescope.warehouse() as con:
            engines.fetch_marts(con, settings, mart_contracts(), progress=context.log.info)


# Each suite is an asset check on the asset it validates; the quality_gate op runs them all (one GX
# context, one warehouse connection) and yields their results: severity ERROR when a blocking expectation
# failed, WARN for warnings only. The specs cannot be Dagster-`blocking` (the checks of crm/* run after
# dbt, which reads crm/*: a cycle); the gate op blocks instead, failing before serving_snapshot runs.
QUALITY_CHECKS: list[AssetCheckSpec] = [
    *(
        AssetCheckSpec(
            "raw_suite",
            asset=crm_key(e.name),
            description=f"contract suite of raw.{e.name} (GX): types, required, key, references, values, ranges, dates",
        )
        for e in ENTITIES
    ),
    *(
        AssetCheckSpec(
            "operational",
            asset=crm_key(e.name),
            description="file present, volume change, freshness, null-rate drift",
        )
        for e in ENTITIES
    ),
    *(
        AssetCheckSpec(
            "mart_suite", asset=key, description=f"METRICS.md invariants of marts.{key.path[-1]} (GX)"
        )
        for key in sorted(dbt_models.keys, key=lambda k: k.to_user_string())
        if len(key.path) == 2 and key.path[0] == "marts" and key.path[-1] in MART_SUITES
    ),
]


def _check_status_for(quality, suite: str) -> tuple[bool, AssetCheckSeverity, dict]:
    checks = [c for c in quality.gate.checks if c.suite == suite]
    failed = [c for c in checks if not c.success]
    blocking = [c for c in failed if c.severity == "blocking"]
    status = quality.suite_status().get(suite, "skipped")
    metadata = {
        "status": status,
        "expectations": len(checks),
        "failed": MetadataValue.md(
            "\n".join(
                f"- [{c.severity}] {c.expectation} ({c.column or '-'}): {c.detail}"
                + (f" e.g. {', '.join(c.sample_keys[:5])}" if c.sample_keys else "")
                for c in failed
            )
            or "none"
        ),
    }
    return not failed, AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN, metadata


def _as_of(con, run_id: str):
    """The run's as-of date; when the gate runs alone (no ingestion in this run), the latest run's."""
    try:
        return run_context.as_of_for_run(con, run_id)
    except RuntimeError:
        row = con.execute("SELECT as_of FROM meta.run_context ORDER BY decided_at DESC LIMIT 1").fetchall()
        if not row:
            raise
        return row[0][0]


@multi_asset(
    specs=[
        AssetSpec(
            "quality_gate",
            deps=dbt_models.keys,
            group_name="quality",
            kinds={"duckdb"},
            description="Every quality suite (ingestion, operational, raw contract, marts): the gate of the publish",
        )
    ],
    check_specs=QUALITY_CHECKS,
    pool=WAREHOUSE_POOL,
    allow_arbitrary_check_specs=True,  # the checks belong to the crm/* and marts/* assets they validate
)
def quality_gate(context: AssetExecutionContext, salescope: SalescopeResource):
    """Run every suite, record results, issues, summary and Data Docs; fail (no publish) on a blocking failure.
    Retried when the warehouse is locked; a failed gate is not retried."""
    with retry_on_lock(context):
        yield from _gate(context, salescope)


def _gate(context: AssetExecutionContext, salescope: SalescopeResource):
    from data_quality.runner import run_quality

    failpoint("quality.start")
    with salescope.warehouse() as con:
        as_of = _as_of(con, context.run_id)
        quality = run_quality(con, context.run_id, as_of=as_of, docs_dir=salescope.settings.quality_docs_dir)
    for spec in QUALITY_CHECKS:
        entity = spec.asset_key.path[-1]
        suite = {
            "raw_suite": f"raw.{entity}",
            "operational": f"ops.{entity}",
            "mart_suite": f"marts.{entity}",
        }[spec.name]
        passed, severity, metadata = _check_status_for(quality, suite)
        yield AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=passed,
            severity=severity,
            metadata=metadata,
        )
    context.log.info(
        f"quality: {quality.gate.status}; Data Docs: {quality.docs_index}; timings {quality.timings}"
    )
    lines = quality.failure_lines()
    if not quality.passed:
        raise Failure(
            "quality gate failed; the serving snapshot was left as it was. Blocking failures:\n"
            + "\n".join(lines)
            + f"\nData Docs: {quality.docs_index}\nFix list: salescope quality --fix-list fixes.csv",
            metadata={
                "failures": MetadataValue.md("\n".join(f"- {x}" for x in lines)),
                "docs": str(quality.docs_index),
            },
        )
    yield MaterializeResult(
        asset_key="quality_gate",
        metadata={
            "status": quality.gate.status,
            "warnings": len(quality.gate.warnings),
            "docs": str(quality.docs_index),
            **{f"seconds_{k}": round(v, 2) for k, v in quality.timings.items()},
        },
    )


@asset(
    deps=[
        quality_gate,
        AssetKey(["ml_deal_scores"]),
        AssetKey(["ml_customer_ltv"]),
        AssetKey(["ml_next_actions"]),
        AssetKey(["ml_forecast_weighted"]),
        AssetKey(["ml_bookings_forecast"]),
    ],
    group_name="publish",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
)
def serving_snapshot(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    """serving.duckdb: marts, ml, quality and load log for the dashboards, swapped in atomically. Retried
    when the warehouse is locked."""
    with retry_on_lock(context):
        return _publish(context, salescope)


def _publish(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    with salescope.warehouse() as con:
        as_of = run_context.as_of_for_run(con, context.run_id)
        status = con.execute(
            """SELECT CASE WHEN bool_and(success OR severity <> 'blocking') IS FALSE THEN 'failed'
                           WHEN bool_and(success) THEN 'passed' ELSE 'warnings' END
               FROM quality.validation_results WHERE run_id = ?""",
            [context.run_id],
        ).fetchone()[0]
        res = publish_snapshot(
            con,
            salescope.settings.serving_path,
            run_id=context.run_id,
            as_of=as_of,
            quality_status=status or "passed",
        )
    return MaterializeResult(
        metadata={"path": str(res.path), "tables": len(res.row_counts), "as_of": str(as_of)}
    )
