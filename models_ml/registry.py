"""A model registry on disk: ``<root>/<name>/<version>/{model.joblib, metadata.json}`` + ``champion.json``.

A new version becomes champion only when its backtest ROC AUC is not lower and its Brier score not higher
than the champion's (there is no champion yet: it wins).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import joblib
import pandas as pd

TOLERANCE = 1e-9


class ModelRegistry:
    def __init__(self, root: Path, name: str = "deal_scoring"):
        self.dir = Path(root) / name
        self.dir.mkdir(parents=True, exist_ok=True)

    def versions(self) -> list[dict]:
        out = []
        for meta in sorted(self.dir.glob("*/metadata.json")):
            out.append(json.loads(meta.read_text()))
        return out

    def champion(self) -> str | None:
        f = self.dir / "champion.json"
        return json.loads(f.read_text())["version"] if f.exists() else None

    def metadata(self, version: str) -> dict:
        return json.loads((self.dir / version / "metadata.json").read_text())

    def load(self, version: str):
        return joblib.load(self.dir / version / "model.joblib")

    def find(self, data_hash: str, config_hash: str) -> str | None:
        for m in self.versions():
            if m.get("data_hash") == data_hash and m.get("config_hash") == config_hash:
                return m["version"]
        return None

    def register(self, artefact, metadata: dict) -> tuple[str, bool, str]:
        """Store a new version; returns (version, became_champion, why)."""
        n = len(self.versions()) + 1
        version = f"v{n:04d}-{metadata['data_hash'][:8]}"
        vdir = self.dir / version
        vdir.mkdir(parents=True, exist_ok=False)
        joblib.dump(artefact, vdir / "model.joblib")
        metadata = {
            **metadata,
            "version": version,
            "registered_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        promote, why = self._challenge(metadata)
        metadata["promoted"] = promote
        metadata["promotion_reason"] = why
        (vdir / "metadata.json").write_text(json.dumps(metadata, indent=1, ensure_ascii=False, default=str))
        if promote:
            tmp = self.dir / "champion.json.tmp"
            tmp.write_text(json.dumps({"version": version, "since": metadata["registered_at"]}))
            os.replace(tmp, self.dir / "champion.json")
        return version, promote, why

    def _challenge(self, new: dict) -> tuple[bool, str]:
        champ = self.champion()
        if champ is None:
            return True, "first model"
        old = json.loads((self.dir / champ / "metadata.json").read_text())
        na, nb = new["backtest"].get("roc_auc"), new["backtest"].get("brier")
        oa, ob = old["backtest"].get("roc_auc"), old["backtest"].get("brier")
        if None in (na, nb, oa, ob) or na != na or oa != oa:
            return False, f"backtest metrics missing; {champ} stays champion"
        if na >= oa - TOLERANCE and nb <= ob + TOLERANCE:
            return True, f"AUC {na:.4f} ≥ {oa:.4f} and Brier {nb:.4f} ≤ {ob:.4f} of {champ}"
        return False, f"AUC {na:.4f} vs {oa:.4f}, Brier {nb:.4f} vs {ob:.4f}: {champ} stays champion"

    def table(self) -> pd.DataFrame:
        champ = self.champion()
        rows = []
        for m in self.versions():
            bt = m.get("backtest", {})
            rows.append(
                {
                    "model_version": m["version"],
                    "model_kind": m.get("model_kind"),
                    "registered_at": m.get("registered_at"),
                    "is_champion": m["version"] == champ,
                    "training_window_start": m.get("training_window", [None, None])[0],
                    "training_window_end": m.get("training_window", [None, None])[1],
                    "n_training_rows": m.get("n_training_rows"),
                    "n_closed_deals": m.get("n_closed_deals"),
                    "backtest_roc_auc": bt.get("roc_auc"),
                    "backtest_brier": bt.get("brier"),
                    "data_hash": m.get("data_hash"),
                    "promotion_reason": m.get("promotion_reason"),
                    "features": ",".join(m.get("features", [])),
                }
            )
        return pd.DataFrame(rows)
