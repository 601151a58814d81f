"""Cross-entity checks, run after every file of a drop is loaded: orphan foreign keys.

A non-null foreign key value (contract ``foreign_keys``) with no matching row in the referenced raw
table is written to ``quality.issues`` as kind 'orphan_fk', severity 'warning', action 'flagged'. The
row stays loaded. Re-running within the same run replaces that run's orphan issues (no duplicates).
When the missing parent is in the quarantine, the detail says so: children of a quarantined row are
orphans too (a cascade), and the fix belongs to the parent's file.
"""

from __future__ import annotations

from contract import ENTITIES, Entity, ForeignKey, get_entity
from ingestion.load import now_local
from ingestion.raw_schema import ensure_warehouse_schema, raw_table
from ingestion.sqlutil import ident, lit


def orphan_select_sql(entity: Entity, fk: ForeignKey) -> str:
    """SELECT of the quality.issues columns for every orphan of one foreign key ($at, $run_id)."""
    ref = get_entity(fk.ref_entity)
    child_not_null = " AND ".join(f"c.{ident(col)} IS NOT NULL" for col in fk.columns)
    matches = " AND ".join(
        f"p.{ident(rc)} = c.{ident(col)}" for col, rc in zip(fk.columns, fk.ref_columns, strict=True)
    )
    value = " || '|' || ".join(f"c.{ident(col)}" for col in fk.columns)
    cols = ",".join(fk.columns)
    target = f"{ref.name}.{','.join(fk.ref_columns)}"
    loaded = lit(" (the row is loaded)")
    if tuple(fk.ref_columns) == tuple(ref.primary_key):
        # a reference to a quarantined parent: say so, the fix belongs to the parent's file
        quarantined = lit(
            f" because that {ref.name} row was quarantined; fix it in the {ref.name} file (the row is loaded)"
        )
        hint = (
            f"CASE WHEN EXISTS (SELECT 1 FROM ops.quarantine AS q WHERE q.entity = {lit(ref.name)} "
            f"AND q.record_key = {value}) THEN {quarantined} ELSE {loaded} END"
        )
    else:
        hint = loaded
    return f"""
SELECT {lit(entity.name)} AS entity, c._record_key AS record_key, 'orphan_fk' AS kind,
       'warning' AS severity, 'flagged' AS action,
       {lit(cols + " ")} || '''' || {value} || '''' || {lit(f" has no matching {target}")} || {hint} AS detail,
       c._source_file AS source_file, c._source_row AS source_row, $at AS detected_at, $run_id AS run_id,
       {lit(cols)} AS column_name, c._load_id AS load_id
FROM {raw_table(entity)} AS c
WHERE {child_not_null}
  AND NOT EXISTS (SELECT 1 FROM {raw_table(ref)} AS p WHERE {matches})
"""


def run_cross_checks(con, *, run_id: str) -> int:
    """Flag orphan foreign keys across all raw tables; returns the number of orphan issues of this run."""
    ensure_warehouse_schema(con)
    at = now_local()
    con.begin()
    try:
        con.execute("DELETE FROM quality.issues WHERE run_id = ? AND kind = 'orphan_fk'", [run_id])
        for entity in ENTITIES:
            for fk in entity.foreign_keys:
                con.execute(
                    f"""INSERT INTO quality.issues (entity, record_key, kind, severity, action, detail,
                            source_file, source_row, detected_at, run_id, column_name, load_id)
                        {orphan_select_sql(entity, fk)}
                        ORDER BY source_row""",
                    {"at": at, "run_id": run_id},
                )
        count = con.execute(
            "SELECT count(*) FROM quality.issues WHERE run_id = ? AND kind = 'orphan_fk'", [run_id]
        ).fetchone()[0]
        con.commit()
    except Exception:
        con.rollback()
        raise
    return int(count)
