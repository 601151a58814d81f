"""The one place that knows every path and environment variable.

Nothing else in Salescope reads ``os.environ``: libraries take a ``Settings`` (or plain paths).

Environment: ``SALESCOPE_HOME`` (default ``.salescope``), ``SALESCOPE_DBT_THREADS`` (default 1),
``SALESCOPE_COOKIE_SECURE`` (default off: the dashboard session cookie gets the ``Secure`` flag only when
on, so it still works on http://localhost; turn it on when the dashboards are served over HTTPS),
``SALESCOPE_ML_TRAINING`` (``full`` by default; ``fast`` trains the deal model with fewer boosting rounds,
for tests and quick demos).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
BUSINESS_TZ = "Asia/Shanghai"
DEFAULT_AS_OF = "2026-06-30"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw not in _TRUE | _FALSE:
        raise ValueError(
            f"{name}={os.environ[name]!r} is not a yes/no value: use 1/true/yes/on or 0/false/no/off"
        )
    return raw in _TRUE


def _ml_training() -> str:
    raw = os.environ.get("SALESCOPE_ML_TRAINING", "full").strip().lower() or "full"
    if raw not in ("full", "fast"):
        raise ValueError(f"SALESCOPE_ML_TRAINING={raw!r}: use 'full' (the default) or 'fast'")
    return raw


@dataclass(frozen=True)
class Settings:
    home: Path
    dbt_threads: int = 1
    cookie_secure: bool = False  # the dashboard session cookie is sent over HTTPS only
    ml_fast_training: bool = False  # fewer boosting rounds (tests, quick demos): SALESCOPE_ML_TRAINING=fast

    @classmethod
    def from_env(cls, home: str | Path | None = None) -> Settings:
        raw = home or os.environ.get("SALESCOPE_HOME") or ".salescope"
        threads = int(os.environ.get("SALESCOPE_DBT_THREADS", "1"))
        return cls(
            home=Path(raw).expanduser().resolve(),
            dbt_threads=threads,
            cookie_secure=_flag("SALESCOPE_COOKIE_SECURE"),
            ml_fast_training=_ml_training() == "fast",
        )

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "warehouse.duckdb"

    @property
    def serving_path(self) -> Path:
        return self.home / "serving" / "serving.duckdb"

    @property
    def quality_docs_dir(self) -> Path:
        return self.home / "quality" / "docs"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def auth_db_path(self) -> Path:
        """Dashboard users, sessions and audit log (SQLite), kept outside the serving snapshot."""
        return self.home / "auth" / "auth.db"

    def ensure_dirs(self) -> None:
        for d in (
            self.landing_dir,
            self.warehouse_path.parent,
            self.serving_path.parent,
            self.quality_docs_dir,
            self.models_dir,
            self.logs_dir,
            self.dagster_home,
        ):
            d.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    return Settings.from_env()


def failpoint_spec() -> str:
    """The crash tests' failpoint (salescope.failpoints); empty in normal runs."""
    return os.environ.get("SALESCOPE_FAILPOINT", "")
