"""Jobs over the asset graph.

``full_build``: every asset and its checks except the freshness checks (they judge the loads, not the run,
and run alone in ``freshness_checks``, hourly).
"""

from dagster import AssetSelection, define_asset_job

from orchestration.freshness import crm_freshness

full_build = define_asset_job(
    "full_build",
    selection=AssetSelection.all() - AssetSelection.checks(crm_freshness),
    description="ingest -> dbt -> quality -> publish",
)
freshness_checks = define_asset_job(
    "freshness_checks",
    selection=AssetSelection.checks(crm_freshness),
    description="has every crm/<entity> loaded within the last 26 h? (ops.load_log; no build)",
)
