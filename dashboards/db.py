"""Read-only connections to the published serving snapshot (never the warehouse).

The snapshot is identified by (path, mtime_ns, size, inode). Publishing swaps the file with an atomic rename,
which changes that identity, so the connection and every cached query result keyed on it are replaced on
the next rerun. One connection per identity is kept in a process-wide registry (Streamlit runs every
session in a thread of one process): a connection is opened only if the file at the path still is that
identity, is never closed while a query runs on it, and a superseded one stays open for GRACE_S so page
loads that began on it finish on it (``tests/test_readers_during_publishes.py``).

Why ATTACH and not ``duckdb.connect(path, read_only=True)``: DuckDB's Python client keeps one database
instance per file path for the whole process. While any connection to the old file is still open (an
older cached entry, a query still running in another session), a new ``connect`` to the same path is
handed that old instance and silently reads the *previous* snapshot (duckdb/duckdb#15912;
``tests/test_dashboard_overview.py::test_reconnects_to_a_republished_snapshot``). An in-memory
database is never shared, so each connection attaches the file fresh. After the attach, external
access is switched off and the configuration is locked, so the connection can neither read other
files nor write the snapshot.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

CATALOG = "serving"


@dataclass(frozen=True)
class Snapshot:
    """Identity of one published serving file."""

    path: str
    mtime_ns: int
    size: int
    inode: int  # a rename always brings a new inode, even if mtime and size happened to match


def current_snapshot(path: Path | str) -> Snapshot | None:
    """The snapshot now at ``path``, or None when nothing has been published yet."""
    try:
        st_ = os.stat(path)
    except FileNotFoundError:
        return None
    return Snapshot(str(Path(path).resolve()), st_.st_mtime_ns, st_.st_size, st_.st_ino)


def open_readonly(path: str) -> duckdb.DuckDBPyConnection:
    """A private, read-only connection to the serving file with external access disabled."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH ? AS {CATALOG} (READ_ONLY)", [path])
        con.execute(f"USE {CATALOG}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


class SnapshotReplaced(RuntimeError):
    """The page's snapshot is no longer the published file and has no open connection (a publish landed
    before one was opened, or it was closed after GRACE_S unused).

    Opening the path now would read the newer file under the old identity, so a page would mix two
    publishes. The page starts over on the current snapshot instead (``pagekit.run_page``)."""


# A superseded snapshot's connection stays open this long after its last use, so a page load that began on
# it finishes on it (the file stays readable through the open handle after the rename).
GRACE_S = 60.0
MAX_IDLE = 8  # idle connections kept in all (tests open many homes in one process)


@dataclass
class _Entry:
    con: duckdb.DuckDBPyConnection
    opened: float
    used: float
    users: int = 0  # queries running on it now: never closed under them


_lock = threading.Lock()
_entries: dict[Snapshot, _Entry] = {}


def _open_checked(snap: Snapshot) -> duckdb.DuckDBPyConnection:
    con = open_readonly(snap.path)
    # a publish may have landed between the page's current_snapshot and this ATTACH: then the connection holds
    # the newer file and would answer for the older identity. Still the same identity after the ATTACH means
    # the attached file is the page's (a replaced file never comes back with its inode, mtime and size).
    if current_snapshot(snap.path) != snap:
        _close(con)
        raise SnapshotReplaced(f"{snap.path} was replaced by a newer publish; reload the page")
    return con


def _close(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        con.close()


def _prune(now: float) -> None:
    """Close idle connections: superseded ones after GRACE_S unused, then the least recently used over MAX_IDLE."""
    newest: dict[str, float] = {}
    for snap, e in _entries.items():
        newest[snap.path] = max(newest.get(snap.path, 0.0), e.opened)
    idle = sorted(((e.used, snap) for snap, e in _entries.items() if e.users == 0), key=lambda x: x[0])
    drop = {snap for used, snap in idle if _entries[snap].opened < newest[snap.path] and now - used > GRACE_S}
    keep = [snap for _used, snap in idle if snap not in drop]
    drop.update(keep[: max(0, len(keep) - MAX_IDLE)])
    for snap in drop:
        _close(_entries.pop(snap).con)


def _acquire(snap: Snapshot) -> _Entry:
    with _lock:
        now = time.monotonic()
        _prune(now)
        entry = _entries.get(snap)
        if entry is None:
            entry = _entries[snap] = _Entry(_open_checked(snap), now, now)
        entry.users += 1
        entry.used = now
        return entry


def _done(entry: _Entry) -> None:
    with _lock:
        entry.users -= 1
        entry.used = time.monotonic()


def open_snapshot(path: Path | str, attempts: int = 3) -> Snapshot | None:
    """``current_snapshot``, with its connection opened before the page reads anything: a publish landing
    between the stat and the ATTACH is caught here and the newer file taken instead, so the page never
    has to start over for it. An unreadable file is left for the page's first query to report."""
    snap = current_snapshot(path)
    for _ in range(attempts):
        if snap is None:
            return None
        try:
            _done(_acquire(snap))
            return snap
        except SnapshotReplaced:
            snap = current_snapshot(path)
        except duckdb.Error:
            return snap
    return snap


def connection(snap: Snapshot) -> duckdb.DuckDBPyConnection:
    """The shared connection for ``snap``; raises SnapshotReplaced when it is no longer the published file
    and not open any more. Query through ``reading(snap)``: connections are not thread-safe."""
    entry = _acquire(snap)
    _done(entry)
    return entry.con


def cursor(snap: Snapshot) -> duckdb.DuckDBPyConnection:
    """A new cursor on the shared connection; close it when done. Prefer ``reading``, which also keeps the
    connection from being closed while the cursor runs."""
    cur = connection(snap).cursor()
    cur.execute(f"USE {CATALOG}")  # the default catalog is per cursor
    return cur


@contextlib.contextmanager
def reading(snap: Snapshot) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on ``snap``'s connection (one per query and thread), closed afterwards; the connection stays
    open at least until the cursor is done, even if a newer snapshot is published meanwhile."""
    entry = _acquire(snap)
    try:
        cur = entry.con.cursor()
        try:
            cur.execute(f"USE {CATALOG}")  # the default catalog is per cursor
            yield cur
        finally:
            cur.close()
    finally:
        _done(entry)
