"""Read one landing file into a DuckDB temp relation of text columns with source row numbers.

The relation ``SourceTable.relation`` has ``_row BIGINT`` (1-based data row number, header excluded)
and ``c0 .. c{n-1}`` VARCHAR, one per header of the file (``SourceTable.headers``, in file order).
Values are the file's text as is (no trimming): normalisation happens later, in SQL.

Formats:
- CSV: UTF-8 (with or without BOM) is read by DuckDB directly. Anything else (GB18030 / GBK from
  Excel, UTF-16) is transcoded in streaming chunks to a UTF-8 temp file first (DuckDB has no GB18030
  reader and extensions are not downloaded).
- XLSX / XLS: python-calamine, first sheet, header in row 1. Date cells become ISO text, whole numbers
  lose their ``.0``; ``_row`` is the data row index (sheet row - 1). Fully empty rows are skipped.
- Parquet: DuckDB; every column cast to text (timestamps with a zone shown in Asia/Shanghai).
- JSONL / JSON: DuckDB ``read_json_objects``; each key's value as text (strings unquoted).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.sqlutil import lit

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
BUSINESS_TZ = "Asia/Shanghai"
_CHUNK = 1 << 20


class ReadError(Exception):
    """The file cannot be read; the message says why and what to do."""


@dataclass
class SourceTable:
    relation: str  # temp view or table: _row, c0..c{n-1}
    headers: list[str]
    rows: int
    format: str
    encoding: str | None = None
    temp_objects: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) to drop

    def drop(self, con) -> None:
        for kind, name in reversed(self.temp_objects):
            con.execute(f"DROP {kind} IF EXISTS {name}")
        self.temp_objects.clear()


def file_format(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def read_source(con, path: Path, prefix: str) -> SourceTable:
    """Read ``path`` into temp objects named ``{prefix}_*`` on ``con``. Raises ReadError."""
    fmt = file_format(path)
    if fmt is None:
        raise ReadError(f"unsupported file type {path.suffix!r}")
    if not path.is_file():
        raise ReadError("the file does not exist or is not a regular file")
    if path.stat().st_size == 0:
        raise ReadError("the file is empty (0 bytes); export it again with a header row")
    reader = {"csv": _read_csv, "excel": _read_excel, "parquet": _read_parquet}.get(fmt, _read_json)
    src = SourceTable(relation=f"{prefix}_src", headers=[], rows=0, format=fmt)
    try:
        reader(con, path, prefix, src)
    except ReadError:
        src.drop(con)
        raise
    except Exception as exc:  # duckdb / calamine errors: say what failed in the file's terms
        src.drop(con)
        raise ReadError(_describe_failure(fmt, exc)) from exc
    src.headers = unique_headers(src.headers)
    src.rows = con.execute(f"SELECT count(*) FROM {src.relation}").fetchone()[0]
    return src


def _describe_failure(fmt: str, exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = {
        "csv": "Check that it is a comma-separated text file with one header row, or re-export it as CSV (UTF-8)",
        "excel": "Open it in Excel and save it again as .xlsx (data on the first sheet, headers in row 1)",
        "parquet": "Export it again as Parquet",
        "json": "Each line must be one JSON object; fix or re-export the file",
        "jsonl": "Each line must be one JSON object; fix or re-export the file",
    }[fmt]
    return f"cannot be read as {fmt.upper()} ({detail}). {hint}"


def unique_headers(headers: list[str]) -> list[str]:
    """Blank headers get ``column<N>``; repeated ones a ``_2``, ``_3`` suffix."""
    out: list[str] = []
    seen: set[str] = set()
    for i, h in enumerate(headers):
        name = (h or "").strip() or f"column{i + 1}"
        base, n = name, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        out.append(name)
    return out


def _view_over(con, base: str, n_cols: int, src: SourceTable) -> None:
    cols = ", ".join(f"#{i + 1} AS c{i}" for i in range(n_cols))
    sep = ", " if cols else ""
    con.execute(f"CREATE TEMP VIEW {src.relation} AS SELECT rowid + 1 AS _row{sep}{cols} FROM {base}")
    src.temp_objects.append(("VIEW", src.relation))


# ---------------------------------------------------------------- CSV


def detect_encoding(path: Path) -> str:
    """'utf-8', 'utf-8-sig', 'utf-16' or a Python codec name for a non-UTF-8 file. Raises ReadError."""
    with path.open("rb") as f:
        head = f.read(_CHUNK)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    else:
        encoding = "utf-8"
    if b"\x00" in head:
        raise ReadError("looks like a binary file, not CSV text. Export the data as CSV (UTF-8)")
    if _decodes(path, encoding):
        return encoding
    if _decodes(path, "gb18030"):
        return "gb18030"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is not None and _decodes(path, best.encoding):
        return best.encoding
    raise ReadError("has an unknown text encoding. Save it as CSV (UTF-8) and load it again")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def transcode_to_utf8(path: Path, encoding: str, target: Path) -> None:
    """Stream ``path`` from ``encoding`` into a UTF-8 file (no BOM)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as fin, target.open("w", encoding="utf-8", newline="") as fout:
        while chunk := fin.read(_CHUNK):
            fout.write(decoder.decode(chunk))
        fout.write(decoder.decode(b"", final=True))


