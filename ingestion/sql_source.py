"""A live CRM database as a source: incremental extraction with dlt, then the same checks as files.

Per run (``ingest_sql_source``):
1. connect once (a clear error naming host:port, password masked, when the server is down or the
   credentials are wrong) and list the contract tables the database has.
2. extract with dlt: ``sql_database`` with the pyarrow backend, one resource per contract table, a cursor
   on ``updated_at`` (``dlt.sources.incremental`` with ``lag`` seconds re-read before the cursor, for rows
   committed late), merged on the table's primary key into a DuckDB landing file of its own,
   ``SALESCOPE_HOME/landing/<source-name>.duckdb`` (dataset ``crm``). The pipeline is named after the
   source, and its local state lives under ``SALESCOPE_HOME/dlt/pipelines``; the cursor is also kept in
   the landing file (dlt restores it from there).
3. the delta of each table is its landed rows whose ``_dlt_load_id`` is a completed dlt load this warehouse
   has not ingested yet (``ops.source_loads``): the rows of this extraction, plus those of an extraction a
   crash interrupted before ingestion. A fresh warehouse takes the whole landed mirror. Rows quarantined
   earlier as ``future_date`` are judged again (a later as-of date may accept them), as files are.
4. the delta goes through ``ingestion.load.ingest_batch`` as text, like a file: contract checks,
   quarantine, upsert by record key, ``quality.issues``, ``ops.load_log`` (with the source, the cursor
   window and the counts). Rows with ``is_deleted`` are removed from raw (soft deletes).
5. hard deletes: every primary key of the source is read and raw rows whose key is gone are removed
   (``keys_removed``), in the same transaction; the landing mirror drops them too.

The landing file is not the warehouse: dlt never opens ``warehouse.duckdb`` (one writer), its own tables
(``_dlt_*``, the staging dataset) stay out of the warehouse and the serving snapshot, and the mirror and
cursor survive a rebuilt warehouse.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from contract import ENTITIES, ENTITY_BY_NAME, Entity
from ingestion.load import Batch, FileResult, IngestResult, ingest_batch, log_error, now_local
from ingestion.normalize import key_text_sql
from ingestion.raw_schema import ensure_warehouse_schema, raw_table
from ingestion.readers import SourceTable, text_of
from ingestion.sqlutil import ident, lit
from salescope.crm_db.url import CrmDbError, CrmUrl, parse_url

LANDING_DATASET = "crm"
CURSOR = "updated_at"
DELETED_FLAG = "is_deleted"
LANDING_ALIAS = "salescope_landing"
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
# columns of a landed table that are not contract columns
NOT_CONTRACT = (CURSOR, DELETED_FLAG, "_dlt_load_id", "_dlt_id")


class SourceError(Exception):
    """The database source cannot be read; the message says what to do and never holds a password."""


def is_database_url(text: str) -> bool:
    return "://" in str(text)


@dataclass(frozen=True)
class SqlSource:
    url: CrmUrl  # with its password, when one is needed

    @property
    def label(self) -> str:
        """How the source is named everywhere (logs, ops.load_log): no user, no password."""
        return f"{self.url.dialect}://{self.url.host}:{self.url.port}/{self.url.database}"

    @property
    def name(self) -> str:
        """File- and pipeline-safe name, unique per server and database."""
        return re.sub(
            r"[^a-z0-9]+",
            "_",
            f"{self.url.dialect}_{self.url.host}_{self.url.port}_{self.url.database}".lower(),
        )

    @property
    def pipeline_name(self) -> str:
        return f"salescope_{self.name}"

    def hide(self, text: str) -> str:
        return self.url.hide(text)


def open_source(text: str, password: str | None = None) -> SqlSource:
    """``text`` is a database URL; ``password`` is used when the URL carries none."""
    try:
        url = parse_url(text)
    except CrmDbError as exc:
        raise SourceError(str(exc)) from None
    if url.password is None and password:
        url = dataclasses.replace(url, password=password)
    return SqlSource(url)


def without_password(text: str) -> tuple[str, str | None]:
    """(the URL without its password, the password) — the password is then handed over in memory only."""
    url = parse_url(text)
    if url.password is None:
        return text, None
    netloc_end = text.index("@", text.index("://") + 3)
    head = text[: text.index("://") + 3]
    user_part = text[len(head) : netloc_end]
    return head + user_part.split(":", 1)[0] + text[netloc_end:], url.password


def landing_path(landing_dir: Path, source: SqlSource) -> Path:
    return Path(landing_dir) / f"{source.name}.duckdb"


def engine(source: SqlSource):
    import sqlalchemy as sa

    u = source.url
    if u.dialect == "postgresql":
        url = sa.URL.create("postgresql+psycopg", u.user, u.password or None, u.host, u.port, u.database)
        return sa.create_engine(url, connect_args={"connect_timeout": 10})
    url = sa.URL.create(
        "mysql+pymysql", u.user, u.password or None, u.host, u.port, u.database, query={"charset": "utf8mb4"}
    )
    return sa.create_engine(url, connect_args={"connect_timeout": 10})


def _server(source: SqlSource) -> str:
    kind = "PostgreSQL" if source.url.dialect == "postgresql" else "MySQL/MariaDB"
    return f"{kind} at {source.url.host}:{source.url.port}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("(Background on this error")]
    return lines[0] if lines else type(exc).__name__


def check_source(source: SqlSource, eng=None) -> list[str]:
    """Connect once; the contract tables the database holds. Raises SourceError (host:port, no password)."""
    import sqlalchemy as sa

    own = eng is None
    eng = eng if eng is not None else engine(source)
    try:
        with eng.connect() as c:
            names = set(sa.inspect(c).get_table_names())
    except Exception as exc:
        raise SourceError(
            f"cannot read the CRM database {source.label} ({_server(source)}, user {source.url.user}): "
            f"{source.hide(_first_line(exc))}. Check that the server runs and accepts connections, the "
            "database name, the user and the password (in the URL, SALESCOPE_SOURCE_PASSWORD or the secrets "
            "file SALESCOPE_HOME/secrets/source-password)."
        ) from None
    finally:
        if own:
            eng.dispose()
    return [e.name for e in ENTITIES if e.name in names]


def _double_as_float(sql_type):
    """With SQLAlchemy 2.1 ``Float`` is no ``Numeric`` any more, so dlt 1.31 maps DOUBLE / DOUBLE PRECISION
    to no type (and warns): declare them as a numeric returned as float, which dlt lands as double."""
    import sqlalchemy as sa

    if isinstance(sql_type, sa.Float):
        return sa.Numeric(asdecimal=False)
    return sql_type


def extract(
    source: SqlSource, eng, tables: list[str], *, landing: Path, pipelines_dir: Path, lag_seconds: int
) -> dict[str, datetime | None]:
    """Run the dlt pipeline of ``source`` once; the cursor (latest ``updated_at``) per table after it."""
    import dlt
    from dlt.sources.sql_database import sql_database

    try:
        src = sql_database(
            eng,
            table_names=tables,
            backend="pyarrow",
            reflection_level="full",
            type_adapter_callback=_double_as_float,
        )
        for t in tables:
            src.resources[t].apply_hints(
                primary_key=list(ENTITY_BY_NAME[t].primary_key),
                write_disposition="merge",
                incremental=dlt.sources.incremental(CURSOR, lag=lag_seconds),
            )
        pipeline = dlt.pipeline(
            pipeline_name=source.pipeline_name,
            destination=dlt.destinations.duckdb(str(landing)),
            dataset_name=LANDING_DATASET,
            pipelines_dir=str(pipelines_dir),
        )
        pipeline.run(src).raise_on_failed_jobs()
        resources = pipeline.state.get("sources", {}).get(src.name, {}).get("resources", {})
        return {
            t: resources.get(t, {}).get("incremental", {}).get(CURSOR, {}).get("last_value") for t in tables
        }
    except SourceError:
        raise
    except Exception as exc:
        cause: BaseException = exc
        while (inner := cause.__cause__ or cause.__context__) is not None:  # the driver's own message
            cause = inner
        raise SourceError(
            f"extracting {source.label} with dlt failed: {source.hide(_first_line(cause))}. The landing file "
            f"{landing} and the cursor are as the last successful extraction left them; run again."
        ) from None


def wall_time(value) -> datetime | None:
    """A cursor value as Asia/Shanghai wall time without zone (the warehouse's TIMESTAMP convention).

    PostgreSQL ``timestamptz`` comes back aware (UTC): converted. MySQL/MariaDB ``DATETIME`` comes back
    naive and already holds Shanghai wall time: kept as is."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if value.tzinfo is not None:
        return value.astimezone(BUSINESS_TZ).replace(tzinfo=None)
    # a plain datetime, not dlt's pendulum subclass
    return datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond
    )


