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
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from data_quality.gate import run_gate
from ingestion import ingest_directory, run_cross_checks
from ingestion.contract import ENTITIES
from orchestration import run_context
from orchestration.dbt_args import build_args
from orchestration.dbt_prepare import MANIFEST_PATH
from orchestration.publish import publish_snapshot
from orchestration.resources import SalescopeResource
from salescope.settings import DBT_PROJECT_DIR

WAREHOUSE_POOL = "warehouse"  # one writer: every asset that writes warehouse.duckdb runs in this pool


def crm_key(entity: str) -> AssetKey:
    # dagster-dbt maps dbt source crm.<table> to this key, so lineage joins up without a translator
    return AssetKey(["crm", entity])


@multi_asset(
    specs=[
        AssetSpec(crm_key(e.name), description=e.description, group_name="ingestion", kinds={"duckdb"})
        for e in ENTITIES
    ],
    check_specs=[
        AssetCheckSpec("rows_conserved", asset=crm_key(e.name), blocking=True,
                       description="rows read = rows loaded + rows quarantined for every file")
        for e in ENTITIES
    ],
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def crm_raw(context: AssetExecutionContext, salescope: SalescopeResource):
    """Ingest every file of the drop into raw.<entity>, quarantining bad rows, then cross-entity checks."""
    source = Path(salescope.source_dir)
    if not source.is_dir():
        raise Failure(f"source folder {source} does not exist: pass --source DIR with your export files")
    given = run_context.parse_as_of(salescope.as_of)
    with salescope.warehouse() as con:
        result = ingest_directory(
            con, source, as_of=given or run_context.today_in_business_tz(), run_id=context.run_id,
            progress=context.log.info,
        )
        flagged = run_cross_checks(con, run_id=context.run_id)
        as_of = given or run_context.derive_as_of(con)
        run_context.record_as_of(con, context.run_id, as_of, str(source))
    context.log.info(f"as-of date {as_of}; {flagged} cross-entity issues flagged")
    for err in result.errors:
        context.log.error(err.message)
    by_entity = {f.entity: f for f in result.files if f.entity}
    for e in ENTITIES:
        f = by_entity.get(e.name)
        conserved = f is None or f.rows_read == f.rows_loaded + f.rows_quarantined
        yield MaterializeResult(
            asset_key=crm_key(e.name),
            metadata={
                "file": f.file if f else "(no file in this drop)",
                "status": f.status if f else "absent",
                "rows_read": f.rows_read if f else 0,
                "rows_loaded": f.rows_loaded if f else 0,
                "rows_quarantined": f.rows_quarantined if f else 0,
            },
        )
        yield AssetCheckResult(
            asset_key=crm_key(e.name), check_name="rows_conserved", passed=conserved,
            severity=AssetCheckSeverity.ERROR,
            metadata={"rows_read": f.rows_read if f else 0},
        )


# the profile is handed to the dbt resource per run (it depends on SALESCOPE_HOME), not fixed here
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target_path=MANIFEST_PATH.parent)


@dbt_assets(manifest=MANIFEST_PATH, project=dbt_project, pool=WAREHOUSE_POOL)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, salescope: SalescopeResource):
    """Staging, intermediate and mart models; dbt tests surface as asset checks."""
    with salescope.warehouse() as con:
        as_of = run_context.as_of_for_run(con, context.run_id)
    yield from dbt.cli(build_args(as_of), context=context).stream()


@asset(deps=dbt_models.keys, group_name="quality", pool=WAREHOUSE_POOL, kinds={"duckdb"})
def quality_gate(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    """Blocking checks that decide whether this build may be published."""
    with salescope.warehouse() as con:
        gate = run_gate(con, context.run_id)
    lines = [f"[{c.severity}] {c.suite}: {c.expectation} — {c.detail}" for c in gate.blocking_failures]
    if not gate.passed:
        raise Failure(
            "quality gate failed; the serving snapshot was left as it was:\n" + "\n".join(lines),
            metadata={"failures": MetadataValue.md("\n".join(f"- {x}" for x in lines))},
        )
    return MaterializeResult(metadata={"status": gate.status, "warnings": len(gate.warnings)})


@asset(deps=[quality_gate], group_name="publish", pool=WAREHOUSE_POOL, kinds={"duckdb"})
def serving_snapshot(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    """serving.duckdb: marts, ml, quality and load log for the dashboards, swapped in atomically."""
    with salescope.warehouse() as con:
        as_of = run_context.as_of_for_run(con, context.run_id)
        status = con.execute(
            """SELECT CASE WHEN bool_and(success OR severity <> 'blocking') IS FALSE THEN 'failed'
                           WHEN bool_and(success) THEN 'passed' ELSE 'warnings' END
               FROM quality.validation_results WHERE run_id = ?""",
            [context.run_id],
        ).fetchone()[0]
        res = publish_snapshot(con, salescope.settings.serving_path, run_id=context.run_id, as_of=as_of,
                               quality_status=status or "passed")
    return MaterializeResult(metadata={"path": str(res.path), "tables": len(res.row_counts), "as_of": str(as_of)})


ALL_ASSETS = [crm_raw, dbt_models, quality_gate, serving_snapshot]
