"""Shared fixtures: generated drops and whole-pipeline homes are built once per session and reused.

The suite builds three full pipelines in all (DESIGN: keep `make test` fast): ``pipeline_home`` (clean
drop), ``defect_pipeline_home`` (2% defects) and the crash test's rerun on a copy of ``pipeline_home``.
Tests that change a home work on a copy (``shutil.copytree``). Tests that use a pipeline home, run dbt or a
browser are marked ``slow`` here, so ``make test-fast`` (``pytest -m "not slow"``) builds none.

``make test`` runs two pytest-xdist workers (``-n 2 --dist loadfile``): the serial suite kept about one of
the two cores busy (a pipeline run waits on fsyncs and on dbt's subprocess). The session fixtures below are
then built once for both workers: the first worker to ask builds under a file lock in the directory the
workers share, the other waits and reuses it, so the suite still builds three full pipelines.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

# the deal model trains with FAST_TRAINING in every pipeline the tests run (subprocesses inherit it)
os.environ.setdefault("SALESCOPE_ML_TRAINING", "fast")


def _shared_dir(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """``<root>/<name>`` built once by ``build(path)``: per session, and across xdist workers when run by them.

    A build that raised leaves no marker, so the next asker builds again (and fails with its own error)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if _under_xdist() else base  # the workers' basetemps share this parent
    target = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (root / f"{name}.built").exists():
            target.mkdir(parents=True, exist_ok=True)
            build(target)
            (root / f"{name}.built").touch()
    return target


def _under_xdist() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


@pytest.fixture(scope="session")
def drop_factory(tmp_path_factory):
    """generate(scale, seed, defect_rate, fmt, encoding) -> (folder, manifest), one per arguments (shared)."""
    from salescope.generator import generate

    def make(
        scale: float = 0.05,
        seed: int = 7,
        defect_rate: float = 0.0,
        fmt: str = "csv",
        encoding: str = "utf-8",
    ):
        out = _shared_dir(
            tmp_path_factory,
            f"drop-{scale}-{seed}-{defect_rate}-{fmt}-{encoding}",
            lambda path: generate(
                path, scale=scale, seed=seed, defect_rate=defect_rate, fmt=fmt, encoding=encoding
            ),
        )
        return out, json.loads((out / "_manifest.json").read_text())

    return make


@pytest.fixture(scope="session")
def pipeline_home(tmp_path_factory, drop_factory) -> Path:
    """A SALESCOPE_HOME whose serving snapshot the real graph published (scale 0.05, seed 7, no defects).

    Shared, read-only, by the dashboard tests that compare pages with the marts. Tests that add users or
    change files there must use their own copy."""
    from salescope.cli import run_pipeline
    from salescope.settings import Settings

    drop, _ = drop_factory(scale=0.05, seed=7, defect_rate=0.0)

    def build(home: Path) -> None:
        s = Settings.from_env(home)
        s.ensure_dirs()
        assert run_pipeline(s, drop, None), "the clean demo drop did not publish"

    return _shared_dir(tmp_path_factory, "pipeline-home", build)


@pytest.fixture(scope="session")
def defect_pipeline_home(tmp_path_factory, drop_factory) -> Path:
    """A SALESCOPE_HOME after one run on a drop with 2% injected defects (scale 0.05, seed 11); it publishes
    with warnings. Shared and read-only: copy it to change anything."""
    from salescope.cli import run_pipeline
    from salescope.settings import Settings

    drop, _ = drop_factory(scale=0.05, seed=11, defect_rate=0.02)

    def build(home: Path) -> None:
        s = Settings.from_env(home)
        s.ensure_dirs()
        run_pipeline(s, drop, None)  # whether it published is what the tests check

    return _shared_dir(tmp_path_factory, "defect-pipeline-home", build)


# the machine's database servers (DESIGN: environment facts); .ci/run starts them when they are stopped
SERVERS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/{db}",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/{db}",
}


@pytest.fixture
def new_db():
    """new_db(dialect) -> URL of a fresh, uniquely named database on the machine's server ("postgresql" or
    "mysql" for MariaDB); all are dropped at the end. Fails clearly, never skips, when a server is down."""
    from salescope.crm_db import parse_url
    from salescope.crm_db.url import create_database, drop_database

    made = []

    def make(dialect: str) -> str:
        url = SERVERS[dialect].format(db=f"salescope_t_{uuid.uuid4().hex[:10]}")
        create_database(parse_url(url))
        made.append(url)
        return url

    yield make
    for url in made:
        drop_database(parse_url(url))


PIPELINE_FIXTURES = {"pipeline_home", "pipeline_copy", "defect_pipeline_home"}
# whole modules that run dbt, validate generated drops end to end or drive a real browser
SLOW_MODULES = {"test_dbt_project.py", "test_quality_recall.py"}


# The longest modules (measured with --durations), started first: `--dist loadfile` hands out whole modules in
# collection order, and a long module handed out last leaves the other worker idle at the end; the first two run
# side by side at the start: one builds pipeline_home, the other needs none (no idle wait)
LONGEST_FIRST = (
    "browser/test_browser_pages.py",
    "test_sql_source.py",
    "test_crash_recovery.py",
    "test_engine_parity.py",
    "test_quality_gate_pipeline.py",
    "browser/test_browser_session.py",
    "browser/test_browser_dashboards.py",
    "test_dbt_project.py",
)


def _module_rank(item) -> int:
    path = item.path.as_posix()
    return next((i for i, m in enumerate(LONGEST_FIRST) if path.endswith("/" + m)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(config, items):
    items.sort(key=_module_rank)  # stable: the order inside a module and among the rest stays
    for item in items:
        if (
            PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ()))
            or item.path.name in SLOW_MODULES
            or item.path.parent.name == "browser"
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def pipeline_copy(pipeline_home, tmp_path_factory) -> Path:
    """A private SALESCOPE_HOME with a copy of the pipeline's serving snapshot (tests add users to it)."""
    import shutil

    home = tmp_path_factory.mktemp("pipeline-copy")
    (home / "serving").mkdir()
    shutil.copy(pipeline_home / "serving" / "serving.duckdb", home / "serving" / "serving.duckdb")
    mp = pytest.MonkeyPatch()
    mp.setenv("SALESCOPE_HOME", str(home))
    yield home
    mp.undo()
