"""One writer per SALESCOPE_HOME, and the processes a crashed run left behind.

``WriterLock`` is an advisory ``flock`` on ``SALESCOPE_HOME/run.lock``. The kernel drops it when the
process dies, however it dies (SIGKILL, OOM, power), so a crash never leaves a stale lock. The holder
writes who it is (pid, host, start, run id) into the file, so a second run can say which run holds the
warehouse.

Children (the dbt process) do not inherit the lock, and a SIGKILLed parent does not take them along:
an orphaned dbt would go on writing ``warehouse.duckdb``. Every run therefore puts a token in its
environment (children inherit it); the next holder of the lock ends any process still carrying the
previous holder's token before it starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

TOKEN_ENV = "SALESCOPE_RUN_TOKEN"  # inherited by every child of a run; how its leftovers are found


class WarehouseBusy(RuntimeError):
    """Another live process holds the warehouse."""

    def __init__(self, holder: Holder | None, waited: float = 0.0, message: str | None = None):
        self.holder = holder
        self.waited = waited
        super().__init__(message or describe_holder(holder))


@dataclass
class Holder:
    pid: int
    host: str
    started_at: str
    token: str
    boot_id: str = ""
    pid_start: str = ""
    run_id: str = ""
    command: str = "salescope run"
    extra: dict = field(default_factory=dict)


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' where /proc is absent): tells a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def process_alive(pid: int, host: str = "", boot: str = "", started: str = "") -> bool:
    """True when the process that recorded (pid, host, boot, start) still runs. Another host: assumed alive."""
    if host and host != socket.gethostname():
        return True
    if boot and boot_id() and boot != boot_id():
        return False  # the machine restarted since
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if started and process_start(pid) and process_start(pid) != started:
        return False  # the pid now belongs to another process
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state not in {"Z", "X"}


def this_process() -> dict[str, str]:
    """Who this process is, as stored with a run (Dagster run tags) and in the lock file."""
    pid = os.getpid()
    return {
        "pid": str(pid),
        "host": socket.gethostname(),
        "boot_id": boot_id(),
        "pid_start": process_start(pid),
    }


def describe_holder(holder: Holder | None) -> str:
    if holder is None:
        return "another process holds the warehouse (it did not say which)"
    run = f"run {holder.run_id[:8]} " if holder.run_id else ""
    return (
        f"{run}(`{holder.command}`, pid {holder.pid} on {holder.host}, started {holder.started_at}) "
        "holds the warehouse"
    )


class WriterLock:
    """The one-writer lock of a SALESCOPE_HOME. Use as a context manager, or ``acquire``/``release``."""

    def __init__(self, home: Path, command: str = "salescope run"):
        self.path = Path(home) / "run.lock"
        self.command = command
        self._fd: int | None = None
        self.holder: Holder | None = None
        self.previous: Holder | None = None  # what the file said before we took it: a crashed run's leftovers

    def read_holder(self) -> Holder | None:
        try:
            data = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return None
        try:
            return Holder(**data) if data else None
        except TypeError:
            return None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        self.previous = self.read_holder()
        me = this_process()
        self.holder = Holder(
            pid=os.getpid(),
            host=me["host"],
            boot_id=me["boot_id"],
            pid_start=me["pid_start"],
            started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
            token=secrets.token_hex(8),
            command=self.command,
        )
        self._write()
        os.environ[TOKEN_ENV] = self.holder.token  # children carry it (see the module docstring)
        return True

    def acquire(self, wait: float = 0.0, on_wait=None) -> None:
        """Take the lock; wait up to ``wait`` seconds (calling ``on_wait(holder, seconds_left)`` each second)."""
        deadline = time.monotonic() + wait
        while not self.try_acquire():
            left = deadline - time.monotonic()
            holder = self.read_holder()
            if left <= 0:
                raise WarehouseBusy(holder, wait)
            if on_wait:
                on_wait(holder, left)
            time.sleep(min(1.0, left))

    def set_run_id(self, run_id: str) -> None:
        if self.holder:
            self.holder.run_id = run_id
            self._write()

    def _write(self) -> None:
        assert self._fd is not None and self.holder is not None
        data = json.dumps(asdict(self.holder)).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)  # an empty file: nobody's leftovers to clean up
        os.close(self._fd)  # closing drops the flock
        self._fd = None
        if self.holder and os.environ.get(TOKEN_ENV) == self.holder.token:
            del os.environ[TOKEN_ENV]

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def processes_with_token(token: str) -> list[int]:
    """Pids (other than this one) whose environment carries ``token``: the children of that run."""
    if not token or not Path("/proc").is_dir():
        return []
    marker = f"{TOKEN_ENV}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def is_resource_tracker(pid: int) -> bool:
    """Python's multiprocessing resource tracker: a child that ends with its parent, and must not end before."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def end_processes(pids: list[int], grace: float = 5.0) -> list[int]:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns the pids that were ended."""
    ended = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
            ended.append(pid)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(process_alive(p) for p in ended):
        time.sleep(0.1)
    for pid in ended:
        if process_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return ended


def end_leftovers(holder: Holder | None) -> list[int]:
    """End what a dead holder's run left running (an orphaned dbt); nothing when the holder is alive."""
    if holder is None or not holder.token:
        return []
    if holder.host != socket.gethostname():
        return []
    return end_processes(processes_with_token(holder.token))
