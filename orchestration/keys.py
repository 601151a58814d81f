"""Asset keys shared by the asset graph and the checks defined beside it (no dbt manifest needed)."""

from dagster import AssetKey


def crm_key(entity: str) -> AssetKey:
    # dagster-dbt maps dbt source crm.<table> to this key, so lineage joins up without a translator
    return AssetKey(["crm", entity])
