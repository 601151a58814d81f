"""Compare the tables of two DuckDB databases attached to one connection as `first` and `second`."""

from __future__ import annotations


def differences(con, table: str, schema: str = "marts") -> dict[str, int]:
    """Rows of first.<schema>.<table> and second.<schema>.<table> that differ, per column. Every non-double column
    must match exactly (as a multiset of rows); doubles, on the rows joined by those columns, within 1e-9
    relative: DuckDB's parallel sums of doubles differ in the last bits from one run to the next."""
    types = dict(
        con.execute(f"SELECT column_name, column_type FROM (DESCRIBE first.{schema}.{table})").fetchall()
    )
    keys = [c for c, t in types.items() if t not in ("DOUBLE", "FLOAT")]
    cols = ", ".join(f'"{c}"' for c in keys)
    out = {}
    for x, y in (("first", "second"), ("second", "first")):
        n = con.execute(
            f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{schema}.{table} "
            f"EXCEPT ALL SELECT {cols} FROM {y}.{schema}.{table})"
        ).fetchone()[0]
        if n:
            out[f"rows only in {x}"] = n
    if out:
        return out
    on = " AND ".join(f'a."{c}" IS NOT DISTINCT FROM b."{c}"' for c in keys)
    for c in (c for c in types if c not in keys):
        n = con.execute(f"""SELECT count(*) FROM first.{schema}.{table} AS a JOIN second.{schema}.{table} AS b ON {on}
                            WHERE NOT ((a."{c}" IS NULL AND b."{c}" IS NULL)
                                       OR abs(a."{c}" - b."{c}") <= 1e-9 * greatest(1, abs(a."{c}")))""").fetchone()[
            0
        ]
        if n:
            out[c] = n
    return out


def tables(con, db: str, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY 1",
            [db, schema],
        ).fetchall()
    ]
