"""Load landing files into ``raw.<entity>``: read, normalise, validate, upsert, and record the load.

Per file (``ingest_file``):
1. file name -> entity (``<entity>.<ext>`` or ``<中文名>.<ext>``); sha256 of the bytes.
2. unchanged: the latest successful load of the entity had the same sha256 (and the same as-of date
   if it quarantined future dates) -> nothing loaded, a log row with status 'unchanged'.
3. read into a temp relation of text (``readers``), map headers (``headers``); a missing required
   column is a file-level error.
4. one SQL pass normalises and validates every row (``validate.stage_sql``).
5. in one transaction: delete raw rows whose record key is in the accepted set, insert the accepted
   rows with lineage, write ``ops.quarantine`` (one row per row and reason), ``quality.issues`` (one per
   quarantine row) and the ``ops.load_log`` row.
Every outcome, errors included, writes one ``ops.load_log`` row, and
rows_read = rows_loaded + rows_quarantined (errors and unchanged files count 0/0/0).

A batch of rows read from a CRM database (``ingestion.sql_source``) takes the same path from step 4 on
(``ingest_batch``): its rows arrive as text like a file's, and a ``Batch`` adds the source, the cursor
window, the rows the source soft-deleted (removed from raw, counted in ``rows_deleted``, so
rows_read = rows_loaded + rows_quarantined + rows_deleted) and, when given, every key the source still
holds (raw rows with another key are removed: hard deletes, counted in ``keys_removed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from contract import Entity, get_entity
from ingestion.headers import (
    entity_for_file,
    is_ignored,
    match_headers,
    missing_columns_message,
    unknown_file_message,
)
from ingestion.raw_schema import LINEAGE_COLUMNS, ensure_warehouse_schema, raw_table
from ingestion.readers import ReadError, SourceTable, read_source, sha256_of
from ingestion.sqlutil import ident
from ingestion.validate import stage_params, stage_sql
from salescope.failpoints import failpoint

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class FileResult:
    entity: str | None
    file: str
    sha256: str | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    status: str  # 'loaded' | 'unchanged' | 'error'
    message: str
    load_id: str | None
    quarantine_by_kind: dict[str, int] = field(default_factory=dict)  # quarantine rows per reason code
    source: str | None = None  # a database batch: the source without credentials
    cursor_from: datetime | None = None
    cursor_to: datetime | None = None
    rows_deleted: int = 0  # soft-deleted rows of the batch, removed from raw
    keys_removed: int | None = None  # raw rows whose key the source no longer holds (None: not compared)

    @property
    def conserved(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.rows_deleted


@dataclass
class Batch:
    """What a batch of database rows carries beyond a file (see the module docstring)."""

    source: str
    cursor_from: datetime | None = None  # None: a full extraction
    cursor_to: datetime | None = None
    deleted_rows: str | None = None  # relation with column _row: rows the source marks is_deleted
    present_keys: str | None = None  # relation with column _key: every record key the source holds
    # runs inside the batch's transaction, after its rows are written (records which dlt loads it took)
    after_write: Callable[[object, FileResult], None] | None = None


@dataclass
class IngestResult:
    files: list[FileResult] = field(default_factory=list)

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "error"]

    @property
    def loaded(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "loaded"]

    @property
    def unchanged(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "unchanged"]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rows_deleted(self) -> int:
        return sum(f.rows_deleted for f in self.files)

    def summary(self) -> str:
        return (
            f"{len(self.files)} files: {len(self.loaded)} loaded, {len(self.unchanged)} unchanged, "
            f"{len(self.errors)} errors; rows read {self.rows_read}, loaded {self.rows_loaded}, "
            f"quarantined {self.rows_quarantined}"
        )


def now_local() -> datetime:
    """Wall-clock time in Asia/Shanghai, without zone (the warehouse's TIMESTAMP convention)."""
    return datetime.now(BUSINESS_TZ).replace(tzinfo=None)


def source_files(source_dir: Path) -> list[Path]:
    """Files of a landing directory that the pipeline may read, sorted by name.

    Names starting with '_' or '.' (``_manifest.json``, ``_truth/``) and Excel lock files ('~$...')
    are never read; sub-folders are not descended into.
    """
    return sorted(
        p for p in source_dir.iterdir() if not is_ignored(p) and not p.name.startswith("~$") and p.is_file()
    )


def ingest_directory(
    con,
    source_dir: Path,
    *,
    as_of: date,
    run_id: str,
    progress: Callable[[str], None] | None = None,
) -> IngestResult:
    """Load every file of ``source_dir``; a file that fails is recorded and the others still load."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise FileNotFoundError(
            f"landing directory {source_dir} does not exist; create it or pass another one"
        )
    ensure_warehouse_schema(con)
    result = IngestResult()
    for path in source_files(source_dir):
        file_result = _ingest_file(con, path, as_of=as_of, run_id=run_id, entity=None)
        result.files.append(file_result)
        if progress is not None:
            progress(file_result.message)
    return result


def ingest_file(con, path: Path, *, as_of: date, run_id: str, entity: str | None = None) -> FileResult:
    """Load one file (entity from its name unless given). Never raises for problems in the file."""
    ensure_warehouse_schema(con)
    return _ingest_file(con, Path(path), as_of=as_of, run_id=run_id, entity=entity)


# ---------------------------------------------------------------- internals


def _log(
    con,
    result: FileResult,
    run_id: str,
    at: datetime,
    as_of: date | None = None,
    src: SourceTable | None = None,
    ignored: list[str] | None = None,
) -> None:
    """One ops.load_log row (and its ops.load_details row)."""
    con.execute(
        """INSERT INTO ops.load_log (load_id, run_id, entity, file, sha256, rows_read, rows_loaded,
               rows_quarantined, status, message, loaded_at, source, cursor_from, cursor_to, rows_deleted,
               keys_removed)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            result.load_id,
            run_id,
            result.entity,
            result.file,
            result.sha256,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            result.status,
            result.message,
            at,
            result.source,
            result.cursor_from,
            result.cursor_to,
            result.rows_deleted,
            result.keys_removed,
        ],
    )
    con.execute(
        "INSERT INTO ops.load_details (load_id, as_of, format, encoding, ignored_columns) VALUES (?, ?, ?, ?, ?)",
        [
            result.load_id,
            as_of,
            src.format if src else None,
            src.encoding if src else None,
            ", ".join(ignored) if ignored else None,
        ],
    )


