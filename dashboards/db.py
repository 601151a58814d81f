"""Read-only connections to the published serving snapshot (never the warehouse).

The snapshot is identified by (path, mtime_ns, size, inode). Publishing swaps the file with an atomic rename,
which changes that identity, so the cached connection and every cached query result keyed on it are
replaced on the next rerun.

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
from dataclasses import dataclass
from pathlib import Path

import duckdb
import streamlit as st

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


def _release(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        con.close()


# two entries: the current snapshot and the one before it, which a query in another session may still use
@st.cache_resource(max_entries=2, on_release=_release, show_spinner=False)
def _connection(path: str, mtime_ns: int, size: int, inode: int) -> duckdb.DuckDBPyConnection:
    return open_readonly(path)


def connection(snap: Snapshot) -> duckdb.DuckDBPyConnection:
    """The shared connection for ``snap``. Query through ``cursor(snap)``: connections are not thread-safe."""
    return _connection(snap.path, snap.mtime_ns, snap.size, snap.inode)


def cursor(snap: Snapshot) -> duckdb.DuckDBPyConnection:
    """A new cursor on the shared connection (one per query and thread); close it when done."""
    cur = connection(snap).cursor()
    cur.execute(f"USE {CATALOG}")  # the default catalog is per cursor
    return cur