def source_keys(source: SqlSource, eng, entity: Entity):
    """Every primary key the source table holds, deleted-flagged rows included, as an Arrow table."""
    import pyarrow as pa
    import sqlalchemy as sa

    try:
        with eng.connect() as c:
            query: sa.Select = sa.select(*[sa.column(k) for k in entity.primary_key]).select_from(
                sa.table(entity.name)
            )
            rows = c.execute(query).fetchall()
    except Exception as exc:
        raise SourceError(
            f"reading the keys of {entity.name} from {source.label} failed: {source.hide(_first_line(exc))}"
        ) from None
    types = {"date": pa.date32(), "timestamp": pa.timestamp("us"), "int": pa.int64()}
    return pa.table(
        {
            k: pa.array([r[i] for r in rows], types.get(entity.column(k).type, pa.string()))
            for i, k in enumerate(entity.primary_key)
        }
    )


def key_sql(entity: Entity, prefix: str = "") -> str:
    """Record key text of typed key columns, as ``validate.stage_sql`` builds it."""
    return " || '|' || ".join(
        f"coalesce({key_text_sql(entity.column(k), prefix + ident(k))}, '')" for k in entity.primary_key
    )


def _keys_relation(con, entity: Entity, keys, name: str) -> str:
    arrow = f"{name}_arrow"
    con.register(arrow, keys)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT DISTINCT {key_sql(entity)} AS _key FROM {arrow}"
        )
    finally:
        con.unregister(arrow)
    return name


