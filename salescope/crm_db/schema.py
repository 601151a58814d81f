"""DDL per dialect: one table per contract entity (its primary key, typed columns, ``updated_at``,
``is_deleted``, an index on ``updated_at``) and the bookkeeping tables.

``updated_at`` is ``timestamptz`` in PostgreSQL and a naive ``DATETIME(6)`` holding Asia/Shanghai wall time
in MariaDB/MySQL (the source system's clock). Contract timestamps are wall-clock Shanghai times without a
zone, as the contract's ``SQL_TYPES`` say (``TIMESTAMP`` / ``DATETIME``).
"""

from __future__ import annotations

from contract import ENTITIES, Entity

META_TABLE = "_salescope_meta"
DELETED_TABLE = "_salescope_deleted"
CHANGES_TABLE = "_salescope_changes"

TYPES = {
    "postgresql": {
        "str": "TEXT",
        "enum": "TEXT",
        "int": "BIGINT",
        "float": "DOUBLE PRECISION",
        "amount": "NUMERIC(18,2)",
        "date": "DATE",
        "timestamp": "TIMESTAMP(0)",
        "bool": "BOOLEAN",
        "updated_at": "TIMESTAMPTZ",
    },
    "mysql": {
        "str": "VARCHAR(255)",
        "enum": "VARCHAR(64)",
        "int": "BIGINT",
        "float": "DOUBLE",
        "amount": "DECIMAL(18,2)",
        "date": "DATE",
        "timestamp": "DATETIME",
        "bool": "BOOLEAN",
        "updated_at": "DATETIME(6)",
    },
}
MYSQL_KEY_TEXT = "VARCHAR(64)"


def q(dialect: str, name: str) -> str:
    return f'"{name}"' if dialect == "postgresql" else f"`{name}`"


def entity_ddl(dialect: str, e: Entity) -> list[str]:
    t = TYPES[dialect]
    cols = []
    for c in e.columns:
        typ = t[c.type]
        if dialect == "mysql" and c.name in e.primary_key and c.type in ("str", "enum"):
            typ = MYSQL_KEY_TEXT
        null = " NOT NULL" if c.name in e.primary_key else ""
        cols.append(f"{q(dialect, c.name)} {typ}{null}")
    cols.append(f"{q(dialect, 'updated_at')} {t['updated_at']} NOT NULL")
    cols.append(f"{q(dialect, 'is_deleted')} BOOLEAN NOT NULL DEFAULT FALSE")
    pk = ", ".join(q(dialect, k) for k in e.primary_key)
    cols.append(f"PRIMARY KEY ({pk})")
    tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" if dialect == "mysql" else ""
    body = ",\n  ".join(cols)
    return [
        f"CREATE TABLE {q(dialect, e.name)} (\n  {body}\n){tail}",
        f"CREATE INDEX {q(dialect, 'ix_' + e.name + '_updated_at')} ON {q(dialect, e.name)} "
        f"({q(dialect, 'updated_at')})",
    ]


def bookkeeping_ddl(dialect: str) -> list[str]:
    text = "TEXT" if dialect == "postgresql" else "VARCHAR(255)"
    key = "TEXT" if dialect == "postgresql" else "VARCHAR(191)"
    tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" if dialect == "mysql" else ""
    return [
        f"CREATE TABLE {q(dialect, META_TABLE)} (k {key} NOT NULL PRIMARY KEY, v {text} NOT NULL){tail}",
        # keys of rows deleted by advance (soft or hard), so a later advance neither updates nor revives them
        f"CREATE TABLE {q(dialect, DELETED_TABLE)} (entity {key} NOT NULL, record_key {key} NOT NULL, "
        f"kind VARCHAR(8) NOT NULL, as_of DATE NOT NULL, PRIMARY KEY (entity, record_key)){tail}",
        f"CREATE TABLE {q(dialect, CHANGES_TABLE)} (advance_no INTEGER NOT NULL, from_as_of DATE NOT NULL, "
        f"to_as_of DATE NOT NULL, entity {key} NOT NULL, inserted BIGINT NOT NULL, updated BIGINT NOT NULL, "
        f"soft_deleted BIGINT NOT NULL, hard_deleted BIGINT NOT NULL, PRIMARY KEY (advance_no, entity)){tail}",
    ]


def all_ddl(dialect: str) -> list[str]:
    out = bookkeeping_ddl(dialect)
    for e in ENTITIES:
        out += entity_ddl(dialect, e)
    return out


def existing_tables(con, dialect: str) -> set[str]:
    cur = con.cursor()
    if dialect == "postgresql":
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    else:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
    return {r[0] for r in cur.fetchall()}
