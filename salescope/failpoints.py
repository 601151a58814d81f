"""Failpoints: named places where a crash test can make a run die (or fail) exactly there.

``SALESCOPE_FAILPOINT=publish.before_rename`` makes the process SIGKILL itself when it reaches
``failpoint("publish.before_rename")``; ``NAME:N`` fires at the N-th time the point is reached;
``NAME=enospc`` raises ``OSError(ENOSPC)`` there instead (a full disk). Unset, a failpoint costs one dict
lookup. Only the crash tests and ``bench/crash_drill.py`` set it.
"""

from __future__ import annotations

import errno
import os
import signal

from salescope.settings import failpoint_spec

_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    spec = failpoint_spec()
    if not spec:
        return
    point, _, action = spec.partition("=")
    point, _, nth = point.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] != int(nth or 1):
        return
    if action == "enospc":
        raise OSError(errno.ENOSPC, f"No space left on device (failpoint {name})")
    os.kill(os.getpid(), signal.SIGKILL)
