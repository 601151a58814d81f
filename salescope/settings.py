"""The one place that knows every path and environment variable.

Nothing else in Salescope reads ``os.environ``: libraries take a ``Settings`` (or plain paths).

Environment: ``SALESCOPE_HOME`` (default ``.salescope``), ``SALESCOPE_DBT_THREADS`` (default 2: dbt runs two
models or tests at a time over its one connection; at scale 10 its models took 1.19× the same SQL run
bare, against 1.36× on one thread, leaving out dbt's 3 s start-up: bench/bench_dbt.py),
``SALESCOPE_COOKIE_SECURE`` (default off: the dashboard session cookie gets the ``Secure`` flag only when
on, so it still works on http://localhost; turn it on when the dashboards are served over HTTPS),
``SALESCOPE_ML_TRAINING`` (``full`` by default; ``fast`` trains the deal model with fewer boosting rounds,
for tests and quick demos), ``SALESCOPE_LARGE_DEAL_CNY`` (default 1000000: from this amount a lost deal or one pushed twice is alerted to its rep
and manager), ``SALESCOPE_ML_RETRAIN_DAYS`` (default 7: a run scores with the champion
trained fewer than that many days before its as-of date, unless the closed deals drifted; 0 retrains every
run).

A CRM database source (``salescope run --source postgresql://...``): its password comes from the URL, else
``SALESCOPE_SOURCE_PASSWORD``, else the first line of the file named by ``SALESCOPE_SOURCE_PASSWORD_FILE``
(default ``SALESCOPE_HOME/secrets/source-password``). ``SALESCOPE_SOURCE_URL`` makes the Dagster schedule
and the UI read that database instead of ``landing/current``. ``SALESCOPE_SOURCE_LAG_SECONDS`` (default 300) is how
far back each incremental extraction re-reads before its cursor, for rows committed late.
dlt runs with its data, config and pipeline state under ``SALESCOPE_HOME/dlt`` (``configure_dlt``), never
``~/.dlt``, and with its telemetry off.

Dagster: ``SALESCOPE_SOURCE_URL`` also adds the daily schedule of that database (``daily_<source name>``,
06:00 Asia/Shanghai, next to the files' ``daily_build``). ``SALESCOPE_DAGSTER_STORAGE=postgresql://user:pw@host:5432/db``
keeps Dagster's runs, event log and schedules in PostgreSQL (dagster-postgres) instead of SQLite files under
``SALESCOPE_HOME/dagster``; ``dagster.yaml`` names the variable, never its value, so the password is not
written to disk, and messages show the URL as ``dagster_storage_label`` (password masked). Dagster reads
the URL from ``SALESCOPE_DAGSTER_PG_URL``, which ``configure_dagster`` derives (the same URL with the
``postgresql+psycopg2`` driver dagster-postgres needs: SQLAlchemy 2.1 maps a bare ``postgresql://`` to
psycopg 3, on which dagster-postgres's ``NOTIFY`` fails); set it by hand only without Salescope's CLI.

Engine (``salescope run --engine``): ``SALESCOPE_ENGINE`` (``duckdb`` by default, ``postgres``, ``spark``)
is where dbt builds; ``postgres`` needs ``SALESCOPE_WAREHOUSE_URL=postgresql://user@host:5432/db`` (its
password in the URL or in ``SALESCOPE_WAREHOUSE_PASSWORD``); ``spark`` keeps its files under
``SALESCOPE_HOME/spark`` and takes ``SALESCOPE_SPARK_MEMORY`` (driver memory, default 4g).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
BUSINESS_TZ = "Asia/Shanghai"
DEFAULT_AS_OF = "2026-06-30"
DEFAULT_SOURCE_LAG_SECONDS = 300
DEFAULT_ML_RETRAIN_DAYS = 7  # the deal model is retrained when its as-of date is a week old
DEFAULT_PUBLIC_URL = "http://localhost:8501"  # salescope serve's default port
DEFAULT_LARGE_DEAL_CNY = 1_000_000  # a deal this large (CNY) lost or pushed twice alerts its rep and manager
DLT_ENVIRONMENT = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "EXTRACT__NEXT_ITEM_MODE": "fifo",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "RUNTIME__LOG_LEVEL": "WARNING",
}
# passwords handed over by the CLI for an in-process run, by source label (never written anywhere)
_SOURCE_PASSWORDS: dict[str, str] = {}
DAGSTER_PG_URL_ENV = "SALESCOPE_DAGSTER_PG_URL"  # what dagster.yaml names (set by configure_dagster)
WAREHOUSE_PASSWORD_ENV = "SALESCOPE_WAREHOUSE_PASSWORD"  # what the PostgreSQL dbt profile names
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


def mask_password(url: str) -> str:
    """``scheme://user:secret@host/db`` -> ``scheme://user:***@host/db`` (unchanged without a password)."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return f"{head}://{user}{':***' if colon else ''}@{hostpart}"


