"""Data quality (数据质量) for data stewards: the checks of the published run, issues by entity, the load log
and the quarantine with the reason to fix at the source. Contact PII in raw records is masked in SQL."""

from __future__ import annotations

import streamlit as st

from dashboards import pagekit, queries, session
from dashboards.i18n import t


def _section(title: str, df, what: str, lang: str, labels: dict[str, str], empty_key: str) -> None:
    st.subheader(title)
    if df.empty:
        st.info(t(empty_key, lang), icon=":material/check_circle:")
        return
    table = df.rename(columns={k: t(v, lang) for k, v in labels.items()})
    st.dataframe(table, hide_index=True, width="stretch")
    session.download_csv(table, what, f"salescope_{what.replace('.', '_')}.csv", lang, key=f"dl_{what}")


def render(lang: str) -> None:
    st.title(t("quality.title", lang))
    if session.require_page("quality", lang) is None:
        return
    snap = pagekit.snapshot_or_empty(lang)
    if snap is None:
        return
    info = queries.publish_info(snap)
    if info is not None:
        st.caption(
            t(
                "quality.run",
                lang,
                run_id=info.run_id or "—",
                status=t(f"quality.{info.quality_status}", lang)
                if info.quality_status in ("passed", "warnings", "failed")
                else t("quality.unknown", lang),
            )
        )
    if pagekit.require_tables(snap, lang, "quality.validation_results"):
        checks = queries.validation_results(snap)
        failed = int((~checks["success"].astype(bool)).sum()) if not checks.empty else 0
        c1, c2 = st.columns(2)
        c1.metric(t("quality.checks", lang), f"{len(checks):,}", border=True)
        c2.metric(t("quality.failed_checks", lang), f"{failed:,}", border=True)
        _section(
            t("quality.checks", lang),
            checks,
            "quality.checks",
            lang,
            {
                "suite": "qcol.suite",
                "expectation": "qcol.expectation",
                "column": "qcol.column",
                "success": "qcol.success",
                "severity": "qcol.severity",
                "unexpected_count": "qcol.unexpected",
                "unexpected_percent": "qcol.unexpected_pct",
                "detail": "qcol.detail",
            },
            "quality.none",
        )
    if pagekit.require_tables(snap, lang, "quality.issues"):
        _section(
            t("quality.issues", lang),
            queries.issue_summary(snap),
            "quality.issues",
            lang,
            {
                "entity": "qcol.entity",
                "kind": "qcol.kind",
                "severity": "qcol.severity",
                "action": "qcol.action",
                "issues": "qcol.count",
            },
            "quality.no_issues",
        )
    if pagekit.require_tables(snap, lang, "ops.quarantine"):
        _section(
            t("quality.quarantine", lang),
            queries.quarantine(snap),
            "quality.quarantine",
            lang,
            {
                "entity": "qcol.entity",
                "source_file": "qcol.file",
                "source_row": "qcol.row",
                "record_key": "qcol.record_key",
                "kind": "qcol.kind",
                "column_name": "qcol.column",
                "reason": "qcol.reason",
                "raw_record": "qcol.raw",
            },
            "quality.no_quarantine",
        )
    if pagekit.require_tables(snap, lang, "ops.load_log"):
        _section(
            t("quality.load_log", lang),
            queries.load_log(snap),
            "quality.load_log",
            lang,
            {
                "entity": "qcol.entity",
                "file": "qcol.file",
                "status": "qcol.status",
                "rows_read": "qcol.read",
                "rows_loaded": "qcol.loaded",
                "rows_quarantined": "qcol.quarantined",
                "message": "qcol.detail",
                "loaded_at": "qcol.loaded_at",
            },
            "quality.no_loads",
        )


pagekit.run_page("quality", render)
