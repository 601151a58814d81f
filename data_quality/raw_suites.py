"""Raw suites, generated from the source contract: one per entity, over ``raw.<entity>``.

Per entity: required values present, column types, primary key unique, foreign keys resolve,
accepted values, ranges (amounts not negative, declared bounds), date order and no future dates.

Ingestion already quarantines rows that break these rules, so on ``raw.*`` they are the contract's
second line: a blocking failure means something reached raw without passing the checks (another
loader, a bug, a changed contract). Orphan references are expected after a parent row is quarantined
(the children stay loaded and are flagged): each foreign key is a warning, and a blocking check only
fires when the orphans of one key exceed ``MAX_ORPHAN_SHARE`` (systemic).

Cross-row rules (unique key, foreign keys) are computed in DuckDB as boolean columns of the batch
query (SQL joins over the whole table, not per batch); GX validates those columns like any other.
"""

from __future__ import annotations

from datetime import date

from contract import ENTITIES, VOCABULARIES, Entity, get_entity
from ingestion.raw_schema import raw_table
from ingestion.sqlutil import ident

from .spec import BLOCKING, WARNING, Expect, Suite

DAYS_AFTER = "__days_after_as_of"  # computed column: days the date lies after the as-of date
MAX_ORPHAN_SHARE = 0.20  # above this share of one foreign key's values, orphans block the publish

# pandas dtypes a raw column may arrive as (DuckDB -> Arrow -> pandas); ints with NULLs become float64
_DTYPES: dict[str, list[str]] = {
    "int": ["int64", "Int64", "float64", "int32"],
    "float": ["float64"],
    "amount": ["float64"],
    "date": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
    "timestamp": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
    "bool": ["bool", "boolean", "object"],
}


def _fk_flag(i: int) -> str:
    return f"_fk{i}_ok"


