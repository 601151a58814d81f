"""Normalisation expressions: each messy spelling against its hand-computed value."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from contract import ENTITIES, Column
from ingestion.headers import entity_for_file, header_key, match_headers, spelling_index
from ingestion.normalize import clean_sql, parse_sql


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    yield c
    c.close()


def value(con, column: Column, raw: str | None):
    text = clean_sql("$raw")
    return con.execute(
        f"SELECT {parse_sql(column, '_t')} FROM (SELECT {text} AS _t)", {"raw": raw}
    ).fetchone()[0]


def cleaned(con, raw: str | None):
    return con.execute(f"SELECT {clean_sql('$raw')}", {"raw": raw}).fetchone()[0]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  abc \t", "abc"),
        ("\u3000ＡＢＣ－１２３\u3000", "ABC-123"),
        ("\u00a0x\u00a0", "x"),
        ("华为（中国）", "华为(中国)"),
        ("", None),
        ("   ", None),
        ("NULL", None),
        ("None", None),
        ("nan", None),
        ("N/A", None),
        ("#N/A", None),
        ("-", None),
        ("－", None),
        ("--", "--"),
        (None, None),
    ],
)
def test_clean_text(con, raw, expected):
    assert cleaned(con, raw) == expected


AMOUNT = Column("amount", "amount", "金额")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1200000", Decimal("1200000.00")),
        ("¥1,200,000", Decimal("1200000.00")),
        ("￥1,200,000.50", Decimal("1200000.50")),
        ("RMB 3,000元", Decimal("3000.00")),
        ("120万", Decimal("1200000.00")),
        ("120万元", Decimal("1200000.00")),
        ("1.5亿", Decimal("150000000.00")),
        ("0.0001亿", Decimal("10000.00")),
        ("１２０万", Decimal("1200000.00")),
        ("-5000", Decimal("-5000.00")),
        ("TBD", None),
        ("待定", None),
        ("abc", None),
        ("万", None),
    ],
)
def test_amounts(con, raw, expected):
    assert value(con, AMOUNT, raw) == expected


DAY = Column("d", "date", "日期")
TS = Column("ts", "timestamp", "时间")


@pytest.mark.parametrize(
    "raw, day, ts",
    [
        ("2026-01-05", date(2026, 1, 5), datetime(2026, 1, 5)),
        ("2026/1/5", date(2026, 1, 5), datetime(2026, 1, 5)),
        ("2026.1.5", date(2026, 1, 5), datetime(2026, 1, 5)),
        ("2026年1月5日", date(2026, 1, 5), datetime(2026, 1, 5)),
        ("2026年01月05日 14:30", date(2026, 1, 5), datetime(2026, 1, 5, 14, 30)),
        ("2026-01-05 14:30:15", date(2026, 1, 5), datetime(2026, 1, 5, 14, 30, 15)),
        ("2026/1/5 9:05", date(2026, 1, 5), datetime(2026, 1, 5, 9, 5)),
        ("2026-01-05T14:30", date(2026, 1, 5), datetime(2026, 1, 5, 14, 30)),
        ("2026-01-05T14:30:15.250", date(2026, 1, 5), datetime(2026, 1, 5, 14, 30, 15, 250000)),
        ("２０２６－０１－０５", date(2026, 1, 5), datetime(2026, 1, 5)),
        ("46027", date(2026, 1, 5), datetime(2026, 1, 5)),
        ("46027.75", date(2026, 1, 5), datetime(2026, 1, 5, 18, 0)),
        ("2026-13-45", None, None),
        ("2026/02/30", None, None),
        ("明年初", None, None),
        ("26-01-05", None, None),
        ("2026-01-05x", None, None),
        ("1234", None, None),
    ],
)
def test_dates_and_timestamps(con, raw, day, ts):
    assert value(con, DAY, raw) == day
    assert value(con, TS, raw) == ts


@pytest.mark.parametrize(
    "raw, expected",
    [("42", 42), ("42.0", 42), ("1,000", 1000), ("-3", -3), ("１０", 10), ("42.5", None), ("abc", None)],
)
def test_ints(con, raw, expected):
    assert value(con, Column("n", "int", "数"), raw) == expected


@pytest.mark.parametrize("raw, expected", [("12.5", 12.5), ("1,234.5", 1234.5), ("inf", None), ("x", None)])
def test_floats(con, raw, expected):
    assert value(con, Column("x", "float", "数"), raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("Y", True),
        ("是", True),
        ("t", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("n", False),
        ("否", False),
        ("F", False),
        ("maybe", None),
    ],
)
def test_bools(con, raw, expected):
    assert value(con, Column("b", "bool", "是否"), raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("proposal", "proposal"),
        ("方案报价", "proposal"),
        ("Quotation", "proposal"),
        (" Closed Won ", "won"),
        ("赢单", "won"),
        ("CLOSED-LOST", "lost"),
        ("closed", None),
    ],
)
def test_enum_codes(con, raw, expected):
    assert value(con, Column("stage", "enum", "阶段", vocab="stage"), raw) == expected


def test_header_keys_ignore_case_space_bom_and_width():
    assert header_key("\ufeff Opportunity ID ") == header_key("opportunity_id") == "opportunityid"
    assert header_key("商机编号\u3000") == header_key("商机编号")
    opp = next(e for e in ENTITIES if e.name == "opportunities")
    m = match_headers(opp, ["\ufeff商机编号", "Account ID", "预计金额", "amount", "备注"])
    assert m.columns == {"opportunity_id": 0, "account_id": 1, "amount": 3}
    assert m.repeated == ["预计金额"]
    assert m.extras == ["备注"]


def test_no_header_spelling_is_shared_by_two_columns_and_keys_are_required():
    for entity in ENTITIES:
        seen: dict[str, str] = {}
        for column in entity.columns:
            for spelling in column.header_spellings():
                owner = seen.setdefault(header_key(spelling), column.name)
                assert owner == column.name, (entity.name, spelling)
        assert len(spelling_index(entity)) == len(seen)
        for key in entity.primary_key:
            assert entity.column(key).required, (entity.name, key)


@pytest.mark.parametrize(
    "name, entity",
    [
        ("opportunities.csv", "opportunities"),
        ("商机.xlsx", "opportunities"),
        ("Opportunity_History.PARQUET", "opportunity_history"),
        ("回款.jsonl", "payments"),
        ("fx_rates.json", "fx_rates"),
        ("opportunities.txt", None),
        ("opportunities_2026.csv", None),
    ],
)
def test_entity_for_file(name, entity, tmp_path):
    found = entity_for_file(tmp_path / name)
    assert (found.name if found else None) == entity
