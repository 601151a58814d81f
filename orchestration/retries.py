"""Step retries for a locked warehouse, and only for that.

A step that cannot open ``warehouse.duckdb`` because another process holds it (DuckDB's ``IO Error: Could
not set lock on file ... Conflicting lock is held in ... (PID n)``: a ``duckdb`` shell left open, a second
writer started outside Salescope) or because ``run_guard``'s writer lock is busy (``WarehouseBusy``) asks
Dagster to run it again after a pause: ``LOCK_RETRY_SECONDS``, doubled each time (10 s, 20 s, 40 s), at most
``LOCK_RETRIES`` times. Anything else (a contract violation, a failed quality gate, a dbt error, a bug)
fails the step at once: re-running it would fail the same way.

Why a ``RetryRequested`` raised by the step and not a ``RetryPolicy``: a policy retries every failure, data
errors included. Why not run retries (the ``dagster/max_retries`` tag): they are the daemon's, so they
would not cover ``salescope run`` (in-process, no daemon), and they re-run the whole run. A step retry works
the same in-process and in runs the daemon launches; every writing step is idempotent on a rerun (an
ingest commits per file, dbt rebuilds its models, the publish writes aside and renames).
"""

from __future__ import annotations

import contextlib

import duckdb
from dagster import RetryRequested

from orchestration.run_guard import WarehouseBusy

LOCK_RETRIES = 3  # retries after the first attempt
LOCK_RETRY_SECONDS = 10.0  # the first pause; doubled at each retry
_LOCK_MESSAGES = ("could not set lock on file", "conflicting lock")


def is_lock_error(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an exception it was raised from) says the warehouse is locked by someone else."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, WarehouseBusy):
            return True
        if isinstance(exc, duckdb.Error) and any(m in str(exc).lower() for m in _LOCK_MESSAGES):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def lock_retry_wait(retry_number: int) -> float:
    return LOCK_RETRY_SECONDS * 2**retry_number


@contextlib.contextmanager
def retry_on_lock(context):
    """Around a step's body: a lock error becomes a retry request (with backoff); other errors pass."""
    try:
        yield
    except Exception as exc:
        if not is_lock_error(exc):
            raise
        wait = lock_retry_wait(context.retry_number)
        if context.retry_number < LOCK_RETRIES:
            context.log.warning(
                f"the warehouse is locked by another process ({str(exc).splitlines()[0][:300]}); "
                f"retry {context.retry_number + 1} of {LOCK_RETRIES} in {wait:g} s"
            )
        raise RetryRequested(max_retries=LOCK_RETRIES, seconds_to_wait=wait) from exc
