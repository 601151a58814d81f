"""Argument checking for ``generate``: clear errors that say what to do instead."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

FORMATS = ("csv", "parquet", "xlsx")
ENCODINGS = ("utf-8", "gb18030")
MAX_DEFECT_RATE = 0.5


@dataclass(frozen=True)
class Options:
    out_dir: Path
    scale: float
    seed: int
    fmt: str
    encoding: str
    defect_rate: float
    as_of: date

    @property
    def messy(self) -> bool:
        """Excel-style export (Chinese headers, mixed spellings): xlsx, and csv in gb18030."""
        return self.fmt == "xlsx" or self.encoding == "gb18030"


def validate(out_dir, *, scale, seed, fmt, encoding, defect_rate, as_of) -> Options:
    fmt = str(fmt).strip().lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    enc = str(encoding).strip().lower().replace("_", "-")
    enc = {"utf8": "utf-8", "gb-18030": "gb18030"}.get(enc, enc)
    if enc not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}: use utf-8 or gb18030")
    if enc == "gb18030" and fmt != "csv":
        raise ValueError(
            f"encoding gb18030 applies to csv only ({fmt} files have no text encoding): "
            f"use --format csv with --encoding gb18030, or --encoding utf-8 with --format {fmt}"
        )
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale {scale!r} is not a number: use e.g. 1 or 0.2") from None
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(
            f"scale must be a positive number (got {scale}): 1 is about 20,000 deals, 0.05 a small sample"
        )
    if scale > 100:
        raise ValueError(f"scale {scale} is too large (the limit is 100; scale 10 is 4 million touchpoints)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0 (got {seed!r})")
    try:
        rate = float(defect_rate)
    except (TypeError, ValueError):
        raise ValueError(
            f"defect rate {defect_rate!r} is not a number: use e.g. 0.02 for 2% of rows"
        ) from None
    if not math.isfinite(rate) or not 0 <= rate <= MAX_DEFECT_RATE:
        raise ValueError(
            f"defect rate must be between 0 and {MAX_DEFECT_RATE} (a share of rows, e.g. 0.02), got {defect_rate}"
        )
    if as_of is None:
        as_of = date(2026, 6, 30)
    if isinstance(as_of, str):
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise ValueError(
                f"as_of {as_of!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-06-30"
            ) from None
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if not isinstance(as_of, date):
        raise ValueError(f"as_of must be a date (got {type(as_of).__name__})")
    if not date(2000, 1, 1) <= as_of <= date(2150, 12, 31):
        raise ValueError(f"as_of {as_of} is out of the supported range 2000-01-01 .. 2150-12-31")
    return Options(
        out_dir=Path(out_dir), scale=scale, seed=seed, fmt=fmt, encoding=enc, defect_rate=rate, as_of=as_of
    )
