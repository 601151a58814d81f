"""Writing a drop: one file per entity (csv, parquet or xlsx), ``_manifest.json`` and ``_truth/``."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from contract import Column, Entity
from salescope.generator import render
from salescope.generator.defects import Injection

EXCEL_MAX_ROWS = 1_048_575  # data rows under the header row
CSV_CHUNK_ROWS = 200_000
FIXED_WORKBOOK_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def output_columns(entity: Entity, inj: Injection, fmt: str, messy: bool, rng: np.random.Generator) -> list:
    """Per column: a pyarrow array (csv, parquet) or an object array of cells (xlsx), defects included,
    duplicate rows appended at the end."""
    table = inj.table
    out = []
    for c in entity.columns:
        arr = table.column(c.name).combine_chunks()
        overrides = inj.text.get(c.name)
        if fmt == "xlsx":
            col = render.excel_cells(rng, c, arr)
            if overrides:
                col[overrides[0]] = np.array(overrides[1], dtype=object)
        elif messy:
            col = render.messy_text(rng, c, arr)
            if overrides:
                col[overrides[0]] = np.array(overrides[1], dtype=object)
            col = pa.array(col, pa.string())
        else:
            if overrides:
                col = render.clean_text(c, arr)
                mask = np.zeros(len(col), dtype=bool)
                mask[overrides[0]] = True
                col = pc.replace_with_mask(col, pa.array(mask), pa.array(overrides[1], pa.string()))
            else:
                col = clean_column(c, arr, fmt)
        out.append(col)
    if inj.duplicates:
        src = np.array([d[0] for d in inj.duplicates], dtype=np.int64)
        names = entity.column_names
        for j, col in enumerate(out):
            extra = col[src].copy() if isinstance(col, np.ndarray) else col.take(pa.array(src))
            for k, (_, cname, text) in enumerate(inj.duplicates):
                if cname == names[j]:
                    if isinstance(extra, np.ndarray):
                        extra[k] = text
                    else:
                        m = np.zeros(len(extra), dtype=bool)
                        m[k] = True
                        extra = pc.replace_with_mask(extra, pa.array(m), pa.array([text], extra.type))
            out[j] = (
                np.concatenate([col, extra])
                if isinstance(col, np.ndarray)
                else pa.concat_arrays([col, extra])
            )
    return out


def clean_column(column: Column, arr: pa.Array, fmt: str) -> pa.Array:
    """A canonical column as a clean drop writes it: typed for parquet, text for csv."""
    return render.parquet_value(column, arr) if fmt == "parquet" else render.clean_text(column, arr)


def write_entity(path: Path, entity: Entity, columns: list, fmt: str, encoding: str, messy: bool) -> None:
    headers = [c.zh for c in entity.columns] if messy else entity.column_names
    if fmt == "xlsx":
        _write_xlsx(path, entity, headers, columns)
        return
    table = pa.table(columns, names=headers)
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
        return
    with open(path, "wb") as f:
        for start in range(0, max(table.num_rows, 1), CSV_CHUNK_ROWS):
            buf = io.BytesIO()
            chunk = table.slice(start, CSV_CHUNK_ROWS)
            pacsv.write_csv(chunk, buf, pacsv.WriteOptions(include_header=start == 0))
            data = buf.getvalue()
            if encoding != "utf-8":
                data = data.decode("utf-8").encode(encoding)
            f.write(data)


def _write_xlsx(path: Path, entity: Entity, headers: list[str], columns: list) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties(
        {"title": entity.zh, "author": "Salescope demo generator", "created": FIXED_WORKBOOK_TIME}
    )
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ts_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    ws = wb.add_worksheet(entity.zh)
    for j, h in enumerate(headers):
        ws.write_string(0, j, h)
    cols = [c.tolist() if isinstance(c, np.ndarray) else c.to_pylist() for c in columns]
    n = len(cols[0]) if cols else 0
    for i in range(n):
        r = i + 1
        for j, col in enumerate(cols):
            v = col[i]
            if v is None:
                continue
            t = type(v)
            if t is str:
                ws.write_string(r, j, v)
            elif t is int or t is float:
                ws.write_number(r, j, v)
            elif t is dt.datetime:
                ws.write_datetime(r, j, v, ts_fmt)
            elif t is dt.date:
                ws.write_datetime(r, j, v, date_fmt)
            elif t is bool:
                ws.write_boolean(r, j, v)
            else:
                ws.write_string(r, j, str(v))
    wb.close()


def write_truth(out_dir: Path, outcomes: pa.Table, future: pa.Table) -> None:
    truth = out_dir / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    outcomes = outcomes.set_column(
        2, "closed_at", pc.strftime(outcomes.column("closed_at"), format="%Y-%m-%d %H:%M:%S")
    )
    cols = []
    for name in future.column_names:
        a = future.column(name)
        cols.append(
            pc.cast(a, pa.string())
            if name != "revenue_12m_cny"
            else pa.array([f"{x:.2f}" for x in a.to_pylist()], pa.string())
        )
    future = pa.table(cols, names=future.column_names)
    for name, table in (("opportunity_outcomes.csv", outcomes), ("customer_future.csv", future)):
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
        (truth / name).write_bytes(buf.getvalue())


def write_manifest(out_dir: Path, manifest: dict) -> None:
    text = json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=1)
    (out_dir / "_manifest.json").write_text(text + "\n", encoding="utf-8")
