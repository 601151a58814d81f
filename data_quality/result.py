"""What one quality run found: the gate's verdict, every suite's outcomes, where the Data Docs are.

Its own module so that the runner, which makes it, and the Data Docs, which render it, both depend on it
and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .gate import CheckResult, GateResult
from .gx_runner import Outcome
from .spec import BLOCKING


@dataclass
class QualityResult:
    gate: GateResult
    outcomes: list[Outcome] = field(default_factory=list)
    docs_index: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.gate.passed

    def suite_status(self) -> dict[str, str]:
        """suite -> passed | warnings | failed | skipped."""
        return suite_statuses(self.gate.checks)

    def failure_lines(self) -> list[str]:
        """What failed and where: one line per blocking failure, with sample record keys."""
        lines = []
        for c in self.gate.blocking_failures:
            where = f"{c.suite}" + (f".{c.column}" if c.column else "")
            keys = f" e.g. {', '.join(c.sample_keys[:5])}" if c.sample_keys else ""
            lines.append(f"[blocking] {where}: {c.expectation} — {c.detail}{keys}")
        return lines


def suite_statuses(checks: list[CheckResult]) -> dict[str, str]:
    out: dict[str, str] = {}
    rank = {"skipped": 0, "passed": 1, "warnings": 2, "failed": 3}
    for c in checks:
        s = (
            "skipped"
            if c.skipped
            else "passed"
            if c.success
            else "failed"
            if c.severity == BLOCKING
            else "warnings"
        )
        prev = out.get(c.suite)
        if prev is None or (rank[s] > rank[prev] and not (prev == "passed" and s == "skipped")):
            out[c.suite] = s
    return out