CSV_DELIMITERS = (",", "\t", ";", "|")


def header_delimiter(path: Path) -> str | None:
    """The most frequent of , TAB ; | in the first line of a UTF-8 file (None: one column)."""
    with path.open("rb") as f:
        head = f.read(65536)
    first = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[0] if head else ""
    counts = {d: first.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


def csv_shape_problem(path: Path, delimiter: str) -> str | None:
    """The first data row whose number of fields differs from the header's, described; else None."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return None
        for number, row in enumerate(reader, start=1):
            if row and len(row) != len(header):
                return (
                    f"data row {number} (line {reader.line_num}) has {len(row)} fields "
                    f"but the header has {len(header)}"
                )
    return None


def _read_csv(con, path: Path, prefix: str, src: SourceTable) -> None:
    encoding = detect_encoding(path)
    src.encoding = encoding
    base = f"{prefix}_base"
    read_path = path
    tmpdir = None
    try:
        if encoding not in ("utf-8", "utf-8-sig"):
            tmpdir = tempfile.TemporaryDirectory(prefix="salescope_ingest_")
            read_path = Path(tmpdir.name) / "utf8.csv"
            transcode_to_utf8(path, encoding, read_path)
        # no sniffed preamble skipping and no comment lines: either would drop rows silently.
        # The delimiter comes from the header line, so a ragged row is an error, not a new dialect.
        delimiter = header_delimiter(read_path)
        options = "all_varchar = true, header = true, skip = 0, comment = ''"
        if delimiter is not None:
            options += f", delim = {lit(delimiter)}"
        try:
            con.execute(
                f"CREATE TEMP TABLE {base} AS SELECT * FROM read_csv(?, {options})",
                [str(read_path)],
            )
        except Exception as exc:
            problem = csv_shape_problem(read_path, delimiter or ",")
            if problem is None:
                raise
            raise ReadError(f"cannot be read as CSV: {problem}. Fix that row or re-export the file") from exc
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    src.temp_objects.append(("TABLE", base))
    names = [r[0] for r in con.execute(f"DESCRIBE {base}").fetchall()]
    src.headers = [n.lstrip("\ufeff") for n in names]
    _view_over(con, base, len(names), src)


# ---------------------------------------------------------------- Excel


def cell_text(value) -> str | None:
    """An Excel cell as text: ISO dates, whole numbers without '.0', true/false."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.microsecond:
            return value.isoformat(sep=" ")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds() / 86400)
    return str(value)


def _read_excel(con, path: Path, prefix: str, src: SourceTable) -> None:
    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    if not workbook.sheet_names:
        raise ReadError("has no worksheet. Put the data on the first sheet with headers in row 1")
    rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    if not rows:
        raise ReadError("the first sheet is empty. Put the headers in row 1 and the data below")
    body: list[tuple[int, list[str | None]]] = []
    width = 0
    for index, row in enumerate(rows[1:], start=1):
        texts = [cell_text(v) for v in row]
        while texts and texts[-1] is None:
            texts.pop()
        if texts:  # fully empty rows (Excel's formatted-but-empty tail) are not data
            body.append((index, texts))
            width = max(width, len(texts))
    header = [cell_text(v) or "" for v in rows[0]]
    while header and header[-1] == "":
        header.pop()
    # values right of the last header still get a (blank -> columnN) header, so nothing vanishes unseen
    header += [""] * (width - len(header))
    n = len(header)
    columns: list[list[str | None]] = [[] for _ in range(n)]
    row_numbers: list[int] = []
    for index, texts in body:
        texts += [None] * (n - len(texts))
        row_numbers.append(index)
        for i, t in enumerate(texts):
            columns[i].append(t)
    arrays = {"_row": pa.array(row_numbers, pa.int64())}
    for i in range(n):
        arrays[f"c{i}"] = pa.array(columns[i], pa.string())
    table = pa.table(arrays)
    tmp_name = f"{prefix}_arrow"
    con.register(tmp_name, table)
    try:
        con.execute(f"CREATE TEMP TABLE {src.relation} AS SELECT * FROM {tmp_name}")
    finally:
        con.unregister(tmp_name)
    src.temp_objects.append(("TABLE", src.relation))
    src.headers = header


