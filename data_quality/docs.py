"""Data Docs: static HTML under ``SALESCOPE_HOME/quality/docs/``, rebuilt every quality run.

``index.html``: the run's verdict, every suite with its status, the failing expectations with sample
record keys, the quarantine by entity and kind, and the history of runs (from ``quality.summary``).
``suites/<suite>.html``: every expectation of the suite, and the failing records (key, source file and
row, value, the fix to ask for). Plain HTML and one inline stylesheet: opens from disk, no server.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from pathlib import Path

from .result import QualityResult

RECORDS_PER_EXPECTATION = 200

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1f2933}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #d9e2ec;padding:.3rem .6rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f0f4f8}.passed{color:#1b7f3b}
.failed{color:#b42318;font-weight:600}.warnings,.warning{color:#b54708}.skipped{color:#667085}
code{font-size:.85rem}h1 small{font-weight:normal;color:#667085}
"""


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
        f"<body>{body}</body></html>\n"
    )


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def suite_file(suite: str) -> str:
    return "suites/" + "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in suite) + ".html"


def build_docs(con, result: QualityResult, docs_dir: Path, *, as_of: date) -> Path:
    docs_dir.mkdir(parents=True, exist_ok=True)
    (docs_dir / "suites").mkdir(exist_ok=True)
    gate = result.gate
    statuses = result.suite_status()
    by_suite: dict[str, list] = {}
    for c in gate.checks:
        by_suite.setdefault(c.suite, []).append(c)
    outcomes_by_suite: dict[str, list] = {}
    for o in result.outcomes:
        outcomes_by_suite.setdefault(o.suite.name, []).append(o)

    # suite pages
    for suite, checks in by_suite.items():
        rows = [
            [
                f'<span class="{c.status}">{_e(c.status)}</span>',
                _e(c.expectation),
                _e(c.column),
                _e(c.severity),
                _e(f"{c.unexpected_count:,}"),
                _e(f"{c.unexpected_percent:g}%"),
                _e(", ".join(c.sample_keys)),
                _e(c.detail),
            ]
            for c in checks
        ]
        body = [
            f'<p><a href="../index.html">← all suites</a></p><h1>{_e(suite)} '
            f'<small class="{statuses[suite]}">{_e(statuses[suite])}</small></h1>',
            _table(
                [
                    "result",
                    "expectation",
                    "column",
                    "severity",
                    "unexpected",
                    "%",
                    "sample record keys",
                    "detail",
                ],
                rows,
            ),
        ]
        for o in outcomes_by_suite.get(suite, []):
            if o.check.success or not o.failures:
                continue
            recs = [
                [
                    _e(f.record_key),
                    _e(f.source_file),
                    _e(f.source_row),
                    _e(f.value),
                    _e(o.expect.fix if o.expect else ""),
                ]
                for f in o.failures[:RECORDS_PER_EXPECTATION]
            ]
            more = len(o.failures) - len(recs)
            body.append(
                f'<h2 class="{o.check.status}">{_e(o.check.expectation)} — {len(o.failures):,} failing records</h2>'
            )
            body.append(_table(["record key", "source file", "row", "value", "fix"], recs))
            if more > 0:
                body.append(
                    f"<p>… and {more:,} more: <code>salescope quality --fix-list fixes.csv</code> lists them all.</p>"
                )
        (docs_dir / suite_file(suite)).write_text(
            _page(f"{suite} — Salescope data quality", "".join(body)), encoding="utf-8"
        )

    # index
    suite_rows = []
    for suite, status in statuses.items():
        cs = by_suite[suite]
        fails = [c for c in cs if not c.success]
        suite_rows.append(
            [
                f'<a href="{suite_file(suite)}">{_e(suite)}</a>',
                f'<span class="{status}">{_e(status)}</span>',
                _e(len(cs)),
                _e(sum(1 for c in fails if c.severity == "blocking")),
                _e(sum(1 for c in fails if c.severity != "blocking")),
            ]
        )
    failing = [
        [
            f'<a href="{suite_file(c.suite)}">{_e(c.suite)}</a>',
            _e(c.expectation),
            _e(c.column),
            f'<span class="{c.status}">{_e(c.severity)}</span>',
            _e(f"{c.unexpected_count:,}"),
            _e(", ".join(c.sample_keys[:10])),
            _e(c.detail),
        ]
        for c in sorted(gate.checks, key=lambda c: (c.severity != "blocking", c.suite))
        if not c.success
    ]
    quarantine = con.execute(
        """SELECT entity, kind, count(*) FROM ops.quarantine
           WHERE load_id IN (SELECT load_id FROM (SELECT load_id, row_number() OVER (PARTITION BY entity ORDER BY loaded_at DESC) AS n
                                                  FROM ops.load_log WHERE status = 'loaded') WHERE n = 1)
           GROUP BY 1, 2 ORDER BY 1, 3 DESC"""
    ).fetchall()
    history = []
    if con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'quality' AND table_name = 'summary'"
    ).fetchone()[0]:
        history = con.execute(
            """SELECT run_id, any_value(as_of), max(validated_at), any_value(run_status), count(*) FILTER (WHERE status = 'failed')
               FROM quality.summary GROUP BY run_id ORDER BY max(validated_at) DESC LIMIT 30"""
        ).fetchall()
    verdict = {
        "passed": "passed: published",
        "warnings": "passed with warnings: published",
        "failed": "FAILED: not published, the previous snapshot stays",
    }[gate.status]
    body = [
        f"<h1>Salescope data quality <small>run {_e(gate.run_id)}</small></h1>",
        f"<p>As of <b>{_e(as_of)}</b>, validated {_e(datetime.now().strftime('%Y-%m-%d %H:%M:%S'))}. "
        f'Verdict: <span class="{gate.status}">{_e(verdict)}</span>.</p>',
        f"<h2>Failing expectations ({len(failing)})</h2>",
        _table(
            ["suite", "expectation", "column", "severity", "unexpected", "sample record keys", "detail"],
            failing,
        )
        if failing
        else '<p class="passed">Every expectation passed.</p>',
        "<h2>Suites</h2>",
        _table(["suite", "status", "expectations", "blocking failures", "warnings"], suite_rows),
        "<h2>Quarantine (latest load of each entity)</h2>",
        _table(["entity", "kind", "rows"], [[_e(a), _e(b), _e(f"{n:,}")] for a, b, n in quarantine])
        if quarantine
        else "<p>The quarantine is empty.</p>",
        "<h2>History</h2>",
        _table(
            ["run", "as of", "validated at", "status", "failed suites"],
            [[_e(r), _e(a), _e(v), f'<span class="{s}">{_e(s)}</span>', _e(f)] for r, a, v, s, f in history],
        )
        if history
        else "<p>This is the first run.</p>",
    ]
    index = docs_dir / "index.html"
    index.write_text(_page("Salescope data quality", "".join(body)), encoding="utf-8")
    return index
