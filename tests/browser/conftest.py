"""Real-browser tests: one `streamlit run dashboards/server.py` (what `salescope serve` runs) per module on a
free localhost port, driven by Playwright with Debian's chromium (DESIGN.md: never a downloaded browser).
Skipped, with the reason, where /usr/bin/chromium or playwright is missing; CI installs chromium (.ci/run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from serving import free_port, wait_until_healthy

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "dashboards" / "server.py"  # the app plus the session-cookie routes
DESKTOP = {"width": 1280, "height": 900}

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium: apt-get install -y chromium "
        "(.ci/run installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: make install")


@pytest.fixture(scope="module")
def browser_home(tmp_path_factory) -> Path:
    from dashboards.testing import add_role_users, build_snapshot

    home = tmp_path_factory.mktemp("browser-home")
    build_snapshot(home / "serving" / "serving.duckdb")
    add_role_users(home)
    return home


@pytest.fixture(scope="module")
def server(browser_home):
    """Base URL of a streamlit server on the module's home; stopped after the module."""
    port = free_port()
    log = (browser_home / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(SERVER),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--client.showErrorDetails",
            "none",
            "--server.fileWatcherType",
            "none",
            "--client.toolbarMode",
            "viewer",
        ],
        env={**os.environ, "SALESCOPE_HOME": str(browser_home)},
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(base, proc, browser_home / "streamlit.log", proc.kill)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs  # an alert() would land here: tests assert it stays empty
    yield pg
    context.close()
