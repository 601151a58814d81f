"""The dbt project: generated sources in sync with the contract, and a build on a hand-written fixture.

The fixture (as of 2026-03-31) is small enough to compute every expected number by hand; the numbers
below are those hand computations, never values copied from a previous run.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from contract import ENTITIES
from contract.export import (
    SOURCES_PATH,
    VOCAB_MACRO_PATH,
    contract_markdown,
    dbt_sources_dict,
    dbt_sources_yaml,
    dbt_vocabulary_macro,
    write_dbt_sources,
)
from ingestion.raw_schema import LINEAGE_COLUMNS, ensure_warehouse_schema
from orchestration.dbt_args import build_args, common_flags, write_profiles
from salescope.settings import DBT_PROJECT_DIR

AS_OF = date(2026, 3, 31)

# every mart of issue 3, published in the serving snapshot
MARTS = {
    "dim_users",
    "dim_accounts",
    "dim_contacts",
    "dim_date",
    "fct_opportunities",
    "fct_stage_transitions",
    "fct_pipeline_snapshots",
    "fct_touchpoints",
    "mart_bookings_monthly",
    "mart_funnel",
    "mart_rep_performance",
    "mart_sales_performance_rollup",
    "mart_forecast",
    "mart_sales_velocity",
    "mart_channel_roi",
    "mart_customer_cohorts",
    "mart_customer_profile",
    "mart_deal_risk",
    "mart_project_delivery",
    "mart_collections",
    "mart_dso_monthly",
    "mart_sales_to_cash",
    "mart_kpi_monthly",
    "mart_nps",
    "fct_invoices",
    "fct_nps_responses",
}


# --- generated files ------------------------------------------------------------------------------


def test_sources_yaml_in_sync_with_contract():
    assert SOURCES_PATH.read_text(encoding="utf-8") == dbt_sources_yaml(), (
        "dbt_project/models/staging/_sources.yml is stale: run `python -m contract.export`"
    )


def test_vocabulary_macro_in_sync_with_contract():
    assert VOCAB_MACRO_PATH.read_text(encoding="utf-8") == dbt_vocabulary_macro(), (
        "dbt_project/macros/contract_vocabularies.sql is stale: run `python -m contract.export`"
    )


def test_sources_declare_every_entity_with_tests():
    (source,) = dbt_sources_dict()["sources"]
    assert source["name"] == "crm" and source["schema"] == "raw"
    tables = {t["name"]: t for t in source["tables"]}
    assert list(tables) == [e.name for e in ENTITIES]
    opp = {c["name"]: c for c in tables["opportunities"]["columns"]}
    tests = {next(iter(t)): t[next(iter(t))] for t in opp["opportunity_id"]["data_tests"]}
    assert set(tests) == {"not_null", "unique"}
    assert all(t["config"]["severity"] == "warn" for t in tests.values())
    stage_tests = {next(iter(t)): t[next(iter(t))] for t in opp["stage"]["data_tests"]}
    assert stage_tests["accepted_values"]["arguments"]["values"][0] == "initial_contact"
    assert "lost" in stage_tests["accepted_values"]["arguments"]["values"]
    assert opp["stage"]["description"].startswith("阶段")
    assert "data_tests" not in opp["lost_reason"]  # optional free text: no test
    # composite keys: one table-level test
    fx = tables["fx_rates"]
    assert fx["data_tests"][0]["unique_combination_of_columns"]["arguments"]["combination_of_columns"] == [
        "rate_date",
        "currency",
    ]


def test_write_dbt_sources(tmp_path):
    path = write_dbt_sources(tmp_path / "x" / "_sources.yml")
    assert path.read_text(encoding="utf-8") == dbt_sources_yaml()


def test_contract_markdown_has_a_section_per_entity():
    md = contract_markdown()
    for e in ENTITIES:
        assert f"## {e.name} ({e.zh})" in md
    assert "`contract_signed` 签约" in md
    assert "| `amount` | amount | yes | 金额 |" in md


def test_models_use_no_duckdb_only_syntax_or_build_time():
    forbidden = {
        "::": re.compile(r"::"),
        "ASOF": re.compile(r"\basof\b", re.I),
        "QUALIFY": re.compile(r"\bqualify\b", re.I),
        "generate_series(": re.compile(r"(?<!\.)\bgenerate_series\s*\(", re.I),
        "current_date/now": re.compile(r"\b(current_date|current_timestamp|now\s*\(|getdate|sysdate)", re.I),
    }
    offenders = []
    for sql in sorted((DBT_PROJECT_DIR / "models").rglob("*.sql")):
        text = sql.read_text(encoding="utf-8")
        offenders += [f"{sql.name}: {name}" for name, rx in forbidden.items() if rx.search(text)]
    assert not offenders


# --- build on a fixture -----------------------------------------------------------------------------


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


USERS = [
    dict(
        user_id="u_mgr",
        name="王经理",
        role="sales_manager",
        team_id="T1",
        team_name="华东一组",
        region="east",
        manager_id=None,
        hire_date=date(2020, 1, 1),
        is_active=True,
    ),
    dict(
        user_id="u_a",
        name="李雷",
        role="sales_rep",
        team_id="T1",
        team_name="华东一组",
        region="east",
        manager_id="u_mgr",
        hire_date=date(2022, 3, 1),
        is_active=True,
    ),
    dict(
        user_id="u_b",
        name="韩梅梅",
        role="sales_rep",
        team_id="T2",
        team_name="华北一组",
        region="north",
        manager_id="u_mgr",
        hire_date=date(2023, 5, 1),
        is_active=True,
    ),
]

ACCOUNTS = [
    dict(
        account_id="a1",
        account_name="甲制造",
        industry="manufacturing",
        region="east",
        city="上海",
        size_band="large",
        owner_user_id="u_a",
        created_at=date(2025, 6, 1),
    ),
    dict(
        account_id="a2",
        account_name="乙科技",
        industry="it",
        region="north",
        city="北京",
        size_band="medium",
        owner_user_id="u_b",
        created_at=date(2025, 7, 1),
    ),
    dict(
        account_id="a3",
        account_name="丙金融",
        industry="finance",
        region="east",
        city="杭州",
        size_band="enterprise",
        owner_user_id="u_b",
        created_at=date(2025, 8, 1),
    ),
    dict(
        account_id="a4",
        account_name="丁零售",
        industry="retail",
        region="south",
        city="广州",
        size_band="small",
        owner_user_id="u_b",
        created_at=date(2025, 9, 1),
    ),
]

# USD 7.00 from Jan 1, 7.20 from Feb 10 (filled forward over the days between); a rate after as_of;
# a CNY row (ignored: CNY is always 1). No EUR rate at all.
FX_RATES = [
    dict(rate_date=date(2026, 1, 1), currency="USD", rate_to_cny=7.00),
    dict(rate_date=date(2026, 2, 10), currency="USD", rate_to_cny=7.20),
    dict(rate_date=date(2026, 4, 15), currency="USD", rate_to_cny=7.50),
    dict(rate_date=date(2026, 1, 1), currency="CNY", rate_to_cny=1.0),
]


def opp(oid, account, owner, amount, currency, stage, created, expected, closed=None):
    return dict(
        opportunity_id=oid,
        account_id=account,
        lead_id=None,
        owner_user_id=owner,
        name=f"deal {oid}",
        lead_source="referral",
        product_line="software",
        amount=Decimal(amount),
        currency=currency,
        stage=stage,
        probability=50,
        created_at=ts(created),
        expected_close_date=date.fromisoformat(expected),
        closed_at=ts(closed) if closed else None,
        lost_reason=None,
    )


# opportunities as exported after the as-of date (stage, amount, expected close date, closed_at are
# the export's, which may be later than 2026-03-31)
OPPORTUNITIES = [
    # skips stages (initial_contact -> proposal), won, later signed
    opp(
        "o1",
        "a1",
        "u_a",
        "500000",
        "CNY",
        "contract_signed",
        "2026-01-05 09:00",
        "2026-01-31",
        "2026-01-25 10:00",
    ),
    # USD: created at 7.00, won at 7.20; one regression (proposal -> needs_confirmed)
    opp("o2", "a1", "u_a", "100000", "USD", "won", "2026-01-20 11:00", "2026-02-28", "2026-02-15 14:00"),
    # lost (u_b)
    opp("o3", "a2", "u_b", "300000", "CNY", "lost", "2025-12-10 10:00", "2026-02-28", "2026-02-20 16:00"),
    # open as of 2026-03-31, pushed twice; after as_of: won, one more push, amount raised to 250000
    opp("o4", "a3", "u_b", "250000", "CNY", "won", "2026-02-01 09:30", "2026-06-30", "2026-04-05 10:00"),
    # created after as_of: not in the marts
    opp("o5", "a4", "u_a", "80000", "CNY", "won", "2026-04-10 09:00", "2026-04-30", "2026-04-20 09:00"),
    # jumps straight to contract_signed: won at that moment
    opp(
        "o6",
        "a3",
        "u_b",
        "150000",
        "CNY",
        "contract_signed",
        "2026-03-01 10:00",
        "2026-03-31",
        "2026-03-20 11:00",
    ),
    # no stage history at all: open in its exported stage since creation
    opp("o7", "a4", "u_b", "60000", "CNY", "needs_confirmed", "2026-03-25 15:00", "2026-06-30"),
    opp("o8", "a2", "u_a", "100000", "CNY", "won", "2026-03-02 10:00", "2026-03-31", "2026-03-12 10:00"),
    # created in needs_confirmed (the first move's from_stage), won after 87 days
    opp("o9", "a1", "u_a", "50000", "CNY", "won", "2026-01-02 08:00", "2026-03-31", "2026-03-30 17:00"),
]


def hist(hid, oid, at, field, from_stage=None, to_stage=None, old=None, new=None):
    return dict(
        history_id=hid,
        opportunity_id=oid,
        changed_at=ts(at),
        field=field,
        from_stage=from_stage,
        to_stage=to_stage,
        old_value=old,
        new_value=new,
        changed_by=None,
    )


def move(hid, oid, at, from_stage, to_stage):
    return hist(hid, oid, at, "stage", from_stage, to_stage)


HISTORY = [
    move("h01", "o1", "2026-01-10 10:00", "initial_contact", "proposal"),
    move("h02", "o1", "2026-01-25 10:00", "proposal", "won"),
    move("h03", "o1", "2026-02-05 15:00", "won", "contract_signed"),
    move("h04", "o2", "2026-01-28 10:00", "initial_contact", "needs_confirmed"),
    move("h05", "o2", "2026-02-01 10:00", "needs_confirmed", "proposal"),
    move("h06", "o2", "2026-02-05 10:00", "proposal", "needs_confirmed"),
    move("h07", "o2", "2026-02-08 10:00", "needs_confirmed", "proposal"),
    move("h08", "o2", "2026-02-12 10:00", "proposal", "negotiation"),
    move("h09", "o2", "2026-02-15 14:00", "negotiation", "won"),
    move("h10", "o3", "2025-12-20 10:00", "initial_contact", "needs_confirmed"),
    move("h11", "o3", "2026-02-20 16:00", "needs_confirmed", "lost"),
    move("h12", "o4", "2026-02-10 10:00", "initial_contact", "needs_confirmed"),
    move("h13", "o4", "2026-03-10 09:00", "needs_confirmed", "proposal"),
    hist("h14", "o4", "2026-03-01 10:00", "expected_close_date", old="2026-03-15", new="2026-04-15"),  # push
    hist(
        "h15", "o4", "2026-03-05 10:00", "expected_close_date", old="2026-04-15", new="2026-04-10"
    ),  # pull in
    hist("h16", "o4", "2026-03-20 10:00", "expected_close_date", old="2026-04-10", new="2026-05-31"),  # push
    hist(
        "h17", "o4", "2026-04-02 10:00", "expected_close_date", old="2026-05-31", new="2026-06-30"
    ),  # after as_of
    hist("h18", "o4", "2026-04-03 10:00", "amount", old="200000", new="250000"),  # after as_of
    move("h19", "o4", "2026-04-05 10:00", "proposal", "won"),  # after as_of
    move("h20", "o5", "2026-04-20 09:00", "initial_contact", "won"),  # after as_of
    move("h21", "o6", "2026-03-20 11:00", "initial_contact", "contract_signed"),
    move("h22", "o8", "2026-03-12 10:00", "initial_contact", "won"),
    move("h23", "o9", "2026-03-30 17:00", "needs_confirmed", "won"),
]

CONTRACTS = [
    dict(
        contract_id="c1",
        opportunity_id="o2",
        account_id="a1",
        signed_date=date(2026, 2, 20),
        start_date=date(2026, 3, 1),
        end_date=None,
        contract_value=Decimal("100000"),
        currency="USD",
        payment_terms_days=30,
        status="active",
    ),
]

INVOICES = [  # EUR has no rate: amount_cny must be NULL, never 0
    dict(
        invoice_id="i1",
        contract_id="c1",
        account_id="a1",
        invoice_date=date(2026, 2, 25),
        due_date=date(2026, 3, 25),
        amount=Decimal("1000"),
        currency="EUR",
    ),
]


def insert(con, table: str, rows: list[dict]) -> None:
    lineage = [name for name, _ in LINEAGE_COLUMNS]
    for i, row in enumerate(rows, start=1):
        cols = list(row) + lineage
        values = list(row.values()) + [f"{table}|{i}", f"{table}.csv", i, "load-test", datetime(2026, 4, 30)]
        marks = ", ".join("?" for _ in cols)
        con.execute(f"insert into raw.{table} ({', '.join(cols)}) values ({marks})", values)


class Build:
    def __init__(self, db_path: Path, tmp: Path, warnings: list[str], seconds: float):
        self.db_path, self.tmp, self.warnings, self.seconds = db_path, tmp, warnings, seconds


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Build:
    from dbt.cli.main import dbtRunner

    tmp = tmp_path_factory.mktemp("dbt")
    db_path = tmp / "warehouse.duckdb"
    with duckdb.connect(str(db_path)) as con:
        ensure_warehouse_schema(con)
        insert(con, "users", USERS)
        insert(con, "accounts", ACCOUNTS)
        insert(con, "fx_rates", FX_RATES)
        insert(con, "opportunities", OPPORTUNITIES)
        insert(con, "opportunity_history", HISTORY)
        insert(con, "contracts", CONTRACTS)
        insert(con, "invoices", INVOICES)
    write_profiles(tmp, db_path)
    warnings: list[str] = []

    def collect(event) -> None:  # deprecations and other warnings raised while parsing or running
        if event.info.level in ("warn", "error") and "Deprecat" in event.info.name:
            warnings.append(f"{event.info.name}: {event.info.msg}")

    args = (
        build_args(AS_OF)
        + common_flags(DBT_PROJECT_DIR, tmp, tmp / "target")
        + ["--log-path", str(tmp / "logs")]
    )
    started = time.perf_counter()
    result = dbtRunner(callbacks=[collect]).invoke(args)
    seconds = time.perf_counter() - started
    assert result.success, f"dbt build failed: {result.exception or [r.message for r in result.result or []]}"
    failing = [r.node.name for r in result.result if r.status not in ("success", "pass")]
    assert not failing, f"dbt nodes not clean (warn counts too): {failing}"
    return Build(db_path, tmp, warnings, seconds)


@pytest.fixture(scope="module")
def warehouse(build) -> Path:
    return build.db_path


def test_build_raises_no_deprecation(build):
    print(f"dbt build on the fixture: {build.seconds:.1f} s")
    assert build.warnings == []


def test_docs_generate(build):
    import json

    from dbt.cli.main import dbtRunner

    args = ["docs", "generate"] + common_flags(DBT_PROJECT_DIR, build.tmp, build.tmp / "target")
    args += ["--vars", "{as_of: 2026-03-31}", "--log-path", str(build.tmp / "logs")]
    result = dbtRunner().invoke(args)
    assert result.success, result.exception
    catalog = json.loads((build.tmp / "target" / "catalog.json").read_text(encoding="utf-8"))
    assert "model.salescope.fct_opportunities" in catalog["nodes"]
    manifest = json.loads((build.tmp / "target" / "manifest.json").read_text(encoding="utf-8"))
    marts = [
        n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"
    ]
    assert {n["name"] for n in marts} == MARTS
    for node in marts:  # grain described, contract enforced, metric docs rendered
        assert node["description"].startswith("One row per"), node["name"]
        assert node["config"]["contract"]["enforced"] is True
    fct = manifest["nodes"]["model.salescope.fct_opportunities"]
    assert fct["columns"]["won_at"]["description"].startswith("**won_at**: first entry into stage `won`")


def query(db_path: Path, sql: str) -> list[dict]:
    # dbt-duckdb keeps its in-process database open: connect with the same (default) configuration
    with duckdb.connect(str(db_path)) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def by_key(rows: list[dict], key: str) -> dict:
    return {r[key]: r for r in rows}


def test_models_land_in_plain_schemas(warehouse):
    rows = query(
        warehouse,
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_schema in ('staging', 'intermediate', 'marts', 'seeds')",
    )
    found = {(r["table_schema"], r["table_name"]): r["table_type"] for r in rows}
    for e in ENTITIES:
        assert found[("staging", f"stg_crm__{e.name}")] == "VIEW"
    for name in MARTS:
        assert found[("marts", name)] == "BASE TABLE", name
    assert ("intermediate", "int_fx_rates_daily") in found
    assert found[("intermediate", "int_date_spine")] == "BASE TABLE"
    # the seed is built by dbt build, with exact decimals
    seed = query(warehouse, "select stage, default_probability from seeds.stage_probabilities")
    assert {r["stage"]: r["default_probability"] for r in seed}["negotiation"] == Decimal("0.60")
    assert not any(s.startswith("main_") for s, _ in found)


def test_fx_rates_filled_forward(warehouse):
    rows = query(warehouse, "select rate_date, currency, rate_to_cny from intermediate.int_fx_rates_daily")
    rate = {(r["rate_date"], r["currency"]): r["rate_to_cny"] for r in rows}
    assert len(rate) == len(rows)  # one row per day and currency
    assert rate[(date(2026, 1, 20), "USD")] == 7.00
    assert rate[(date(2026, 2, 9), "USD")] == 7.00
    assert rate[(date(2026, 2, 15), "USD")] == 7.20
    assert rate[(date(2026, 3, 31), "USD")] == 7.20
    assert rate[(date(2026, 4, 15), "USD")] == 7.50
    assert rate[(date(2026, 2, 15), "CNY")] == 1
    assert (date(2025, 12, 31), "USD") not in rate  # nothing before the first known rate
    assert not any(c == "EUR" for _, c in rate)


def test_intermediate_converts_at_event_date(warehouse):
    o2 = query(warehouse, "select * from staging.stg_crm__opportunities where opportunity_id = 'o2'")[0]
    assert o2["rep_win_probability"] == 0.5
    assert "amount_cny" not in o2  # staging keeps the source currency; conversion is downstream
    c1 = query(warehouse, "select contract_value_cny from intermediate.int_contracts")[0]
    assert c1["contract_value_cny"] == Decimal("720000.00")  # signed 2026-02-20, 7.20 filled forward
    i1 = query(warehouse, "select amount_cny from intermediate.int_invoices")[0]
    assert i1["amount_cny"] is None  # EUR without any rate


def test_staging_reads_only_sources():
    """Staging flows one way: source() only, never ref() (no conversion, no join to intermediate)."""
    models = sorted((DBT_PROJECT_DIR / "models" / "staging").glob("*.sql"))
    assert len(models) == len(ENTITIES)
    offenders = [m.name for m in models if "ref(" in m.read_text(encoding="utf-8")]
    assert offenders == []
    assert all("source('crm'" in m.read_text(encoding="utf-8") for m in models)


def test_one_date_spine():
    """period_series (the spine generator) is called by int_date_spine only; no model reads the build time."""
    callers = [
        p.name
        for p in (DBT_PROJECT_DIR / "models").rglob("*.sql")
        if "period_series(" in p.read_text(encoding="utf-8")
    ]
    assert callers == ["int_date_spine.sql"]


def test_no_model_reads_relations_dbt_does_not_see():
    """Every input is a ref() or source(): no adapter.get_relation / hard-coded ml.* read (hidden dependencies)."""

    def code(p: Path) -> str:  # SQL comments may name ml.* tables (saying why the mart does not read them)
        return re.sub(r"--[^\n]*", "", p.read_text(encoding="utf-8"))

    offenders = [
        p.name
        for p in (DBT_PROJECT_DIR / "models").rglob("*.sql")
        if re.search(r"adapter\.get_relation|\bml\.", code(p))
    ]
    assert offenders == []


def test_stage_probabilities_seed_is_what_models_ml_uses():
    import csv

    from models_ml.models import STAGE_DEFAULT, stage_default_proba

    with (DBT_PROJECT_DIR / "seeds" / "stage_probabilities.csv").open(encoding="utf-8") as f:
        seed = {r["stage"]: float(r["default_probability"]) for r in csv.DictReader(f)}
    assert seed == {
        "initial_contact": 0.10,
        "needs_confirmed": 0.20,
        "proposal": 0.40,
        "negotiation": 0.60,
        "won": 1.0,
        "contract_signed": 1.0,
        "lost": 0.0,
    }
    assert seed == STAGE_DEFAULT
    import pandas as pd

    assert list(stage_default_proba(pd.DataFrame({"stage": ["proposal", "lost", None]}))) == [0.40, 0.0, 0.1]


def test_fct_opportunities(warehouse):
    f = by_key(query(warehouse, "select * from marts.fct_opportunities"), "opportunity_id")
    assert sorted(f) == ["o1", "o2", "o3", "o4", "o6", "o7", "o8", "o9"]  # o5 created after as_of

    o1 = f["o1"]  # skipped stages, won then signed
    assert (o1["is_won"], o1["is_closed"], o1["is_open"]) == (True, True, False)
    assert o1["won_at"] == ts("2026-01-25 10:00")
    assert o1["signed_at"] == ts("2026-02-05 15:00")
    assert o1["lost_at"] is None
    assert o1["current_stage"] == "contract_signed"
    assert o1["days_in_current_stage"] == 54  # 2026-02-05 -> 2026-03-31
    assert o1["cycle_days"] == 20
    assert o1["regression_count"] == 0  # skipping forward is not a regression
    assert o1["amount_cny"] == Decimal("500000.00")
    assert (o1["region"], o1["team_id"], o1["industry"]) == ("east", "T1", "manufacturing")

    o2 = f["o2"]  # USD, converted at the won_at date's rate (7.20), not the created date's (7.00)
    assert o2["amount"] == Decimal("100000.00") and o2["currency"] == "USD"
    assert o2["amount_cny"] == Decimal("720000.00")
    assert o2["fx_rate_date"] == date(2026, 2, 15)
    assert o2["won_at"] == ts("2026-02-15 14:00")
    assert o2["cycle_days"] == 26
    assert o2["regression_count"] == 1
    assert o2["push_count"] == 0
    assert o2["days_in_current_stage"] == 44

    o3 = f["o3"]  # lost
    assert (o3["is_won"], o3["is_lost"], o3["is_closed"], o3["is_open"]) == (False, True, True, False)
    assert o3["lost_at"] == ts("2026-02-20 16:00")
    assert o3["won_at"] is None and o3["cycle_days"] is None
    assert o3["current_stage"] == "lost"
    assert o3["days_in_current_stage"] == 39
    assert (o3["region"], o3["team_id"]) == ("north", "T2")

    o4 = f["o4"]  # open; events after as_of ignored
    assert (o4["is_won"], o4["is_closed"], o4["is_open"]) == (False, False, True)
    assert o4["won_at"] is None and o4["lost_at"] is None and o4["cycle_days"] is None
    assert o4["current_stage"] == "proposal"
    assert o4["days_in_current_stage"] == 21
    assert o4["push_count"] == 2
    assert o4["expected_close_date"] == date(2026, 5, 31)
    assert o4["amount"] == Decimal("200000.00")
    assert o4["amount_cny"] == Decimal("200000.00")

    o6 = f["o6"]  # straight to contract_signed: won at that moment
    assert o6["is_won"] is True
    assert o6["won_at"] == o6["signed_at"] == ts("2026-03-20 11:00")
    assert o6["cycle_days"] == 19

    o7 = f["o7"]  # no stage history
    assert o7["is_open"] is True
    assert o7["current_stage"] == "needs_confirmed"
    assert o7["days_in_current_stage"] == 6

    assert f["o8"]["cycle_days"] == 10
    assert f["o9"]["cycle_days"] == 87
    assert f["o9"]["regression_count"] == 0


def test_dims(warehouse):
    users = by_key(query(warehouse, "select * from marts.dim_users"), "user_id")
    assert users["u_a"]["manager_name"] == "王经理"
    assert users["u_mgr"]["manager_name"] is None
    assert "email" not in users["u_a"]

    accounts = by_key(query(warehouse, "select * from marts.dim_accounts"), "account_id")
    assert (accounts["a1"]["won_deal_count"], accounts["a1"]["first_won_at"]) == (3, ts("2026-01-25 10:00"))
    assert accounts["a1"]["is_customer"] is True
    assert (accounts["a2"]["won_deal_count"], accounts["a2"]["first_won_at"]) == (1, ts("2026-03-12 10:00"))
    assert accounts["a3"]["won_deal_count"] == 1
    # a4's only won deal (o5) was created and won after as_of
    assert (accounts["a4"]["won_deal_count"], accounts["a4"]["is_customer"]) == (0, False)
    assert accounts["a4"]["first_won_at"] is None


def test_bookings_monthly(warehouse):
    m = by_key(query(warehouse, "select * from marts.mart_bookings_monthly"), "month")
    assert sorted(m) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]

    dec, jan, feb, mar = (m[d] for d in sorted(m))
    assert dec["bookings_cny"] == Decimal("0.00")
    assert (dec["won_count"], dec["lost_count"], dec["win_rate"]) == (0, 0, None)
    assert dec["cycle_days_mean"] is None and dec["cycle_days_median"] is None
    assert (dec["open_pipeline_cny"], dec["open_count"]) == (Decimal("300000.00"), 1)  # o3

    assert jan["bookings_cny"] == Decimal("500000.00")  # o1
    assert (jan["won_count"], jan["lost_count"], jan["win_rate"]) == (1, 0, 1.0)  # wins, no losses: 100%
    assert (jan["cycle_days_mean"], jan["cycle_days_median"]) == (20.0, 20.0)
    # o3 300000 + o2 720000 (its amount_cny) + o9 50000
    assert (jan["open_pipeline_cny"], jan["open_count"]) == (Decimal("1070000.00"), 3)

    assert feb["bookings_cny"] == Decimal("720000.00")  # o2 at the won_at rate
    assert (feb["won_count"], feb["lost_count"], feb["win_rate"]) == (1, 1, 0.5)
    assert (feb["cycle_days_mean"], feb["cycle_days_median"]) == (26.0, 26.0)
    assert (feb["open_pipeline_cny"], feb["open_count"]) == (Decimal("250000.00"), 2)  # o4 200000 + o9 50000
    assert feb["period_end"] == date(2026, 2, 28)

    assert mar["bookings_cny"] == Decimal("300000.00")  # o6 150000 + o8 100000 + o9 50000
    assert (mar["won_count"], mar["lost_count"], mar["win_rate"]) == (3, 0, 1.0)
    assert mar["cycle_days_mean"] == pytest.approx((19 + 10 + 87) / 3)
    assert mar["cycle_days_median"] == 19.0
    assert (mar["open_pipeline_cny"], mar["open_count"]) == (Decimal("260000.00"), 2)  # o4 200000 + o7 60000
    assert mar["period_end"] == AS_OF

    assert sum(r["bookings_cny"] for r in m.values()) == Decimal("1520000.00")


# --- the analytics marts on the fixture: the edge cases of issue 3 -----------------------------------


def test_contact_pii_tagged_in_meta(build):
    import json

    manifest = json.loads((build.tmp / "target" / "manifest.json").read_text(encoding="utf-8"))
    columns = manifest["nodes"]["model.salescope.dim_contacts"]["columns"]
    assert {c for c, v in columns.items() if v.get("meta", {}).get("pii")} == {"phone", "email", "wechat_id"}


def test_stage_transitions_skip_and_regression(warehouse):
    rows = query(warehouse, "select * from marts.fct_stage_transitions order by opportunity_id, entry_number")
    o1 = [r for r in rows if r["opportunity_id"] == "o1"]
    assert [r["stage"] for r in o1] == ["initial_contact", "proposal", "won", "contract_signed"]
    assert o1[0]["next_stage"] == "proposal" and o1[0]["is_skip"] is True  # skipped needs_confirmed
    assert o1[0]["days_in_stage"] == 5  # 2026-01-05 -> 2026-01-10
    assert o1[2]["days_in_stage"] == 11  # won 01-25 -> signed 02-05
    assert o1[3]["days_in_stage"] is None and o1[3]["exited_at"] is None  # terminal
    o2 = [r for r in rows if r["opportunity_id"] == "o2"]
    assert [r["stage"] for r in o2] == [
        "initial_contact",
        "needs_confirmed",
        "proposal",
        "needs_confirmed",
        "proposal",
        "negotiation",
        "won",
    ]
    assert [r["is_regression"] for r in o2] == [False, False, True, False, False, False, False]
    assert o2[3]["is_regression_entry"] is True and o2[3]["is_first_entry"] is False
    o4_current = [r for r in rows if r["opportunity_id"] == "o4" and r["is_current"]]
    assert [(r["stage"], r["days_in_stage"]) for r in o4_current] == [("proposal", 21)]  # 03-10 -> as_of


def test_funnel_counts_skipped_stages_as_passed(warehouse):
    rows = query(
        warehouse,
        "select stage, sum(reached_count) as reached, sum(passed_count) as passed, "
        "sum(strict_next_count) as strict from marts.mart_funnel group by stage",
    )
    f = {r["stage"]: (r["reached"], r["passed"], r["strict"]) for r in rows}
    # furthest stages: o1, o6 contract_signed; o2, o8, o9 won; o4 proposal; o3 needs_confirmed; o7 needs_confirmed
    # every deal reached and passed initial_contact (o7 and o9 were created past it); strict: o2, o3, o4
    assert f["initial_contact"] == (8, 8, 3)
    assert f["needs_confirmed"] == (8, 6, 2)  # o1, o6, o8 skipped it and still count; o3, o7 stopped
    assert f["proposal"] == (6, 5, 1)  # o1, o2, o4, o6, o8, o9 reached; o4 still there; o2 strict
    assert f["won"] == (5, 2, 1)  # o1, o2, o6, o8, o9; o1 signed, o6 jumped straight to signed
    assert f["contract_signed"] == (2, 0, 0)


def test_rep_with_wins_and_no_losses_has_full_win_rate(warehouse):
    rows = query(warehouse, "select * from marts.mart_rep_performance where user_id = 'u_a' order by month")
    m = {r["month"]: r for r in rows}
    assert (m[date(2026, 1, 1)]["won_count"], m[date(2026, 1, 1)]["lost_count"]) == (1, 0)
    assert m[date(2026, 1, 1)]["win_rate"] == 1.0 and m[date(2026, 1, 1)]["win_rate_amount"] == 1.0
    feb = m[date(2026, 2, 1)]
    assert feb["bookings_cny"] == Decimal("720000.00")  # o2, USD at the won_at date's rate 7.20
    assert feb["win_rate"] == 1.0
    mar = m[date(2026, 3, 1)]
    assert (mar["won_count"], mar["bookings_cny"], mar["win_rate"]) == (
        2,
        Decimal("150000.00"),
        1.0,
    )  # o8, o9
    assert mar["cycle_days_mean"] == pytest.approx((10 + 87) / 2)
    u_b = query(
        warehouse, "select * from marts.mart_rep_performance where user_id = 'u_b' and month = '2026-02-01'"
    )[0]
    assert (u_b["won_count"], u_b["lost_count"], u_b["win_rate"]) == (0, 1, 0.0)  # lost only: 0, not null
    roll = query(
        warehouse,
        "select * from marts.mart_sales_performance_rollup where level = 'company' and month = '2026-02-01'",
    )[0]
    assert (roll["won_count"], roll["lost_count"], roll["win_rate"]) == (1, 1, 0.5)


def test_pipeline_snapshots_of_a_deal_pushed_twice(warehouse):
    rows = query(
        warehouse,
        "select * from marts.fct_pipeline_snapshots where opportunity_id = 'o4' order by snapshot_date",
    )
    got = [
        (r["snapshot_date"], r["stage"], r["push_count"], r["expected_close_date"], r["days_in_stage"])
        for r in rows
    ]
    assert got == [
        (date(2026, 2, 1), "initial_contact", 0, date(2026, 3, 15), 0),
        (date(2026, 2, 8), "initial_contact", 0, date(2026, 3, 15), 7),
        (date(2026, 2, 15), "needs_confirmed", 0, date(2026, 3, 15), 5),
        (date(2026, 2, 22), "needs_confirmed", 0, date(2026, 3, 15), 12),
        (date(2026, 3, 1), "needs_confirmed", 1, date(2026, 4, 15), 19),  # pushed that day
        (date(2026, 3, 8), "needs_confirmed", 1, date(2026, 4, 10), 26),  # pulled in: no push
        (date(2026, 3, 15), "proposal", 1, date(2026, 4, 10), 5),
        (date(2026, 3, 22), "proposal", 2, date(2026, 5, 31), 12),  # pushed again
        (date(2026, 3, 29), "proposal", 2, date(2026, 5, 31), 19),
        (date(2026, 3, 31), "proposal", 2, date(2026, 5, 31), 21),  # the as-of date (a Tuesday)
    ]
    assert {r["amount_cny"] for r in rows} == {Decimal("200000.00")}  # the raise to 250000 came after as_of
    o2 = query(
        warehouse,
        "select snapshot_date, amount_cny, regression_count from marts.fct_pipeline_snapshots "
        "where opportunity_id = 'o2' order by snapshot_date",
    )
    # USD at the created date's rate (7.00); won 02-15, so open on the Sundays before it only
    assert [(r["snapshot_date"], r["amount_cny"]) for r in o2] == [
        (date(2026, 1, 25), Decimal("700000.00")),
        (date(2026, 2, 1), Decimal("700000.00")),
        (date(2026, 2, 8), Decimal("700000.00")),
    ]
    assert [r["regression_count"] for r in o2] == [0, 0, 1]  # the regression of 02-05
    dates = {
        r["snapshot_date"]
        for r in query(warehouse, "select distinct snapshot_date from marts.fct_pipeline_snapshots")
    }
    assert all(d.weekday() == 6 or d == AS_OF for d in dates)


def test_deal_risk_stalled_by_learned_threshold(warehouse):
    rows = by_key(query(warehouse, "select * from marts.mart_deal_risk"), "opportunity_id")
    assert sorted(rows) == ["o4", "o7"]  # the deals open on the as-of date
    o4 = rows["o4"]
    # won deals' completed stays in proposal: o1 15 days, o2 4 and 4 -> p75 = 9.5
    assert o4["stage_p75_days"] == pytest.approx(9.5)
    assert (o4["days_in_current_stage"], o4["push_count"], o4["regression_count"]) == (21, 2, 0)
    assert o4["days_since_last_touch"] is None  # no touchpoint at all
    assert o4["is_stalled"] is True
    assert o4["stall_reasons"] == "stage_overdue;no_touch_14d"
    o7 = rows["o7"]  # won deals' stays in needs_confirmed: o2 4 and 3, o9 87 -> p75 = 45.5
    assert o7["stage_p75_days"] == pytest.approx(45.5) and o7["days_in_current_stage"] == 6
    assert (o7["is_stage_overdue"], o7["stall_reasons"]) == (False, "no_touch_14d")


def test_forecast_probabilities_are_shares(warehouse):
    rows = query(
        warehouse,
        "select * from marts.mart_forecast where level = 'company' and period_type = 'month' "
        "and period_start = '2026-03-01'",
    )
    (mar,) = rows
    # open on 03-31 with expected close in March: none (o4 closes 05-31, o7 06-30)
    assert mar["pipeline_in_period_cny"] == Decimal("0.00")
    assert mar["bookings_to_date_cny"] == Decimal("300000.00")
    apr = query(
        warehouse,
        "select * from marts.mart_forecast where level = 'company' and period_type = 'quarter' "
        "and period_start = '2026-01-01'",
    )[0]
    assert apr["is_closed_period"] is True
    # weighted at 01-01: nothing open with a close date in Q1 yet (o3 closes 02-28 at 0.20 -> 60000)
    assert apr["forecast_at_start_cny"] == pytest.approx(300000 * 0.20)
    assert apr["actual_bookings_cny"] == Decimal("1520000.00")


def test_pipeline_snapshots_incremental_equals_full_refresh(build):
    """An incremental run at an earlier as-of date, then at the as-of date again, gives the full build's rows."""
    from dbt.cli.main import dbtRunner

    sql = "select * from marts.fct_pipeline_snapshots order by snapshot_date, opportunity_id"
    full = query(build.db_path, sql)
    flags = common_flags(DBT_PROJECT_DIR, build.tmp, build.tmp / "target") + [
        "--log-path",
        str(build.tmp / "logs"),
    ]
    for as_of in ("2026-02-17", "2026-03-31"):
        args = ["run", "--select", "fct_pipeline_snapshots", "--vars", f"{{as_of: {as_of}}}"] + flags
        result = dbtRunner().invoke(args)
        assert result.success, result.exception
        if as_of == "2026-02-17":  # the earlier as-of date (a Tuesday) replaced every snapshot after it
            dates = {r["snapshot_date"] for r in query(build.db_path, sql)}
            assert max(dates) == date(2026, 2, 17) and date(2026, 2, 15) in dates
    assert query(build.db_path, sql) == full
