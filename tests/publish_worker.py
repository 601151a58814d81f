"""The publisher of the readers-during-publishes test and bench: a process of its own, as in production
(the pipeline publishes from its run, the dashboards read in theirs).

Usage: publish_worker.py WAREHOUSE SERVING [--copies N]
Builds the warehouse, publishes run-1, then one more publish per ``publish`` line on stdin (``quit`` or end
of input stops). After each publish it prints ``PUBLISHED {"k": ..., "run_id": ..., "seconds": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboards.testing_publishes import AS_OF, build_warehouse, run_id, stage  # noqa: E402
from orchestration.publish import publish_snapshot  # noqa: E402


def publish(con, serving: Path, k: int) -> None:
    stage(con, k)
    started = time.perf_counter()
    res = publish_snapshot(con, serving, run_id=run_id(k), as_of=AS_OF, quality_status="passed")
    seconds = time.perf_counter() - started
    rows = sum(res.row_counts.values())
    print(
        "PUBLISHED " + json.dumps({"k": k, "run_id": run_id(k), "seconds": seconds, "rows": rows}), flush=True
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("serving", type=Path)
    ap.add_argument("--copies", type=int, default=1)
    args = ap.parse_args()
    con = build_warehouse(args.warehouse, args.copies)
    k = 1
    publish(con, args.serving, k)
    for line in sys.stdin:
        if line.strip() != "publish":
            break
        k += 1
        publish(con, args.serving, k)
    con.close()


if __name__ == "__main__":
    main()