def _dagster_storage() -> str:
    raw = os.environ.get("SALESCOPE_DAGSTER_STORAGE", "").strip()
    if raw and not raw.startswith(("postgresql://", "postgres://")):
        raise ValueError(
            f"SALESCOPE_DAGSTER_STORAGE={mask_password(raw)!r} is not a PostgreSQL URL: use "
            "postgresql://user:password@host:5432/database, or leave it unset for SQLite in SALESCOPE_HOME"
        )
    return raw


ENGINES = ("duckdb", "postgres", "spark")  # where dbt builds the warehouse (salescope/engines)


def _engine() -> str:
    raw = os.environ.get("SALESCOPE_ENGINE", "").strip().lower() or "duckdb"
    if raw not in ENGINES:
        raise ValueError(f"SALESCOPE_ENGINE={raw!r}: use one of {', '.join(ENGINES)} (default duckdb)")
    return raw


def _warehouse_url(engine: str) -> str:
    from urllib.parse import urlsplit

    raw = os.environ.get("SALESCOPE_WAREHOUSE_URL", "").strip()
    parts = urlsplit(raw)
    if engine == "postgres" and not (
        raw.startswith(("postgresql://", "postgres://", "postgresql+"))
        and parts.hostname
        and parts.path.strip("/")
    ):
        raise ValueError(
            f"SALESCOPE_ENGINE=postgres needs SALESCOPE_WAREHOUSE_URL=postgresql://user@host:5432/database "
            f"(got {mask_password(raw)!r}); the password may be in the URL or in SALESCOPE_WAREHOUSE_PASSWORD"
        )
    return raw


