"""What every page shares: the snapshot or a friendly empty state, "not yet available", no stack traces."""

from __future__ import annotations

import logging
from collections.abc import Callable

import duckdb
import streamlit as st

from dashboards import db, queries
from dashboards.db import Snapshot
from dashboards.i18n import current_lang, t
from salescope.settings import get_settings

log = logging.getLogger("salescope.dashboards")


def snapshot_or_empty(lang: str) -> Snapshot | None:
    path = get_settings().serving_path
    snap = db.open_snapshot(path)
    if snap is None:
        st.info(
            f"**{t('empty.title', lang)}**\n\n{t('empty.body', lang, path=path)}", icon=":material/inbox:"
        )
    return snap


def require_tables(snap: Snapshot, lang: str, *names: str) -> bool:
    """True when the snapshot holds every table; else a friendly "not yet available" note."""
    missing = [n for n in names if n not in queries.available_tables(snap)]
    if missing:
        st.info(t("page.not_available", lang, tables=", ".join(missing)), icon=":material/construction:")
        return False
    return True


RETRY_KEY = "_snapshot_replaced_retry"


def start_over(name: str, lang: str) -> None:
    """A publish replaced the page's snapshot before the page could open it: run the page again, once, on the
    new snapshot (``st.rerun`` drops what was drawn, so the page never shows figures of two publishes)."""
    if st.session_state.pop(RETRY_KEY, False):
        log.warning("%s: the snapshot was replaced twice during one page load", name)
        st.error(t("error.snapshot", lang), icon=":material/error:")
        return
    st.session_state[RETRY_KEY] = True
    st.rerun()


def run_page(name: str, render: Callable[[str], None]) -> None:
    """Run a page's ``render(lang)``; a broken snapshot or a bug shows a message, the log keeps the trace."""
    lang = current_lang()
    try:
        render(lang)
        st.session_state.pop(RETRY_KEY, None)
    except db.SnapshotReplaced:
        start_over(name, lang)
    except duckdb.Error:
        log.exception("%s: cannot read serving snapshot", name)
        st.error(t("error.snapshot", lang), icon=":material/error:")
    except Exception:
        log.exception("%s page failed", name)
        st.error(t("error.generic", lang), icon=":material/error:")