# ---------------------------------------------------------------- Parquet


def text_of(column: str, duck_type: str) -> str:
    """SQL text of a typed column as a file would hold it: ISO dates, timestamps with a zone in Asia/Shanghai."""
    t = duck_type.upper()
    if t == "DATE":
        return f"strftime({column}, '%Y-%m-%d')"
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return f"CAST(timezone({lit(BUSINESS_TZ)}, {column}) AS VARCHAR)"
    if t in ("BLOB",):
        return f"CAST({column} AS VARCHAR)"
    if t.endswith("[]") or t.startswith(("STRUCT", "MAP", "UNION")):
        return f"CAST(to_json({column}) AS VARCHAR)"
    return f"CAST({column} AS VARCHAR)"


def _read_parquet(con, path: Path, prefix: str, src: SourceTable) -> None:
    base = f"{prefix}_base"
    con.execute(f"CREATE TEMP TABLE {base} AS SELECT * FROM read_parquet(?)", [str(path)])
    src.temp_objects.append(("TABLE", base))
    described = con.execute(f"DESCRIBE {base}").fetchall()
    # positional references: no text from the file goes into the SQL
    cols = ", ".join(
        f"{text_of(f'#{i + 1}', typ)} AS c{i}" for i, (_name, typ, *_rest) in enumerate(described)
    )
    sep = ", " if cols else ""
    con.execute(f"CREATE TEMP VIEW {src.relation} AS SELECT rowid + 1 AS _row{sep}{cols} FROM {base}")
    src.temp_objects.append(("VIEW", src.relation))
    src.headers = [d[0] for d in described]


# ---------------------------------------------------------------- JSON lines


def _json_key_path(key: str) -> str:
    # a plain key is looked up literally unless it looks like a path
    if key.startswith(("$", "/")):
        return "$." + '"' + key.replace('"', '\\"') + '"'
    return key


def _read_json(con, path: Path, prefix: str, src: SourceTable) -> None:
    base = f"{prefix}_base"
    fmt = "newline_delimited" if src.format == "jsonl" else "auto"
    con.execute(
        f"CREATE TEMP TABLE {base} AS SELECT json FROM read_json_objects(?, format = {lit(fmt)})",
        [str(path)],
    )
    src.temp_objects.append(("TABLE", base))
    keys = [
        r[0]
        for r in con.execute(
            f"""
            SELECT k FROM (
                SELECT rowid AS r, unnest(json_keys(json)) AS k,
                       unnest(range(len(json_keys(json)))) AS p
                FROM {base} WHERE json_type(json) = 'OBJECT'
            ) GROUP BY k ORDER BY min(r), min(p)
            """
        ).fetchall()
    ]
    if keys:
        cols = ", ".join(f"_v[{i + 1}] AS c{i}" for i in range(len(keys)))
        con.execute(
            f"""CREATE TEMP TABLE {src.relation} AS
            SELECT _row, {cols} FROM (
                SELECT rowid + 1 AS _row,
                       CASE WHEN json_type(json) = 'OBJECT' THEN json_extract_string(json, ?::VARCHAR[]) END AS _v
                FROM {base}
            )""",
            [[_json_key_path(k) for k in keys]],
        )
    else:
        con.execute(f"CREATE TEMP TABLE {src.relation} AS SELECT rowid + 1 AS _row FROM {base}")
    src.temp_objects.append(("TABLE", src.relation))
    src.headers = keys


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


__all__ = [
    "FORMATS",
    "ReadError",
    "SourceTable",
    "cell_text",
    "detect_encoding",
    "file_format",
    "read_source",
    "sha256_of",
    "text_of",
    "transcode_to_utf8",
]
