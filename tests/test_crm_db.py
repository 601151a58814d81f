"""`salescope crm-db`: the generator's world in PostgreSQL and MariaDB, and moved forward day by day.

Needs the servers of DESIGN.md (PostgreSQL 127.0.0.1:5432 user postgres, MariaDB 127.0.0.1:3306 user root);
a test fails (it does not skip) when one is unreachable. Each test makes its own databases and drops them.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from contract import ENTITIES, ENTITY_BY_NAME
from salescope.crm_db import CrmDbError, advance, parse_url, seed
from salescope.crm_db.schema import DELETED_TABLE, q
from salescope.crm_db.url import connect
from salescope.generator import generate

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCALE, SEED, AS_OF = 0.02, 5, date(2026, 3, 30)
UNTIL = AS_OF + timedelta(days=365)


def _rows(url: str, entity: str, live_only: bool = False) -> dict[str, tuple]:
    """Record key -> contract values as clean-drop text (None for NULL), read through the driver."""
    u = parse_url(url)
    e = ENTITY_BY_NAME[entity]
    cols = ", ".join(q(u.dialect, c) for c in e.column_names)
    where = " WHERE NOT is_deleted" if live_only else ""
    con = connect(u)
    try:
        cur = con.cursor()
        cur.execute(f"SELECT {cols} FROM {q(u.dialect, entity)}{where}")
        out = {}
        for row in cur.fetchall():
            text = tuple(_text(v, c.type) for v, c in zip(row, e.columns, strict=True))
            out[e.record_key_of(dict(zip(e.column_names, text, strict=True)))] = text
        return out
    finally:
        con.close()


def _text(v, ctype: str):
    if v is None:
        return None
    if ctype == "bool":
        return "true" if v else "false"
    if ctype == "timestamp":
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if ctype in ("date",):
        return v.isoformat()
    if ctype == "amount":
        return f"{Decimal(v):.2f}"
    if ctype == "float":
        return repr(float(v))
    return str(v)


def _csv_rows(folder, entity: str) -> dict[str, tuple]:
    e = ENTITY_BY_NAME[entity]
    out = {}
    with open(folder / f"{entity}.csv", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            text = tuple(
                None if rec[c.name] == "" else repr(float(rec[c.name])) if c.type == "float" else rec[c.name]
                for c in e.columns
            )
            out[e.record_key_of(dict(zip(e.column_names, text, strict=True)))] = text
    return out


def _updated_at(url: str, entity: str) -> dict[str, datetime]:
    """Record key -> updated_at as a naive Asia/Shanghai wall time."""
    u = parse_url(url)
    e = ENTITY_BY_NAME[entity]
    keys = ", ".join(q(u.dialect, k) for k in e.primary_key)
    con = connect(u)
    try:
        cur = con.cursor()
        cur.execute(f"SELECT {keys}, updated_at FROM {q(u.dialect, entity)}")
        out = {}
        for *k, ts in cur.fetchall():
            if ts.tzinfo is not None:  # PostgreSQL timestamptz
                ts = ts.astimezone(SHANGHAI).replace(tzinfo=None)
            out["|".join(str(x) for x in k)] = ts
        return out
    finally:
        con.close()


def _deleted(url: str) -> set[tuple]:
    u = parse_url(url)
    con = connect(u)
    try:
        cur = con.cursor()
        cur.execute(f"SELECT entity, record_key, kind FROM {q(u.dialect, DELETED_TABLE)}")
        return {tuple(r) for r in cur.fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean_drop(tmp_path_factory):
    out = tmp_path_factory.mktemp("crm-drop")
    generate(out, scale=SCALE, seed=SEED, as_of=AS_OF, until=UNTIL)
    return out


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_seed_holds_the_clean_drop(dialect, new_db, clean_drop):
    url = new_db(dialect)
    result = seed(url, scale=SCALE, seed=SEED, as_of=AS_OF)
    assert result.until == UNTIL
    for e in ENTITIES:
        with open(clean_drop / f"{e.name}.csv", encoding="utf-8") as f:
            assert result.rows[e.name] == sum(1 for _ in f) - 1, e.name
    # every value of these entities, read back through the driver, equals the clean csv
    for entity in ("opportunities", "accounts", "users", "project_tasks", "payments", "leads"):
        assert _rows(url, entity) == _csv_rows(clean_drop, entity), entity
    # updated_at: the row's latest event in Shanghai wall time, never after as_of
    acts = _csv_rows(clean_drop, "activities")
    occurred = ENTITY_BY_NAME["activities"].column_names.index("occurred_at")
    stamps = _updated_at(url, "activities")
    assert {k: v.strftime("%Y-%m-%d %H:%M:%S") for k, v in stamps.items()} == {
        k: r[occurred] for k, r in acts.items()
    }
    end = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time())
    for entity in ("opportunities", "quotas", "projects"):
        assert max(_updated_at(url, entity).values()) < end, entity
    opps = _csv_rows(clean_drop, "opportunities")
    oe = ENTITY_BY_NAME["opportunities"]
    hist = _csv_rows(clean_drop, "opportunity_history")
    last_change: dict[str, str] = {}
    for r in hist.values():
        last_change[r[1]] = max(last_change.get(r[1], ""), r[2])
    got = _updated_at(url, "opportunities")
    for k, r in opps.items():
        want = max(x for x in (r[oe.column_names.index("created_at")], r[oe.column_names.index("closed_at")],
                               last_change.get(k)) if x)  # fmt: skip
        assert got[k].strftime("%Y-%m-%d %H:%M:%S") == want, k


def test_the_view_at_the_frame_end_is_the_plain_world():
    from salescope.generator import world_tables
    from salescope.generator.simulate import simulate
    from salescope.generator.timeline import Timeline

    plain = simulate(Timeline(AS_OF), SCALE, SEED).tables
    viewed = world_tables(SCALE, SEED, AS_OF, AS_OF, also_at=(AS_OF - timedelta(days=30),))
    for e in ENTITIES:
        assert viewed[0].tables[e.name].equals(plain[e.name]), e.name
        assert viewed[1].tables[e.name].num_rows <= plain[e.name].num_rows, e.name


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_advance_equals_a_seed_at_the_later_date(dialect, new_db):
    days = 6
    a, b, c = new_db(dialect), new_db(dialect), new_db(dialect)
    seed(a, scale=SCALE, seed=SEED, as_of=AS_OF)
    result = advance(a, days=days)
    assert result.to_as_of == AS_OF + timedelta(days=days)
    seed(b, scale=SCALE, seed=SEED, as_of=AS_OF + timedelta(days=days), until=UNTIL)

    deleted = _deleted(a)
    soft = {(e, k) for e, k, kind in deleted if kind == "soft"}
    hard = {(e, k) for e, k, kind in deleted if kind == "hard"}
    assert soft and hard
    assert sum(c["soft_deleted"] for c in result.counts.values()) == len(soft)
    assert sum(c["hard_deleted"] for c in result.counts.values()) == len(hard)
    assert sum(c["inserted"] for c in result.counts.values()) > 0
    assert sum(c["updated"] for c in result.counts.values()) > 0
    for e in ENTITIES:
        in_a, in_b = _rows(a, e.name), _rows(b, e.name)
        gone = {k for ent, k in soft | hard if ent == e.name}
        assert {k: v for k, v in in_a.items() if k not in gone} == {
            k: v for k, v in in_b.items() if k not in gone
        }, e.name
        assert not {k for ent, k in hard if ent == e.name} & set(in_a), e.name  # hard: gone
        assert {k for ent, k in soft if ent == e.name} <= set(in_a), e.name  # soft: still there
        assert set(_rows(a, e.name, live_only=True)) == set(in_a) - gone, e.name
    # changes are stamped inside the played days (Shanghai wall time)
    before = _updated_at(b, "activities")  # b's stamps are the events themselves
    stamps = _updated_at(a, "opportunities")
    lo = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time())
    hi = datetime.combine(AS_OF + timedelta(days=days + 1), datetime.min.time())
    assert max(stamps.values()) < hi
    assert sum(lo <= s < hi for s in stamps.values()) >= result.counts["opportunities"]["inserted"]
    assert max(before.values()) < hi

    # the same seed deletes the same rows; another seed others
    seed(c, scale=SCALE, seed=SEED, as_of=AS_OF)
    advance(c, days=days)
    assert _deleted(c) == deleted
    if dialect == "postgresql":
        d = new_db(dialect)
        seed(d, scale=SCALE, seed=SEED, as_of=AS_OF)
        advance(d, days=days, seed=SEED + 1)
        assert _deleted(d) != deleted

    with pytest.raises(CrmDbError, match="at most"):
        advance(a, days=400)


def test_cli_never_prints_the_password(new_db):
    from salescope.cli import app

    secret = "Pw-Top-Secret-42"
    runner = CliRunner()
    url = new_db("postgresql")
    u = parse_url(url)
    with_pw = f"postgresql://postgres:{secret}@{u.host}:{u.port}/{u.database}"  # trust auth ignores it
    res = runner.invoke(app, ["crm-db", "seed", "--url", with_pw, "--scale", "0.01", "--as-of", "2026-03-30"])
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert res.exit_code == 0, out
    assert secret not in out and "postgres:***@" in out
    res = runner.invoke(app, ["crm-db", "advance", "--url", with_pw, "--days", "2"])
    out = res.output
    assert res.exit_code == 0, out
    assert secret not in out and "total" in out and "inserted" in out

    # a wrong password for MariaDB and an unreachable server: errors name the host, never the password
    for bad in (
        f"mysql+pymysql://root:{secret}@127.0.0.1:3306/nowhere",
        f"postgresql://postgres:{secret}@127.0.0.1:1/crm",
    ):
        res = runner.invoke(app, ["crm-db", "seed", "--url", bad, "--scale", "0.01"])
        assert res.exit_code == 2, res.output
        assert secret not in res.output and "127.0.0.1" in res.output and "error" in res.output
    res = runner.invoke(app, ["crm-db", "seed", "--url", f"oracle://x:{secret}@h/db"])
    assert res.exit_code == 2 and secret not in res.output and "postgresql://" in res.output


def test_url_parsing_and_masking():
    u = parse_url("mysql+pymysql://root:p%40ss@db.example:3307/crm")
    assert (u.dialect, u.host, u.port, u.user, u.password, u.database) == (
        "mysql",
        "db.example",
        3307,
        "root",
        "p@ss",
        "crm",
    )
    assert "p%40ss" not in u.masked and "p@ss" not in u.hide(f"failed for {u.raw} (p@ss)")
    assert parse_url("postgresql://postgres@127.0.0.1/crm").port == 5432
    with pytest.raises(CrmDbError, match="names no database"):
        parse_url("postgresql://postgres@127.0.0.1:5432")
    with pytest.raises(CrmDbError, match="letters, digits"):
        parse_url("postgresql://postgres@127.0.0.1/crm;drop")
