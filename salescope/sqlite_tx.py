"""One SQLite write transaction, the way every small Salescope store opens its file (users, calendar tokens,
the notification log): a busy timeout instead of "database is locked", BEGIN IMMEDIATE so two writers queue
rather than deadlock on upgrade, rollback on any error."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 10


@contextmanager
def transaction(
    path: Path | str, *, attach_as: str | None = None, rows: bool = False
) -> Iterator[sqlite3.Connection]:
    """A connection inside ``BEGIN IMMEDIATE``, committed when the block ends, rolled back when it raises.

    ``attach_as``: open an in-memory main database and attach the file under that schema name (so its
    tables read ``<schema>.<table>``); ``rows``: rows as ``sqlite3.Row``."""
    con = sqlite3.connect(":memory:" if attach_as else path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        if attach_as:
            con.execute(f"ATTACH DATABASE ? AS {attach_as}", [str(path)])
        if rows:
            con.row_factory = sqlite3.Row
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()