@dataclass(frozen=True)
class Settings:
    home: Path
    dbt_threads: int = 2
    cookie_secure: bool = False  # the dashboard session cookie is sent over HTTPS only
    ml_fast_training: bool = False  # fewer boosting rounds (tests, quick demos): SALESCOPE_ML_TRAINING=fast
    source_lag_seconds: int = DEFAULT_SOURCE_LAG_SECONDS
    source_url: str = ""  # SALESCOPE_SOURCE_URL: the CRM database scheduled runs read (no password in it)
    dagster_storage: str = ""  # SALESCOPE_DAGSTER_STORAGE: a postgresql:// URL, '' = SQLite in the home
    ml_retrain_days: int = DEFAULT_ML_RETRAIN_DAYS  # SALESCOPE_ML_RETRAIN_DAYS: retrain the deal model when its as-of is this old
    # SALESCOPE_PUBLIC_URL: where people reach the dashboards (links in digests, calendar subscription URLs)
    public_url: str = DEFAULT_PUBLIC_URL
    # SALESCOPE_LARGE_DEAL_CNY: from this amount (CNY) a lost deal or a deal pushed twice is alerted
    large_deal_cny: float = DEFAULT_LARGE_DEAL_CNY
    engine: str = "duckdb"  # SALESCOPE_ENGINE: where dbt builds (duckdb, postgres, spark)
    warehouse_url: str = ""  # SALESCOPE_WAREHOUSE_URL: the PostgreSQL database of engine postgres
    spark_memory: str = "4g"  # SALESCOPE_SPARK_MEMORY: the local Spark driver's heap (engine spark)

    @classmethod
    def from_env(cls, home: str | Path | None = None) -> Settings:
        raw = home or os.environ.get("SALESCOPE_HOME") or ".salescope"
        threads = int(os.environ.get("SALESCOPE_DBT_THREADS", "2"))
        lag = os.environ.get("SALESCOPE_SOURCE_LAG_SECONDS", "").strip()
        if lag and not lag.isdigit():
            raise ValueError(
                f"SALESCOPE_SOURCE_LAG_SECONDS={lag!r} is not a whole number of seconds, e.g. 300"
            )
        retrain = os.environ.get("SALESCOPE_ML_RETRAIN_DAYS", "").strip()
        if retrain and not retrain.isdigit():
            raise ValueError(
                f"SALESCOPE_ML_RETRAIN_DAYS={retrain!r} is not a whole number of days, e.g. 7 (0: every run)"
            )
        large = os.environ.get("SALESCOPE_LARGE_DEAL_CNY", "").strip().replace(",", "").replace("_", "")
        try:
            large_deal = float(large) if large else DEFAULT_LARGE_DEAL_CNY
        except ValueError:
            raise ValueError(
                f"SALESCOPE_LARGE_DEAL_CNY={large!r} is not an amount in CNY, e.g. 1000000"
            ) from None
        engine = _engine()
        return cls(
            home=Path(raw).expanduser().resolve(),
            engine=engine,
            warehouse_url=_warehouse_url(engine),
            spark_memory=os.environ.get("SALESCOPE_SPARK_MEMORY", "").strip() or "4g",
            large_deal_cny=large_deal,
            ml_retrain_days=int(retrain) if retrain else DEFAULT_ML_RETRAIN_DAYS,
            dbt_threads=threads,
            cookie_secure=_flag("SALESCOPE_COOKIE_SECURE"),
            ml_fast_training=_ml_training() == "fast",
            source_lag_seconds=int(lag) if lag else DEFAULT_SOURCE_LAG_SECONDS,
            source_url=os.environ.get("SALESCOPE_SOURCE_URL", "").strip(),
            dagster_storage=_dagster_storage(),
            public_url=(os.environ.get("SALESCOPE_PUBLIC_URL", "").strip() or DEFAULT_PUBLIC_URL).rstrip("/"),
        )

    @property
    def dagster_storage_label(self) -> str:
        """The Dagster storage as messages show it: the URL with its password masked, or the SQLite folder."""
        if not self.dagster_storage:
            return f"SQLite under {self.dagster_home}"
        return mask_password(self.dagster_storage)

    @property
    def dlt_dir(self) -> Path:
        """dlt's data dir: pipeline working folders (local state) live in ``dlt/pipelines``."""
        return self.home / "dlt"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    def source_password(self, source_label: str) -> str | None:
        """The CRM database password when the URL has none: given to this process for ``source_label``
        (``remember_source_password``), else ``SALESCOPE_SOURCE_PASSWORD``, else the secrets file."""
        if source_label in _SOURCE_PASSWORDS:
            return _SOURCE_PASSWORDS[source_label]
        env = os.environ.get("SALESCOPE_SOURCE_PASSWORD")
        if env:
            return env
        path = Path(os.environ.get("SALESCOPE_SOURCE_PASSWORD_FILE") or self.secrets_dir / "source-password")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return None
        first = text.splitlines()[0].strip() if text.strip() else ""
        return first or None

    @property
    def dagster_storage_url(self) -> str:
        """SALESCOPE_DAGSTER_STORAGE with the psycopg2 driver dagster-postgres needs ('' for SQLite)."""
        if not self.dagster_storage:
            return ""
        _, sep, rest = self.dagster_storage.partition("://")
        return f"postgresql+psycopg2://{rest}" if sep else self.dagster_storage

    def configure_dagster(self) -> None:
        """Environment the Dagster instance reads its PostgreSQL URL from (this process and its children:
        ``dagster dev``, the daemon, the runs it launches). Nothing is written to disk."""
        if self.dagster_storage:
            os.environ[DAGSTER_PG_URL_ENV] = self.dagster_storage_url

    @property
    def warehouse_password(self) -> str | None:
        """The PostgreSQL warehouse's password: ``SALESCOPE_WAREHOUSE_PASSWORD``, else the URL's."""
        from urllib.parse import unquote, urlsplit

        if os.environ.get(WAREHOUSE_PASSWORD_ENV):
            return os.environ[WAREHOUSE_PASSWORD_ENV]
        password = urlsplit(self.warehouse_url).password if self.warehouse_url else None
        return unquote(password) if password else None

    def configure_warehouse(self) -> None:
        """Environment dbt's PostgreSQL profile reads the warehouse password from (profiles.yml names
        ``SALESCOPE_WAREHOUSE_PASSWORD``, never its value), for dbt, which runs as a child process."""
        if self.engine == "postgres" and self.warehouse_password:
            os.environ[WAREHOUSE_PASSWORD_ENV] = self.warehouse_password

    def configure_dlt(self) -> None:
        """Environment dlt reads its configuration from: everything under SALESCOPE_HOME/dlt (no ~/.dlt, no
        ./.dlt of the working directory), no telemetry, one source table extracted at a time (one
        connection to the CRM database), and ``_dlt_load_id`` on every landed row (the delta of a run)."""
        self.dlt_dir.mkdir(parents=True, exist_ok=True)
        os.environ["DLT_DATA_DIR"] = str(self.dlt_dir)
        os.environ["DLT_PROJECT_DIR"] = str(self.dlt_dir)
        for key, value in DLT_ENVIRONMENT.items():
            os.environ[key] = value

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "warehouse.duckdb"

    @property
    def spark_dir(self) -> Path:
        """Engine spark: raw Parquet files, the Spark warehouse (marts as Parquet) and its metastore."""
        return self.home / "spark"

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
    def notify_config_path(self) -> Path:
        """Notification targets in apprise's YAML config format, tagged by user name, team and role."""
        return self.home / "notify.yml"

    @property
    def notify_dir(self) -> Path:
        """Notification state: the notification log and what was last sent (outside the serving snapshot)."""
        return self.home / "notify"

    @property
    def auth_db_path(self) -> Path:
        """Dashboard users, sessions and audit log (SQLite), kept outside the serving snapshot."""
        return self.home / "auth" / "auth.db"

    @property
    def calendar_db_path(self) -> Path:
        """Calendar feed tokens (SHA-256 only) and per-user event fingerprints and sequences (SQLite)."""
        return self.home / "calendar" / "calendar.db"

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


def remember_source_password(source_label: str, password: str) -> None:
    """Keep a password taken off a ``--source`` URL for this process's run (memory only)."""
    _SOURCE_PASSWORDS[source_label] = password


def select_engine(engine: str | None, warehouse_url: str | None) -> None:
    """``salescope run --engine/--warehouse-url``: set as the variables, for this process and the run it
    starts (the Dagster resources read the settings again from the environment)."""
    if engine:
        os.environ["SALESCOPE_ENGINE"] = engine
    if warehouse_url:
        os.environ["SALESCOPE_WAREHOUSE_URL"] = warehouse_url


def get_settings() -> Settings:
    return Settings.from_env()


def failpoint_spec() -> str:
    """The crash tests' failpoint (salescope.failpoints); empty in normal runs."""
    return os.environ.get("SALESCOPE_FAILPOINT", "")