def raw_suite(entity: Entity, as_of: date | None = None) -> Suite:
    """The contract suite of one entity; ``as_of`` enables the future-date rule."""
    t = raw_table(entity)
    select = ["t._record_key", "t._source_file", "t._source_row"]
    for c in entity.columns:
        if c.type == "amount":
            select.append(f"CAST(t.{ident(c.name)} AS DOUBLE) AS {ident(c.name)}")
        elif c.type == "date":
            select.append(f"CAST(t.{ident(c.name)} AS TIMESTAMP) AS {ident(c.name)}")
        elif c.type in ("str",) and not c.required:
            continue  # free text with no rule: not fed to GX
        else:
            select.append(f"t.{ident(c.name)}")
    if as_of is not None:
        for name in entity.event_dates:
            select.append(
                f"date_diff('day', $as_of::DATE, CAST(t.{ident(name)} AS DATE)) AS {ident(name + DAYS_AFTER)}"
            )
    # a key is unique unless it is among the duplicated keys (a hash aggregate: cheaper than a window)
    pk_cols = ", ".join(ident(k) for k in entity.primary_key)
    pk_match = " AND ".join(f"d.{ident(k)} = t.{ident(k)}" for k in entity.primary_key)
    select.append(
        f"NOT EXISTS (SELECT 1 FROM (SELECT {pk_cols} FROM {t} GROUP BY ALL HAVING count(*) > 1) AS d "
        f"WHERE {pk_match}) AS _pk_unique"
    )
    for i, fk in enumerate(entity.foreign_keys):
        ref = get_entity(fk.ref_entity)
        present = " AND ".join(f"t.{ident(c)} IS NOT NULL" for c in fk.columns)
        match = " AND ".join(
            f"p.{ident(rc)} = t.{ident(c)}" for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
        )
        select.append(
            f"CASE WHEN {present} THEN EXISTS (SELECT 1 FROM {raw_table(ref)} AS p WHERE {match}) END AS {_fk_flag(i)}"
        )
    query = f"SELECT {', '.join(select)} FROM {t} AS t"

    ex: list[Expect] = []
    for c in entity.columns:
        label = f"{c.name} ({c.zh})"
        if c.required:
            ex.append(
                Expect(
                    "expect_column_values_to_not_be_null",
                    "required value present",
                    c.name,
                    {"column": c.name},
                    BLOCKING,
                    "missing_required",
                    f"fill in the required {label}",
                )
            )
        if c.type in _DTYPES:
            ex.append(
                Expect(
                    "expect_column_values_to_be_in_type_list",
                    f"type is {c.type}",
                    c.name,
                    {"column": c.name, "type_list": _DTYPES[c.type]},
                    BLOCKING,
                    "bad_type",
                    f"write {label} as a {c.type}",
                )
            )
        if c.type == "enum" and c.vocab:
            allowed = [term.code for term in VOCABULARIES[c.vocab]]
            ex.append(
                Expect(
                    "expect_column_values_to_be_in_set",
                    "accepted values",
                    c.name,
                    {"column": c.name, "value_set": allowed},
                    BLOCKING,
                    "unknown_category",
                    f"use one of the allowed values for {label}: {', '.join(allowed)}",
                )
            )
        if c.type == "amount":
            ex.append(
                Expect(
                    "expect_column_values_to_be_between",
                    "amount not negative",
                    c.name,
                    {"column": c.name, "min_value": 0},
                    BLOCKING,
                    "negative_amount",
                    f"correct the negative {label}",
                )
            )
        if c.type in ("int", "float", "amount") and (c.min is not None or c.max is not None):
            bounds = {k: v for k, v in (("min_value", c.min), ("max_value", c.max)) if v is not None}
            ex.append(
                Expect(
                    "expect_column_values_to_be_between",
                    f"within {c.min:g}..{c.max:g}"
                    if c.min is not None and c.max is not None
                    else "within range",
                    c.name,
                    {"column": c.name, **bounds},
                    BLOCKING,
                    "out_of_range",
                    f"correct {label}: it must lie between {c.min} and {c.max}",
                )
            )
        if c.name in entity.event_dates and as_of is not None:
            ex.append(
                Expect(
                    "expect_column_values_to_be_between",
                    f"not after the as-of date {as_of}",
                    c.name,
                    {"column": c.name + DAYS_AFTER, "max_value": 0},
                    WARNING,
                    "future_date",
                    f"correct {label}: it lies after the export date",
                )
            )
    for earlier, later in entity.date_order:
        ex.append(
            Expect(
                "expect_column_pair_values_a_to_be_greater_than_b",
                f"{later} not before {earlier}",
                later,
                {
                    "column_A": later,
                    "column_B": earlier,
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
                BLOCKING,
                "date_order",
                f"correct {entity.column(later).zh} or {entity.column(earlier).zh}: {later} comes before {earlier}",
            )
        )
    pk_cols = ",".join(entity.primary_key)
    ex.append(
        Expect(
            "expect_column_values_to_be_in_set",
            "primary key unique",
            pk_cols,
            {"column": "_pk_unique", "value_set": [True]},
            BLOCKING,
            "duplicate_key",
            f"remove the duplicate rows of {pk_cols}",
        )
    )
    for i, fk in enumerate(entity.foreign_keys):
        cols = ",".join(fk.columns)
        target = f"{fk.ref_entity}.{','.join(fk.ref_columns)}"
        fix = f"correct {cols} or add the missing {fk.ref_entity} record (or fix it in the {fk.ref_entity} file if it was quarantined)"
        ex.append(
            Expect(
                "expect_column_values_to_be_in_set",
                f"references {target}",
                cols,
                {"column": _fk_flag(i), "value_set": [True]},
                WARNING,
                "orphan_fk",
                fix,
            )
        )
        ex.append(
            Expect(
                "expect_column_values_to_be_in_set",
                f"references {target} (orphans <= {MAX_ORPHAN_SHARE:.0%})",
                cols,
                {"column": _fk_flag(i), "value_set": [True]},
                BLOCKING,
                "orphan_fk",
                fix,
                mostly=1 - MAX_ORPHAN_SHARE,
            )
        )
    return Suite(
        f"raw.{entity.name}",
        entity.name,
        t,
        query,
        tuple(ex),
        params={"as_of": as_of} if as_of is not None and entity.event_dates else {},
        requires=tuple(raw_table(get_entity(fk.ref_entity)) for fk in entity.foreign_keys),
        asset=("crm", entity.name),
    )


def raw_suites(as_of: date | None = None) -> list[Suite]:
    return [raw_suite(e, as_of) for e in ENTITIES]
