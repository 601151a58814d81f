"""The whole asset graph as one list: the pipeline assets and the ML assets, and the checks run apart.

``definitions`` (the Dagster UI and daemon) and ``runner`` (``salescope run``) both build their
Definitions from ``ALL_ASSETS`` and ``ALL_CHECKS``, so the CLI and the UI always run the same graph.
"""

from __future__ import annotations

from orchestration.assets import crm_raw, dbt_models, quality_gate, serving_snapshot
from orchestration.freshness import crm_freshness
from orchestration.ml_assets import ML_ASSETS

ALL_ASSETS = [crm_raw, dbt_models, quality_gate, serving_snapshot, *ML_ASSETS]
ALL_CHECKS = [crm_freshness]  # asset checks defined apart from their assets (not part of full_build)
