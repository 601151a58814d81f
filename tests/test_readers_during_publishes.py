"""Readers during publishes: 20 concurrent readers load dashboard pages through ``dashboards.db`` while
another process publishes 5 times; then each race it can hit, made deterministic.

Threads, as Streamlit runs each session's script in a thread of one process; the publisher is the real
``orchestration.publish.publish_snapshot`` in a process of its own (``tests/publish_worker.py``). Every
publish changes each figure a page reads in a known way (``dashboards.testing_publishes``), so a page load
that mixed two snapshots, or read an old one, is caught.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from dashboards import db, queries
from dashboards.testing_publishes import (
    AS_OF,
    FIGURES,
    REPS,
    Publisher,
    build_warehouse,
    expected,
    page_load,
    publish_of,
    run_id,
    stage,
)
from orchestration.publish import publish_snapshot

READERS = 20
PUBLISHES = 5
PAUSE_S = 0.05  # a page draws what it got before its next query
WAIT_S = 15.0


class Taken:
    """Snapshot identities some page has taken, so the test can publish again right then."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events: dict = {}

    def event(self, snap) -> threading.Event:
        with self.lock:
            return self.events.setdefault(snap, threading.Event())

    def __call__(self, snap) -> None:
        self.event(snap).set()


def _reader(i: int, serving: Path, stop: threading.Event, loads: list, errors: list, taken: Taken) -> None:
    rep = REPS[i % len(REPS)]
    # half the sessions query DuckDB for every figure (a first load after a publish), half go through the cache
    cached = i % 2 == 1
    n = 0
    while not stop.is_set():
        n = n % 30 + 1  # a different LIMIT each time: one real query per page even through the cache
        try:
            load = page_load(serving, rep, n, cached=cached, pause=PAUSE_S, on_snapshot=taken)
        except Exception as exc:  # every error counts; the test fails on any
            errors.append(f"reader {i}: {type(exc).__name__}: {exc}")
            continue
        loads.append((rep, n, load))


def test_20_readers_through_5_publishes(tmp_path):
    started = time.monotonic()
    publisher = Publisher(tmp_path)
    assert publisher.first["k"] == 1
    taken = Taken()
    loads: list = []
    errors: list = []
    stop = threading.Event()
    readers = [
        threading.Thread(target=_reader, args=(i, publisher.serving, stop, loads, errors, taken), daemon=True)
        for i in range(READERS)
    ]
    for r in readers:
        r.start()
    published_at: dict[int, float] = {}  # k -> monotonic time the publish had returned (the rename was done)
    publish_s = []
    try:
        assert taken.event(db.current_snapshot(publisher.serving)).wait(WAIT_S)
        for k in range(2, PUBLISHES + 2):
            reply = publisher.publish()
            published_at[k] = time.monotonic()
            assert reply["k"] == k
            publish_s.append(reply["seconds"])
            # publish again as soon as a page has taken this snapshot: pages are then mid-load on it and on
            # older ones while the next one is written, renamed in and opened
            assert taken.event(db.current_snapshot(publisher.serving)).wait(WAIT_S), (
                f"no page took publish {k}"
            )
        time.sleep(1.0)  # pages begun on older snapshots finish; new ones run on the last
    finally:
        stop.set()
        for r in readers:
            r.join(timeout=30)
        assert publisher.close() == 0

    assert errors == [], f"{len(errors)} reader errors, first: {errors[:3]}"
    assert not any(r.is_alive() for r in readers)
    # the readers really were mid-page when publishes landed, many of them across two or more
    landed = sorted(published_at.values())
    across = Counter(sum(ld.started < t < ld.ended for t in landed) for _r, _n, ld in loads)
    assert sum(c for n, c in across.items() if n >= 1) >= 2 * PUBLISHES, across
    # every page load: all figures from the snapshot its publish_log row names, equal to Python's figures
    mixed = [
        (rep, n, ld.marker, publish_of(ld.figures, rep, n))
        for rep, n, ld in loads
        if ld.figures != expected(ld.marker, rep, n)
    ]
    assert mixed == [], (
        f"{len(mixed)} page loads not from one snapshot (rep, n, marker, k per figure): {mixed[:3]}"
    )
    # every new snapshot was shown by whole page loads, and none that began after a publish showed an older one
    markers = Counter(ld.marker for _r, _n, ld in loads)
    assert set(markers) == set(range(1, PUBLISHES + 2)), markers
    stale = [
        (k, ld.marker)
        for _r, _n, ld in loads
        for k, t in published_at.items()
        if ld.started > t and ld.marker < k
    ]
    assert stale == [], f"{len(stale)} page loads read an older snapshot than the one published: {stale[:3]}"
    assert len(publish_s) == PUBLISHES and all(0 < s < 10 for s in publish_s)
    retries = sum(ld.retries for _r, _n, ld in loads)
    print(
        f"\n{len(loads)} page loads by {READERS} readers through {PUBLISHES} publishes in "
        f"{time.monotonic() - started:.1f} s (per snapshot {dict(sorted(markers.items()))}; publishes landed "
        f"inside {dict(sorted(across.items()))} pages); {retries} started over; "
        f"publish {min(publish_s):.2f}-{max(publish_s):.2f} s"
    )


def test_expected_figures_by_hand():
    """Publish 4 as rep R1, top 2 deals: 4 x (1,200,000 + 3,500,000) booked, 4 x (2,500,000 + 700,000) open,
    4 x (4,345,678 + 3,500,000) listed."""
    assert expected(4, "R1", 2) == {
        "bookings": 4 * 11_045_678,
        "rep_bookings": 18_800_000,
        "rep_open": 4 * 3_200_000,
        "top_amount": 4 * 7_845_678,
        "issues": 4,
        "loads": 4,
        "quarantined": 4,
    }
    assert set(FIGURES) == set(expected(1, "R1", 1))


