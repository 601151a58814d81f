"""Starting a real dashboard server in a test: a free port, and waiting for Streamlit's health check."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(
    base: str, proc: subprocess.Popen, log: Path, stop: Callable[[], None], timeout: float = 60
) -> None:
    """Return once ``base`` answers its health check; else ``stop()`` the server and fail naming the log."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop()
            pytest.fail(f"the dashboard server did not start: see {log}")
        time.sleep(0.2)
