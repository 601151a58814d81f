"""Jobs over the asset graph."""

from dagster import AssetSelection, define_asset_job

full_build = define_asset_job(
    "full_build", selection=AssetSelection.all(), description="ingest -> dbt -> quality -> publish"
)
