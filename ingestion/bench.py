"""Ingest speed check: ``python -m ingestion.bench [ROWS]`` (default 400,000 activities rows).

Writes a synthetic, messy activities CSV to a temp dir (about 1% defects, mixed date and enum
spellings), ingests it into an in-memory DuckDB and prints the timings. Nothing is kept.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from ingestion.load import ingest_file

CHANNELS = ("wechat", "微信", "phone", "电话", "email", "visit", "拜访", "meeting", "demo", "演示")
DATES = (
    "2026-{m:02d}-{d:02d} 10:{mi:02d}:00",
    "2026/{m}/{d} 9:{mi:02d}",
    "2026年{m}月{d}日",
    "2026-{m:02d}-{d:02d}T08:{mi:02d}",
)


def write_activities_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("记录编号,客户编号,联系人编号,商机编号,跟进人编号,渠道,方向,跟进时间,时长分钟,主题\n")
        for i in range(1, rows + 1):
            m, d, mi = rng.randint(1, 6), rng.randint(1, 28), rng.randint(0, 59)
            when = rng.choice(DATES).format(m=m, d=d, mi=mi)
            duration = str(rng.randint(1, 120))
            channel = rng.choice(CHANNELS)
            if i % 100 == 0:
                duration = "abc"
            if i % 150 == 0:
                when = "明年初"
            if i % 170 == 0:
                channel = "carrier pigeon"
            f.write(
                f"ACT{i:07d},A{rng.randint(1, 5000):05d},C{rng.randint(1, 20000):06d},"
                f"O{rng.randint(1, 30000):06d},U{rng.randint(1, 200):04d},{channel},"
                f"{rng.choice(('inbound', 'outbound', '呼入', ''))},{when},{duration},follow-up {i}\n"
            )


def main(rows: int = 400_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "activities.csv"
        t0 = time.perf_counter()
        write_activities_csv(path, rows)
        t1 = time.perf_counter()
        con = duckdb.connect()
        result = ingest_file(con, path, as_of=date(2026, 6, 30), run_id="bench")
        t2 = time.perf_counter()
        print(f"generated {rows} rows ({path.stat().st_size / 1e6:.1f} MB) in {t1 - t0:.1f} s")
        print(f"ingested in {t2 - t1:.2f} s ({rows / (t2 - t1):,.0f} rows/s): {result.message}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400_000)
