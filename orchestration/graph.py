"""The whole asset graph as one list: the pipeline assets and the ML assets.

``definitions`` (the Dagster UI and daemon) and ``runner`` (``salescope run``) both build their
Definitions from ``ALL_ASSETS``, so the CLI and the UI always run the same graph.
"""

from __future__ import annotations

from orchestration.assets import crm_raw, dbt_models, quality_gate, serving_snapshot
from orchestration.ml_assets import ML_ASSETS

ALL_ASSETS = [crm_raw, dbt_models, quality_gate, serving_snapshot, *ML_ASSETS]
