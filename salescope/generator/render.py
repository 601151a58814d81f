"""Cell values per output style.

- clean (utf-8 csv, parquet): a system export. Column names as headers, ISO dates
  (``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS``), plain decimal amounts (``1200000.00``), enum codes,
  ``true``/``false``. Parquet keeps typed columns (amount = decimal(18,2), timestamp = microseconds),
  except columns where a defect put text: those are strings holding the clean text.
- messy (gb18030 csv, xlsx): what people export from Excel. Chinese headers (``Column.zh``); dates as
  ``2026-01-05``, ``2026/1/5``, ``2026年1月5日`` or ``2026.1.5`` (timestamps add `` HH:MM:SS`` or
  `` HH:MM``); amounts as ``1200000.00``, ``1200000``, ``¥1,200,000``, ``1,200,000.00``, ``120万`` (only
  when exact, i.e. a multiple of 100) or with full-width digits; some full-width digits in numbers;
  enum values as code, Chinese name or an alias; booleans ``是``/``否``. In xlsx, numbers are mostly
  numeric cells, and dates are real date cells, Excel serial numbers or text. Negative amounts (a
  defect) are always written as plain decimals.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract import VOCABULARIES, Column
from salescope.generator import tables
from salescope.generator.timeline import DAY

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
EXCEL_EPOCH_OFFSET = 25569  # days from 1899-12-30 (Excel day 0) to 1970-01-01
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def clean_text(column: Column, arr: pa.Array) -> pa.Array:
    """The clean system-export text of a canonical column (nulls stay null)."""
    t = column.type
    if t in ("str", "enum"):
        return arr
    if t == "amount":
        v, null = _ints(arr)
        return pc.cast(tables.decimals(v, null), pa.string())
    if t == "timestamp":
        return pc.strftime(arr, format="%Y-%m-%d %H:%M:%S")
    return pc.cast(arr, pa.string())  # int, float, date (ISO), bool (true/false)


def parquet_value(column: Column, arr: pa.Array) -> pa.Array:
    if column.type == "amount":
        v, null = _ints(arr)
        return tables.decimals(v, null)
    if column.type == "timestamp":
        return arr.cast(pa.timestamp("us"))
    return arr


def _ints(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    null = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return pc.fill_null(arr, 0).to_numpy().astype(np.int64), null


def _objects(arr: pa.Array) -> np.ndarray:
    out = np.empty(len(arr), dtype=object)
    out[:] = arr.to_pylist()
    return out


def _fullwidth(values: np.ndarray, rows: np.ndarray) -> None:
    for i in rows:
        if values[i] is not None:
            values[i] = values[i].translate(FULLWIDTH)


def messy_enum(rng: np.random.Generator, column: Column, arr: pa.Array) -> np.ndarray:
    """Code (55%), Chinese name (30%) or an alias (15%, Chinese name when there is none)."""
    out = _objects(arr)
    u = rng.random(len(arr))
    for term in VOCABULARIES[column.vocab]:
        rows = np.flatnonzero(out == term.code)
        if rows.size == 0:
            continue
        zh = rows[(u[rows] >= 0.55) & (u[rows] < 0.85)]
        out[zh] = term.zh
        alias = rows[u[rows] >= 0.85]
        if term.aliases:
            out[alias] = np.array(term.aliases, dtype=object)[rng.integers(0, len(term.aliases), alias.size)]
        else:
            out[alias] = term.zh
    return out


def _date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, dd


def messy_dates(
    rng: np.random.Generator, days: np.ndarray, null: np.ndarray, secs: np.ndarray | None
) -> np.ndarray:
    """Mixed date spellings; with ``secs`` (seconds of the day) a time is appended."""
    n = days.size
    y, m, d = _date_parts(days)
    style = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    with_seconds = rng.random(n) < 0.6
    out = np.empty(n, dtype=object)
    for i in np.flatnonzero(~null):
        s = style[i]
        if s == 0:
            text = f"{y[i]:04d}-{m[i]:02d}-{d[i]:02d}"
        elif s == 1:
            text = f"{y[i]}/{m[i]}/{d[i]}"
        elif s == 2:
            text = f"{y[i]}年{m[i]}月{d[i]}日"
        else:
            text = f"{y[i]}.{m[i]}.{d[i]}"
        if secs is not None:
            hh, mm, ss = secs[i] // 3600, secs[i] % 3600 // 60, secs[i] % 60
            text += f" {hh:02d}:{mm:02d}:{ss:02d}" if with_seconds[i] or s == 0 else f" {hh:02d}:{mm:02d}"
        out[i] = text
    return out


def _wan(cents: int) -> str:
    q = cents // 10_000  # hundredths of 万
    whole, frac = divmod(q, 100)
    return f"{whole}万" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "万"


def messy_amounts(rng: np.random.Generator, cents: np.ndarray, null: np.ndarray) -> np.ndarray:
    n = cents.size
    style = rng.choice(6, size=n, p=[0.35, 0.10, 0.20, 0.20, 0.05, 0.10])
    out = np.empty(n, dtype=object)
    for i in np.flatnonzero(~null):
        c = int(cents[i])
        whole, frac = divmod(abs(c), 100)
        plain = f"{'-' if c < 0 else ''}{whole}.{frac:02d}"
        s = style[i]
        if c < 0 or s == 0:
            text = plain
        elif s == 1:
            text = f"{whole}" if frac == 0 else plain
        elif s == 2:
            text = f"¥{whole:,}" if frac == 0 else f"¥{whole:,}.{frac:02d}"
        elif s == 3:
            text = _wan(c) if c % 10_000 == 0 else plain
        elif s == 4:
            text = f"{whole:,}.{frac:02d}"
        else:
            text = plain.translate(FULLWIDTH)
        out[i] = text
    return out


def messy_text(rng: np.random.Generator, column: Column, arr: pa.Array) -> np.ndarray:
    """Messy cell texts of a canonical column (object array, None for null)."""
    t = column.type
    if t == "str":
        return _objects(arr)
    if t == "enum":
        return messy_enum(rng, column, arr)
    if t == "bool":
        return np.array([None if v is None else ("是" if v else "否") for v in arr.to_pylist()], dtype=object)
    if t in ("int", "float"):
        out = _objects(pc.cast(arr, pa.string()))
        _fullwidth(out, np.flatnonzero(rng.random(len(arr)) < (0.10 if t == "int" else 0.05)))
        return out
    if t == "amount":
        v, null = _ints(arr)
        return messy_amounts(rng, v, null)
    if t == "date":
        v, null = _ints(arr.cast(pa.int32()))
        return messy_dates(rng, v, null, None)
    if t == "timestamp":
        v, null = _ints(arr.cast(pa.int64()))
        return messy_dates(rng, v // DAY, null, v % DAY)
    raise ValueError(f"unknown column type {t!r}")


def excel_cells(rng: np.random.Generator, column: Column, arr: pa.Array) -> np.ndarray:
    """xlsx cell values: str, int, float, datetime.date / datetime.datetime (date cells) or None."""
    t = column.type
    text = messy_text(rng, column, arr)
    n = len(arr)
    if t in ("str", "enum", "bool"):
        return text
    u = rng.random(n)
    out = text
    if t in ("int", "float"):
        nums = _objects(arr)
        keep_text = u < 0.12
        out = np.where(keep_text, text, nums)
    elif t == "amount":
        v, null = _ints(arr)
        nums = np.empty(n, dtype=object)
        nums[:] = (v / 100.0).tolist()
        out = np.where((u < 0.55) & ~null, nums, text)
    elif t in ("date", "timestamp"):
        if t == "date":
            days, null = _ints(arr.cast(pa.int32()))
            secs = np.zeros(n, dtype=np.int64)
        else:
            ts, null = _ints(arr.cast(pa.int64()))
            days, secs = ts // DAY, ts % DAY
        out = text.copy()
        for i in np.flatnonzero(~null & (u < 0.65)):
            if u[i] < 0.45:
                d = dt.date.fromordinal(_EPOCH_ORDINAL + int(days[i]))
                if t == "date":
                    out[i] = d
                else:
                    s = int(secs[i])
                    out[i] = dt.datetime(d.year, d.month, d.day, s // 3600, s % 3600 // 60, s % 60)
            else:
                serial = int(days[i]) + EXCEL_EPOCH_OFFSET
                out[i] = serial if t == "date" else round(serial + int(secs[i]) / 86400.0, 8)
    return out
