"""Test and bench support for readers during publishes: a warehouse whose publishes differ in known ways,
and a page load that reads several tables of the published snapshot the way the dashboards do.

Publish k (1, 2, ...) multiplies every deal amount by k, holds k data-quality issues, load-log rows and
quarantined rows, and its ``meta.publish_log`` row says ``run-k``. So every figure of a page load names the
publish it came from, and a page load that mixed two snapshots has figures naming different publishes. ``expected`` computes
the figures in Python from ``testing.DEALS``, independently of the SQL. Only tests and benches import this.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from dashboards import db, queries
from dashboards.scope import Scope
from dashboards.testing import DEALS, build_snapshot

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "publish_worker.py"
AS_OF = date(2026, 6, 30)
REPS = ("R1", "R2", "R3")
OPEN_LIMIT = 2_000  # the deals page's open-deal table
FIGURES = ("bookings", "rep_bookings", "rep_open", "top_amount", "issues", "loads", "quarantined")


def run_id(k: int) -> str:
    return f"run-{k}"


# ---- the publisher's side ----------------------------------------------------------------------------


def build_warehouse(path: Path, copies: int = 1) -> duckdb.DuckDBPyConnection:
    """A warehouse in the shape publish.py copies (marts, quality, ops.load_log, ops.quarantine), with the
    deals repeated ``copies`` times; the unscaled tables wait in schema ``base`` (never published)."""
    build_snapshot(path, as_of=AS_OF.isoformat())
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM meta.publish_log")  # the history is written by the publishes below
    con.execute("CREATE SCHEMA base")
    con.execute(
        """CREATE TABLE base.fct_opportunities AS
           SELECT o.* REPLACE (CASE WHEN c.i = 0 THEN o.opportunity_id ELSE o.opportunity_id || '-' || c.i END
                               AS opportunity_id)
           FROM marts.fct_opportunities AS o, range(?) AS c(i)""",
        [copies],
    )
    con.execute(
        """CREATE TABLE base.mart_bookings_monthly AS
           SELECT * REPLACE (bookings_cny * ? AS bookings_cny, open_pipeline_cny * ? AS open_pipeline_cny,
                             won_count * ? AS won_count, lost_count * ? AS lost_count, open_count * ? AS open_count)
           FROM marts.mart_bookings_monthly""",
        [copies] * 5,
    )
    for table in PERFORMANCE_MARTS:  # the scoped overview reads a rep's or team's row there
        con.execute(
            f"""CREATE TABLE base.{table} AS
                SELECT * REPLACE (bookings_cny * ? AS bookings_cny, open_pipeline_cny * ? AS open_pipeline_cny,
                                  won_count * ? AS won_count, lost_count * ? AS lost_count, open_count * ? AS open_count)
                FROM marts.{table}""",
            [copies] * 5,
        )
    for table in ("quality.issues", "ops.load_log", "ops.quarantine"):
        con.execute(f"CREATE TABLE base.{table.split('.')[1]} AS SELECT * FROM {table}")
    return con


PERFORMANCE_MARTS = ("mart_rep_performance", "mart_sales_performance_rollup")


def stage(con: duckdb.DuckDBPyConnection, k: int) -> None:
    """Put publish k's content into the warehouse's published tables."""
    con.execute(
        """CREATE OR REPLACE TABLE marts.fct_opportunities AS
                   SELECT * REPLACE (amount * ? AS amount, amount_cny * ? AS amount_cny)
                   FROM base.fct_opportunities""",
        [k, k],
    )
    con.execute(
        """CREATE OR REPLACE TABLE marts.mart_bookings_monthly AS
                   SELECT * REPLACE (bookings_cny * ? AS bookings_cny, open_pipeline_cny * ? AS open_pipeline_cny)
                   FROM base.mart_bookings_monthly""",
        [k, k],
    )
    for table in PERFORMANCE_MARTS:
        con.execute(
            f"""CREATE OR REPLACE TABLE marts.{table} AS
                        SELECT * REPLACE (bookings_cny * ? AS bookings_cny, open_pipeline_cny * ? AS open_pipeline_cny)
                        FROM base.{table}""",
            [k, k],
        )
    con.execute(
        """CREATE OR REPLACE TABLE quality.issues AS
                   SELECT b.* REPLACE (b.record_key || '-' || c.i AS record_key)
                   FROM base.issues AS b, range(?) AS c(i)""",
        [k],
    )
    con.execute(
        """CREATE OR REPLACE TABLE ops.load_log AS
                   SELECT b.* REPLACE (b.load_id || '-' || c.i AS load_id, b.entity || '-' || c.i AS entity)
                   FROM base.load_log AS b, range(?) AS c(i)""",
        [k],
    )
    con.execute(
        """CREATE OR REPLACE TABLE ops.quarantine AS
                   SELECT b.* REPLACE (b.source_row + c.i AS source_row)
                   FROM base.quarantine AS b, range(?) AS c(i)""",
        [k],
    )


class Publisher:
    """The publish worker (``tests/publish_worker.py``) in its own process: it publishes run-1 when started,
    then one more on each ``publish()``; both return the worker's report (k, run_id, seconds, rows)."""

    def __init__(self, home: Path, copies: int = 1):
        self.serving = home / "serving" / "serving.duckdb"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                str(home / "warehouse.duckdb"),
                str(self.serving),
                "--copies",
                str(copies),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.first = self._reply()

    def _reply(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("PUBLISHED "):
                return json.loads(line.removeprefix("PUBLISHED "))
        raise RuntimeError(f"the publish worker ended (exit {self.proc.wait()})")

    def publish(self) -> dict:
        self.proc.stdin.write("publish\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> int:
        self.proc.stdin.close()
        return self.proc.wait(timeout=60)


# ---- what a page load must show, from the constants ----------------------------------------------------


def expected(k: int, rep: str, n: int, copies: int = 1) -> dict[str, float]:
    """The figures of publish k for a page load as ``rep`` with ``n`` opportunities listed (Python only)."""
    won = [(owner, amount) for _id, _a, owner, amount, _c, won_at, *_ in DEALS if won_at is not None]
    # the deals page lists OPEN_LIMIT open deals, longest in their stage first, then largest
    still_open = sorted(
        (
            (days, amount)
            for _id, _a, owner, amount, _c, won_at, lost_at, _s, days in DEALS
            if owner == rep and won_at is None and lost_at is None
            for _ in range(copies)
        ),
        reverse=True,
    )[:OPEN_LIMIT]
    amounts = sorted((d[3] for d in DEALS for _ in range(copies)), reverse=True)
    return {
        "bookings": float(k * copies * sum(a for _o, a in won)),
        "rep_bookings": float(k * copies * sum(a for o, a in won if o == rep)),
        "rep_open": float(k * sum(amount for _days, amount in still_open)),
        "top_amount": float(k * sum(amounts[:n])),
        "issues": float(k),
        "loads": float(k),
        "quarantined": float(k),
    }


# ---- the reader's side --------------------------------------------------------------------------------


@dataclass
class PageLoad:
    started: float  # time.monotonic() when the page took its snapshot (of the attempt that answered)
    ended: float  # time.monotonic() at the last answer
    seconds: float  # the whole page load, retries included
    marker: int  # k of the publish_log row the page showed
    figures: dict[str, float]
    retries: int


def _call(fn, cached: bool):
    # uncached: every call is a DuckDB round trip, as on the first page load after a publish
    return fn if cached else fn.__wrapped__


def _steps(rep: str, n: int) -> list[tuple[str | None, object, tuple, object]]:
    """(figure, query function, arguments after the snapshot, figure of the answer): the queries of the
    overview, deals and quality pages, in the order a page would run them."""
    own, everything = Scope(role="sales_rep", user_id=rep), Scope.everything()
    return [
        ("bookings", queries.monthly_series, (everything,), lambda df: df["bookings_cny"].sum()),  # mart
        (
            "rep_bookings",
            queries.monthly_series,
            (own,),
            lambda df: df["bookings_cny"].sum(),
        ),  # from the deals
        (None, queries.filter_options, (own,), None),  # fct_opportunities + dim_users
        (
            "rep_open",
            queries.open_deals,
            (own, queries.DealFilter(), OPEN_LIMIT),
            lambda df: df["amount_cny"].sum(),
        ),
        (
            "top_amount",
            queries.opportunities,
            (everything, n),
            lambda df: df["amount_cny"].sum(),
        ),  # key per n
        ("issues", queries.issue_summary, (), lambda df: df["issues"].sum()),  # quality.issues
        ("loads", queries.load_log, (), len),  # ops.load_log
        ("quarantined", queries.quarantine, (), len),  # ops.quarantine
    ]


def _page(path: Path, rep: str, n: int, cached: bool, pause: float, on_snapshot) -> tuple[float, int, dict]:
    """One page load: the snapshot once, then every query on it, ``pause`` s of drawing after each answer."""
    started = time.monotonic()
    snap = db.open_snapshot(path)  # as pagekit.snapshot_or_empty does
    if snap is None:
        raise FileNotFoundError(f"no serving snapshot at {path} during a page load")
    if on_snapshot is not None:
        on_snapshot(snap)
    marker = int(_call(queries.publish_info, cached)(snap).run_id.removeprefix("run-"))  # meta.publish_log
    figures = {}
    for figure, fn, args, value in _steps(rep, n):
        time.sleep(pause)
        answer = _call(fn, cached)(snap, *args)
        if figure is not None:
            figures[figure] = float(value(answer))
    return started, marker, figures


def page_load(
    path: Path, rep: str, n: int, *, cached: bool = True, pause: float = 0.0, on_snapshot=None
) -> PageLoad:
    """A page load; like ``pagekit.run_page`` it starts over once when the snapshot was replaced under it.
    ``on_snapshot(snap)`` is called when the page has taken its snapshot, before any query (the test
    publishes again then)."""
    began = time.monotonic()
    for attempt in (0, 1):
        try:
            started, marker, figures = _page(path, rep, n, cached, pause, on_snapshot)
        except db.SnapshotReplaced:
            if attempt:
                raise
            continue
        ended = time.monotonic()
        return PageLoad(started, ended, ended - began, marker, figures, attempt)
    raise AssertionError("unreachable")


def publish_of(figures: dict[str, float], rep: str, n: int, copies: int = 1) -> dict[str, float]:
    """Figure -> the k it implies (k = figure / figure of publish 1), to name the snapshots of a mixed page."""
    one = expected(1, rep, n, copies)
    return {f: round(figures[f] / one[f], 3) if one[f] else float("nan") for f in FIGURES}