def log_error(
    con, run_id: str, entity: str | None, file: str, sha: str | None, message: str, batch: Batch | None = None
) -> FileResult:
    result = FileResult(entity, file, sha, 0, 0, 0, "error", message, uuid.uuid4().hex)
    if batch is not None:
        result.source, result.cursor_from, result.cursor_to = batch.source, batch.cursor_from, batch.cursor_to
    _log(con, result, run_id, now_local())
    return result


def is_unchanged(con, entity: str, sha: str, as_of: date) -> bool:
    """True when the latest successful load of ``entity`` had these bytes and would judge them the same.

    Only the latest load counts (a file reverted to older content is loaded again, so it wins), and a
    load that quarantined future dates is redone under a later as-of date (those rows may now be valid).
    """
    row = con.execute(
        """SELECT l.sha256, d.as_of,
                  EXISTS (SELECT 1 FROM ops.quarantine q WHERE q.load_id = l.load_id AND q.kind = 'future_date')
           FROM ops.load_log AS l LEFT JOIN ops.load_details AS d USING (load_id)
           WHERE l.entity = ? AND l.status = 'loaded'
           ORDER BY l.loaded_at DESC LIMIT 1""",
        [entity],
    ).fetchone()
    if row is None or row[0] != sha:
        return False
    last_as_of, had_future_dates = row[1], row[2]
    return not had_future_dates or last_as_of == as_of


def _ingest_file(con, path: Path, *, as_of: date, run_id: str, entity: str | None) -> FileResult:
    file = path.name
    if entity is not None:
        try:
            ent: Entity | None = get_entity(entity)
        except KeyError as exc:
            return log_error(con, run_id, None, file, None, f"{file}: {exc.args[0]}")
    else:
        ent = entity_for_file(path)
    if ent is None:
        return log_error(con, run_id, None, file, None, unknown_file_message(file))
    try:
        sha = sha256_of(path)
    except OSError as exc:
        return log_error(
            con,
            run_id,
            ent.name,
            file,
            None,
            f"{file}: the file cannot be opened ({exc.strerror or exc}). Check that it exists and is readable.",
        )
    if is_unchanged(con, ent.name, sha, as_of):
        result = FileResult(
            ent.name,
            file,
            sha,
            0,
            0,
            0,
            "unchanged",
            f"{file}: unchanged since its last load into {raw_table(ent)}; nothing to do.",
            uuid.uuid4().hex,
        )
        _log(con, result, run_id, now_local(), as_of)
        return result

    load_id = uuid.uuid4().hex
    prefix = f"_ingest_{load_id[:12]}"
    try:
        src = read_source(con, path, prefix)
    except ReadError as exc:
        text = str(exc).rstrip()
        return log_error(
            con, run_id, ent.name, file, sha, f"{file}: {text}{'' if text.endswith('.') else '.'}"
        )
    try:
        return _ingest_rows(con, ent, src, file=file, sha=sha, load_id=load_id, run_id=run_id, as_of=as_of)
    finally:
        src.drop(con)