@pytest.mark.parametrize("k", [1, 3])
def test_expected_figures_match_a_published_snapshot(tmp_path, k):
    """The Python figures are those of the published file, read with a plain DuckDB connection."""
    con = build_warehouse(tmp_path / "w.duckdb")
    stage(con, k)
    serving = tmp_path / "serving.duckdb"
    publish_snapshot(con, serving, run_id=run_id(k), as_of=AS_OF, quality_status="passed")
    s = duckdb.connect(str(serving), read_only=True)
    try:
        got = {
            "bookings": s.execute("SELECT sum(bookings_cny) FROM marts.mart_bookings_monthly").fetchone()[0],
            "rep_bookings": s.execute(
                "SELECT sum(amount_cny) FROM marts.fct_opportunities "
                "WHERE owner_user_id = 'R2' AND won_at IS NOT NULL"
            ).fetchone()[0],
            "rep_open": s.execute(
                "SELECT sum(amount_cny) FROM marts.fct_opportunities WHERE owner_user_id = 'R2' AND is_open"
            ).fetchone()[0],
            "top_amount": s.execute(
                "SELECT sum(amount_cny) FROM (SELECT amount_cny FROM marts.fct_opportunities "
                "ORDER BY amount_cny DESC LIMIT 3)"
            ).fetchone()[0],
            "issues": s.execute("SELECT count(*) FROM quality.issues").fetchone()[0],
            "loads": s.execute("SELECT count(*) FROM ops.load_log").fetchone()[0],
            "quarantined": s.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0],
        }
        assert s.execute("SELECT run_id FROM meta.publish_log").fetchall() == [(run_id(k),)]
    finally:
        s.close()
    assert {f: float(v) for f, v in got.items()} == expected(k, "R2", 3)


# ---- the races, one at a time (each failed before dashboards.db kept a registry) ---------------------------


@pytest.fixture
def publishes(tmp_path):
    """publish(k) -> the serving path, with publish k's content renamed in."""
    con = build_warehouse(tmp_path / "w.duckdb")
    serving = tmp_path / "serving" / "serving.duckdb"

    def publish(k: int) -> Path:
        stage(con, k)
        publish_snapshot(con, serving, run_id=run_id(k), as_of=AS_OF, quality_status="passed")
        return serving

    yield publish
    con.close()


def _run_of(snap) -> str:
    return queries.publish_info.__wrapped__(snap).run_id


def test_snapshot_replaced_before_its_first_read_is_never_read_under_its_name(publishes):
    """A publish between a page's current_snapshot and its first query: the old code attached the path and
    answered run-2 for run-1's identity (and cached it under that key)."""
    serving = publishes(1)
    first = db.current_snapshot(serving)
    publishes(2)
    with pytest.raises(db.SnapshotReplaced):
        _run_of(first)
    # the page starts over: open_snapshot takes the new file and opens it before anything is read
    again = db.open_snapshot(serving)
    assert again != first and _run_of(again) == "run-2"


def test_page_on_a_superseded_snapshot_keeps_reading_it(publishes):
    """Three newer snapshots opened while a page is half done: the old code evicted the page's connection
    (two entries) and reopened the path, so the rest of the page showed run-4's figures."""
    serving = publishes(1)
    page = db.open_snapshot(serving)
    assert _run_of(page) == "run-1"
    for k in (2, 3, 4):
        assert _run_of(db.open_snapshot(publishes(k))) == run_id(k)
    assert _run_of(page) == "run-1"
    assert queries.issue_summary.__wrapped__(page)["issues"].sum() == 1  # run-4 has 4


def test_running_query_keeps_its_connection_and_an_expired_one_says_replaced(publishes, monkeypatch):
    """A superseded connection is closed only when no query runs on it; after that a page that comes back
    to it gets SnapshotReplaced (and starts over), never a closed connection or another file's rows."""
    monkeypatch.setattr(db, "GRACE_S", 0.0)  # superseded connections close as soon as they are idle
    serving = publishes(1)
    page = db.open_snapshot(serving)
    with db.reading(page) as cur:
        for k in (2, 3):
            _run_of(db.open_snapshot(publishes(k)))  # opening a newer one prunes the idle superseded ones
        # in use all along: still open, still the page's file
        assert cur.execute("SELECT count(*) FROM ops.load_log").fetchone()[0] == 1
    _run_of(db.open_snapshot(serving))  # the next page load prunes it, idle now
    with pytest.raises(db.SnapshotReplaced):
        _run_of(page)


def _page_replaced_on_early_runs():
    import streamlit as st

    from dashboards import db, pagekit

    st.session_state["runs"] = st.session_state.get("runs", 0) + 1

    def render(_lang: str) -> None:
        st.write(f"half a page from run {st.session_state.runs}")
        if st.session_state.runs <= st.session_state.get("replaced_runs", 0):
            raise db.SnapshotReplaced("replaced")
        st.write("whole page")

    pagekit.run_page("test", render)


@pytest.mark.parametrize(("replaced_runs", "runs", "whole"), [(0, 1, True), (1, 2, True), (2, 2, False)])
def test_page_starts_over_once_when_its_snapshot_was_replaced(replaced_runs, runs, whole):
    """pagekit.run_page reruns the script once (what was drawn is dropped), then gives up with the snapshot
    error rather than loop."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_page_replaced_on_early_runs)
    at.session_state["replaced_runs"] = replaced_runs
    at.run()
    assert at.session_state["runs"] == runs
    shown = [m.value for m in at.markdown]
    assert ("whole page" in shown) is whole
    assert shown[0] == f"half a page from run {runs}"  # only the last run's elements are on the page
    assert len(at.error) == (0 if whole else 1)