def _landed_columns(con, entity: Entity) -> list[tuple[str, str]] | None:
    rows = con.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position""",
        [LANDING_ALIAS, LANDING_DATASET, entity.name],
    ).fetchall()
    return rows or None


def _previous_cursor(con, source: SqlSource, entity: Entity) -> datetime | None:
    row = con.execute(
        """SELECT cursor_to FROM ops.load_log WHERE source = ? AND entity = ? AND status IN ('loaded', 'unchanged')
           AND cursor_to IS NOT NULL ORDER BY loaded_at DESC LIMIT 1""",
        [source.label, entity.name],
    ).fetchone()
    return row[0] if row else None


def _ingest_entity(
    con,
    source: SqlSource,
    entity: Entity,
    *,
    cursor: datetime | None,
    lag_seconds: int,
    keys,
    as_of: date,
    run_id: str,
) -> FileResult:
    file = f"{source.label}/{entity.name}"
    prefix = f"_sql_{uuid.uuid4().hex[:12]}"
    previous = _previous_cursor(con, source, entity)
    batch = Batch(
        source=source.label,
        cursor_from=previous - timedelta(seconds=lag_seconds) if previous is not None else None,
        cursor_to=cursor if cursor is not None else previous,
    )
    columns = _landed_columns(con, entity)
    table = f"{LANDING_ALIAS}.{LANDING_DATASET}.{ident(entity.name)}"
    loads = f"{LANDING_ALIAS}.{LANDING_DATASET}._dlt_loads"
    src = SourceTable(relation=f"{prefix}_src", headers=[], rows=0, format="database")
    try:
        if columns is None:  # nothing landed for this table yet (an empty source table)
            con.execute(f"CREATE TEMP TABLE {prefix}_delta (_row BIGINT, {ident(DELETED_FLAG)} BOOLEAN)")
            contract_cols: list[tuple[str, str]] = []
        else:
            pk = ", ".join(ident(k) for k in entity.primary_key)
            con.execute(
                f"""CREATE TEMP TABLE {prefix}_delta AS
                    SELECT row_number() OVER (ORDER BY {pk}) AS _row, * FROM {table}
                    WHERE (_dlt_load_id IN (SELECT load_id FROM {loads} WHERE status = 0)
                           AND _dlt_load_id NOT IN (SELECT dlt_load_id FROM ops.source_loads
                                                    WHERE source = $source AND entity = $entity))
                       -- quarantined as dated after the as-of date: judged again (as a file would be)
                       OR ({key_sql(entity)}) IN (
                           SELECT q.record_key FROM ops.quarantine AS q JOIN ops.load_log AS l USING (load_id)
                           LEFT JOIN {raw_table(entity)} AS r ON r._record_key = q.record_key
                           WHERE l.source = $source AND q.entity = $entity AND q.kind = 'future_date'
                             AND (r._record_key IS NULL OR r._loaded_at < q.quarantined_at))""",
                {"source": source.label, "entity": entity.name},
            )
            contract_cols = [(n, t) for n, t in columns if n not in NOT_CONTRACT]
        src.temp_objects.append(("TABLE", f"{prefix}_delta"))
        cols = ", ".join(f"{text_of(ident(n), t)} AS c{i}" for i, (n, t) in enumerate(contract_cols))
        con.execute(
            f"CREATE TEMP VIEW {src.relation} AS SELECT _row{', ' if cols else ''}{cols} FROM {prefix}_delta"
        )
        src.temp_objects.append(("VIEW", src.relation))
        src.headers = [n for n, _ in contract_cols]
        con.execute(
            f"CREATE TEMP VIEW {prefix}_deleted AS SELECT _row FROM {prefix}_delta "
            f"WHERE coalesce(CAST({ident(DELETED_FLAG)} AS BOOLEAN), false)"
        )
        src.temp_objects.append(("VIEW", f"{prefix}_deleted"))
        batch.deleted_rows = f"{prefix}_deleted"
        if keys is not None:
            batch.present_keys = _keys_relation(con, entity, keys, f"{prefix}_keys")
            src.temp_objects.append(("TABLE", batch.present_keys))
        if columns is not None:

            def record_loads(c, result: FileResult) -> None:
                c.execute(
                    f"""INSERT INTO ops.source_loads (source, entity, dlt_load_id, load_id, ingested_at)
                        SELECT DISTINCT $source, $entity, _dlt_load_id, $load_id, $at FROM {prefix}_delta""",
                    {
                        "source": source.label,
                        "entity": entity.name,
                        "load_id": result.load_id,
                        "at": now_local(),
                    },
                )

            batch.after_write = record_loads
        return ingest_batch(con, entity, src, file=file, as_of=as_of, run_id=run_id, batch=batch)
    finally:
        src.drop(con)


def _prune_landing(landing: Path, removed: dict[str, object]) -> None:
    """Drop from the landing mirror the keys the source no longer has (so a rebuild cannot revive them)."""
    import duckdb

    if not removed:
        return
    con = duckdb.connect(str(landing))
    try:
        for name, keys in removed.items():
            entity = next(e for e in ENTITIES if e.name == name)
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [LANDING_DATASET, name],
            ).fetchall()[0][0]
            if not exists:
                continue
            rel = _keys_relation(con, entity, keys, "_present_keys")
            con.execute(
                f"DELETE FROM {LANDING_DATASET}.{ident(name)} WHERE ({key_sql(entity)}) NOT IN (SELECT _key FROM {rel})"
            )
            con.execute(f"DROP TABLE {rel}")
    finally:
        con.close()


def ingest_sql_source(
    con,
    source: SqlSource,
    *,
    landing_dir: Path,
    pipelines_dir: Path,
    as_of: date,
    run_id: str,
    lag_seconds: int,
    compare_keys: bool = True,
    progress: Callable[[str], None] | None = None,
) -> IngestResult:
    """Extract what changed in ``source`` since the last run and load it into raw (module docstring).

    Raises SourceError when the source cannot be read at all (nothing is loaded then)."""
    say = progress or (lambda _m: None)
    ensure_warehouse_schema(con)
    eng = engine(source)
    try:
        tables = check_source(source, eng)
        landing = landing_path(landing_dir, source)
        landing.parent.mkdir(parents=True, exist_ok=True)
        say(
            f"extracting {source.label} ({len(tables)} tables, cursor {CURSOR}, lag {lag_seconds}s) into {landing}"
        )
        t0 = time.perf_counter()
        cursors = extract(
            source, eng, tables, landing=landing, pipelines_dir=pipelines_dir, lag_seconds=lag_seconds
        )
        t1 = time.perf_counter()
        keys = {t: source_keys(source, eng, ENTITY_BY_NAME[t]) for t in tables} if compare_keys else {}
        say(
            f"extracted in {t1 - t0:.1f}s"
            + (f"; read every key of {len(keys)} tables in {time.perf_counter() - t1:.1f}s" if keys else "")
        )
    finally:
        eng.dispose()
    result = IngestResult()
    con.execute(f"ATTACH {lit(str(landing))} AS {LANDING_ALIAS} (READ_ONLY)")
    try:
        for entity in ENTITIES:
            if entity.name not in tables:
                result.files.append(_missing_table(con, source, entity, run_id))
            else:
                result.files.append(
                    _ingest_entity(
                        con,
                        source,
                        entity,
                        cursor=wall_time(cursors.get(entity.name)),
                        lag_seconds=lag_seconds,
                        keys=keys.get(entity.name),
                        as_of=as_of,
                        run_id=run_id,
                    )
                )
            say(result.files[-1].message)
    finally:
        con.execute(f"DETACH {LANDING_ALIAS}")
    _prune_landing(
        landing, {f.entity: keys[f.entity] for f in result.files if f.keys_removed and f.entity in keys}
    )
    return result


def _missing_table(con, source: SqlSource, entity: Entity, run_id: str) -> FileResult:
    return log_error(
        con,
        run_id,
        entity.name,
        f"{source.label}/{entity.name}",
        None,
        f"{source.label} has no table {entity.name} ({entity.zh}): create it with the contract's columns plus "
        f"{CURSOR} and {DELETED_FLAG} (salescope contract --markdown), or point --source at the right database.",
        Batch(source=source.label),
    )


__all__ = [
    "LANDING_DATASET",
    "SourceError",
    "SqlSource",
    "check_source",
    "extract",
    "ingest_sql_source",
    "is_database_url",
    "landing_path",
    "open_source",
    "wall_time",
    "without_password",
]