def ingest_batch(
    con, entity: Entity, src: SourceTable, *, file: str, as_of: date, run_id: str, batch: Batch
) -> FileResult:
    """Load rows read from a database (``src``: ``_row`` and text columns ``c0..``, headers = column
    names) through the same checks, upsert and records as a file. Never raises for problems in the rows;
    ``src`` is left for the caller to drop."""
    ensure_warehouse_schema(con)
    return _ingest_rows(
        con,
        entity,
        src,
        file=file,
        sha=None,
        load_id=uuid.uuid4().hex,
        run_id=run_id,
        as_of=as_of,
        batch=batch,
    )


def _ingest_rows(
    con,
    ent: Entity,
    src: SourceTable,
    *,
    file: str,
    sha: str | None,
    load_id: str,
    run_id: str,
    as_of: date,
    batch: Batch | None = None,
) -> FileResult:
    stage = f"_ingest_{load_id[:12]}_stage"
    try:
        match = match_headers(ent, src.headers)
        if match.missing_required:
            message = missing_columns_message(file, match.missing_required, src.headers)
            return log_error(con, run_id, ent.name, file, sha, message, batch)
        sql = stage_sql(ent, match, src.relation, stage)
        con.execute(sql, stage_params(sql, as_of))
        return _write(
            con,
            ent,
            src,
            stage,
            file=file,
            sha=sha,
            load_id=load_id,
            run_id=run_id,
            match=match,
            as_of=as_of,
            batch=batch,
        )
    except Exception as exc:  # a file-level failure must not stop the other files
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        what = "these rows" if batch is not None else "the file"
        return log_error(
            con,
            run_id,
            ent.name,
            file,
            sha,
            f"{file}: loading failed ({detail}). Nothing from {'this batch' if batch else 'this file'} was "
            f"loaded; fix {what} or report the error.",
            batch,
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {stage}")


def _write(
    con,
    ent: Entity,
    src: SourceTable,
    stage: str,
    *,
    file,
    sha,
    load_id,
    run_id,
    match,
    as_of,
    batch: Batch | None = None,
) -> FileResult:
    at = now_local()
    deleted = f"_row IN (SELECT _row FROM {batch.deleted_rows})" if batch and batch.deleted_rows else "false"
    keep = f"_reasons IS NULL AND NOT ({deleted})"
    bad = f"_reasons IS NOT NULL AND NOT ({deleted})"
    rows_read, rows_loaded, rows_deleted = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {keep}), count(*) FILTER (WHERE {deleted}) FROM {stage}"
    ).fetchone()
    by_kind = dict(
        con.execute(
            f"""SELECT kind, count(*) FROM (SELECT unnest(_reasons).kind AS kind FROM {stage}
                WHERE {bad}) GROUP BY kind ORDER BY count(*) DESC, kind"""
        ).fetchall()
    )
    rows_quarantined = rows_read - rows_loaded - rows_deleted
    table = raw_table(ent)
    keys_removed = None
    if batch is not None and batch.present_keys:
        keys_removed = con.execute(
            f"SELECT count(*) FROM {table} WHERE _record_key NOT IN (SELECT _key FROM {batch.present_keys})"
        ).fetchone()[0]
    columns = [ident(c.name) for c in ent.columns] + [name for name, _ in LINEAGE_COLUMNS]
    values = [ident(f"v_{c.name}") for c in ent.columns] + ["_key", "$file", "_row", "$load_id", "$at"]
    n = len(src.headers)
    raw_record = (
        f"CAST(to_json(map($headers::VARCHAR[], [{', '.join(f's.c{i}' for i in range(n))}]::VARCHAR[])) AS VARCHAR)"
        if n
        else "'{}'"
    )
    result = FileResult(
        ent.name,
        file,
        sha,
        rows_read,
        rows_loaded,
        rows_quarantined,
        "loaded",
        _message(file, ent, src, match, rows_read, rows_loaded, by_kind, rows_deleted, keys_removed),
        load_id,
        by_kind,
        rows_deleted=rows_deleted,
        keys_removed=keys_removed,
    )
    if batch is not None:
        result.source, result.cursor_from, result.cursor_to = batch.source, batch.cursor_from, batch.cursor_to
        if not rows_read and not keys_removed:
            result.status = "unchanged"
            result.message = f"{file}: no row changed since the last extraction; nothing to do."
    con.begin()
    try:
        con.execute(
            f"DELETE FROM {table} WHERE _record_key IN (SELECT _key FROM {stage} WHERE ({keep}) OR ({deleted}))"
        )
        if keys_removed:
            assert batch is not None  # keys are removed only by a database batch that read every key
            con.execute(
                f"DELETE FROM {table} WHERE _record_key NOT IN (SELECT _key FROM {batch.present_keys})"
            )
        con.execute(
            f"""INSERT INTO {table} ({", ".join(columns)})
                SELECT {", ".join(values)} FROM {stage} WHERE {keep} ORDER BY _row""",
            {"file": file, "load_id": load_id, "at": at},
        )
        if rows_quarantined:
            con.execute(
                f"""INSERT INTO ops.quarantine (load_id, run_id, entity, source_file, source_row, record_key,
                        kind, column_name, reason, raw_record, quarantined_at)
                    SELECT $load_id, $run_id, $entity, $file, q._row, q._key, q.item.kind, q.item.col,
                           q.item.reason, {raw_record}, $at
                    FROM (SELECT _row, _key, unnest(_reasons) AS item FROM {stage}
                          WHERE {bad}) AS q
                    JOIN {src.relation} AS s ON s._row = q._row
                    ORDER BY q._row, q.item.kind, q.item.col""",
                {
                    "load_id": load_id,
                    "run_id": run_id,
                    "entity": ent.name,
                    "file": file,
                    "at": at,
                    **({"headers": src.headers} if n else {}),
                },
            )
            con.execute(
                """INSERT INTO quality.issues (entity, record_key, kind, severity, action, detail, source_file,
                        source_row, detected_at, run_id, column_name, load_id)
                   SELECT entity, record_key, kind, 'error', 'quarantined', reason, source_file, source_row,
                          quarantined_at, run_id, column_name, load_id
                   FROM ops.quarantine WHERE load_id = ? ORDER BY source_row, kind, column_name""",
                [load_id],
            )
        _log(con, result, run_id, at, as_of, src, match.extras + match.repeated)
        if batch is not None and batch.after_write is not None:
            batch.after_write(con, result)
        failpoint("ingest.before_commit")  # crash tests: a kill here must lose the whole file, not half
        con.commit()
    except Exception:
        con.rollback()
        raise
    return result


def _message(
    file, ent: Entity, src: SourceTable, match, rows_read, rows_loaded, by_kind, deleted=0, keys_removed=None
) -> str:
    parts = [f"{file}: loaded {rows_loaded} of {rows_read} rows into {raw_table(ent)}"]
    quarantined = rows_read - rows_loaded - deleted
    if deleted:
        parts.append(f"{deleted} rows deleted at the source (is_deleted) removed")
    if keys_removed:
        parts.append(f"{keys_removed} rows removed whose key the source no longer has")
    if quarantined:
        kinds = ", ".join(f"{k} {n}" for k, n in by_kind.items())
        parts.append(f"{quarantined} rows quarantined ({kinds}); see ops.quarantine")
    if src.encoding and src.encoding not in ("utf-8", "utf-8-sig"):
        parts.append(f"read as {src.encoding.upper()}")
    if match.extras:
        parts.append("ignored columns not in the contract: " + ", ".join(match.extras))
    if match.repeated:
        parts.append("ignored repeated columns: " + ", ".join(match.repeated))
    if match.missing_optional:
        parts.append(
            "optional columns absent (left empty): " + ", ".join(c.name for c in match.missing_optional)
        )
    return "; ".join(parts) + "."
