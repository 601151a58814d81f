"""Messy landing files in every format load to the values a person reads in them."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from ingestion import ingest_file
from ingestion.readers import detect_encoding, read_source

AS_OF = date(2026, 6, 30)


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_gb18030_csv_with_chinese_headers_and_messy_values(con, tmp_path: Path):
    text = (
        "客户编号,客户名称,行业,区域,城市,规模,负责人编号,创建日期,年营业额\r\n"
        "A001,华为技术,制造业,华东,上海,大型,U01,2026年1月5日,1.5亿\r\n"
        'A002,某某银行,金融,华北,北京,集团,U02,2026/1/6,"¥1,200,000"\r\n'
        "A003,ＡＢＣ公司,ＩＴ,华南,深圳,中型,Ｕ０３,２０２６－０１－０７,１２０万\r\n"
    )
    path = tmp_path / "客户.csv"
    path.write_bytes(text.encode("gb18030"))
    assert detect_encoding(path) == "gb18030"
    res = ingest_file(con, path, as_of=AS_OF, run_id="r")
    assert (res.status, res.entity, res.rows_read, res.rows_loaded, res.rows_quarantined) == (
        "loaded",
        "accounts",
        3,
        3,
        0,
    )
    assert "GB18030" in res.message
    assert rows(
        con,
        """SELECT account_id, account_name, industry, region, city, size_band, owner_user_id, created_at,
                  annual_revenue_cny, _record_key, _source_file, _source_row
           FROM raw.accounts ORDER BY account_id""",
    ) == [
        (
            "A001",
            "华为技术",
            "manufacturing",
            "east",
            "上海",
            "large",
            "U01",
            date(2026, 1, 5),
            Decimal("150000000.00"),
            "A001",
            "客户.csv",
            1,
        ),
        (
            "A002",
            "某某银行",
            "finance",
            "north",
            "北京",
            "enterprise",
            "U02",
            date(2026, 1, 6),
            Decimal("1200000.00"),
            "A002",
            "客户.csv",
            2,
        ),
        (
            "A003",
            "ABC公司",
            "it",
            "south",
            "深圳",
            "medium",
            "U03",
            date(2026, 1, 7),
            Decimal("1200000.00"),
            "A003",
            "客户.csv",
            3,
        ),
    ]


def test_utf8_bom_csv_english_headers_bools_and_enum_aliases(con, tmp_path: Path):
    text = (
        "User ID,Name,Email,Role,Team Name,Region,Manager ID,Hire Date,Is Active\n"
        "U01,王伟,w@x.cn,销售,华东一组,East China,U09,2024/3/1 09:00,是\n"
        "U02,李娜,,sales_manager,,华北,,2023-07-15,N\n"
        "U09,赵强,,高管,,,,46000,TRUE\n"
    )
    path = tmp_path / "users.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    assert detect_encoding(path) == "utf-8-sig"
    res = ingest_file(con, path, as_of=AS_OF, run_id="r")
    assert (res.status, res.rows_read, res.rows_loaded) == ("loaded", 3, 3)
    assert rows(
        con,
        "SELECT user_id, name, email, role, team_name, region, manager_id, hire_date, is_active "
        "FROM raw.users ORDER BY user_id",
    ) == [
        ("U01", "王伟", "w@x.cn", "sales_rep", "华东一组", "east", "U09", date(2024, 3, 1), True),
        ("U02", "李娜", None, "sales_manager", None, "north", None, date(2023, 7, 15), False),
        ("U09", "赵强", None, "executive", None, None, None, date(2025, 12, 9), True),
    ]


def test_xlsx_chinese_headers_date_cells_and_excel_serials(con, tmp_path: Path):
    path = tmp_path / "商机.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("导出")
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.write_row(
        0,
        0,
        [
            "商机编号",
            "客户编号",
            "销售负责人",
            "商机名称",
            "线索来源",
            "产品线",
            "金额",
            "币种",
            "商机阶段",
            "赢率",
            "创建时间",
            "预计成交日期",
            "关闭时间",
            "备注",
        ],
    )
    ws.write_row(1, 0, ["O1", "A1", "U1", "智慧工厂", "展会", "软件"])
    ws.write_number(1, 6, 1200000)
    ws.write_row(1, 7, ["人民币", "方案报价"])
    ws.write_number(1, 9, 60)
    ws.write_datetime(1, 10, datetime(2026, 1, 5, 14, 30), stamp)
    ws.write_datetime(1, 11, datetime(2026, 3, 31), day)
    ws.write_row(
        2, 0, ["O2", "A2", "U2", "园区改造", "referral", "工程", "120万", "USD", "closed won", "１００"]
    )
    ws.write_number(2, 10, 46027.5)  # Excel serial, no format: 2026-01-05 12:00
    ws.write_string(2, 11, "46100")  # serial typed as text: 2026-03-19
    ws.write_number(2, 12, 46110)  # 2026-03-29
    ws.write_row(
        4,
        0,
        [
            "O3",
            "A3",
            "U1",
            "设备采购",
            "官网",
            "设备",
            "¥80,000",
            "CNY",
            "谈判",
            "",
            "2026年2月1日",
            "2026/6/1",
        ],
    )  # row 3 (sheet row 4) left empty
    wb.close()

    src = read_source(con, path, "_t")
    assert src.headers[:3] == ["商机编号", "客户编号", "销售负责人"]
    assert rows(con, f"SELECT _row, c0 FROM {src.relation} ORDER BY _row") == [
        (1, "O1"),
        (2, "O2"),
        (4, "O3"),
    ]
    src.drop(con)

    res = ingest_file(con, path, as_of=AS_OF, run_id="r")
    assert (res.status, res.entity, res.rows_read, res.rows_loaded) == ("loaded", "opportunities", 3, 3)
    assert "备注" in res.message  # extra column is mentioned
    assert rows(
        con,
        """SELECT opportunity_id, lead_source, product_line, amount, currency, stage, probability, created_at,
                  expected_close_date, closed_at, _source_row
           FROM raw.opportunities ORDER BY opportunity_id""",
    ) == [
        (
            "O1",
            "trade_show",
            "software",
            Decimal("1200000.00"),
            "CNY",
            "proposal",
            60,
            datetime(2026, 1, 5, 14, 30),
            date(2026, 3, 31),
            None,
            1,
        ),
        (
            "O2",
            "referral",
            "engineering",
            Decimal("1200000.00"),
            "USD",
            "won",
            100,
            datetime(2026, 1, 5, 12, 0),
            date(2026, 3, 19),
            datetime(2026, 3, 29),
            2,
        ),
        (
            "O3",
            "website",
            "equipment",
            Decimal("80000.00"),
            "CNY",
            "negotiation",
            None,
            datetime(2026, 2, 1),
            date(2026, 6, 1),
            None,
            4,
        ),
    ]


def test_jsonl_and_json_lines(con, tmp_path: Path):
    records = [
        {
            "contact_id": "C1",
            "account_id": "A1",
            "name": "张三",
            "is_decision_maker": True,
            "phone": 13800000000,
            "created_at": "2026-01-05",
        },
        # keys differ per line: absent ones are empty, unknown ones ignored
        {
            "contact_id": "C2",
            "account_id": "A1",
            "name": "李四",
            "is_decision_maker": "否",
            "wechat_id": "lisi",
            "created_at": "2026年2月3日",
            "extra": {"a": 1},
        },
    ]
    path = tmp_path / "contacts.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    res = ingest_file(con, path, as_of=AS_OF, run_id="r")
    assert (res.status, res.rows_read, res.rows_loaded, res.rows_quarantined) == ("loaded", 2, 2, 0)
    assert rows(
        con,
        "SELECT contact_id, name, is_decision_maker, phone, wechat_id, created_at FROM raw.contacts "
        "ORDER BY contact_id",
    ) == [
        ("C1", "张三", True, "13800000000", None, date(2026, 1, 5)),
        ("C2", "李四", False, None, "lisi", date(2026, 2, 3)),
    ]

    nps = tmp_path / "nps_responses.json"
    nps.write_text(
        '{"response_id": "N1", "account_id": "A1", "responded_at": "2026/5/1", "score": 9}\n'
        '{"response_id": "N2", "account_id": "A1", "responded_at": "2026/5/2", "score": "x"}\n'
    )
    res = ingest_file(con, nps, as_of=AS_OF, run_id="r")
    assert (res.status, res.rows_read, res.rows_loaded, res.rows_quarantined) == ("loaded", 2, 1, 1)
    assert rows(con, "SELECT record_key, kind, column_name FROM ops.quarantine") == [
        ("N2", "bad_type", "score")
    ]


def test_parquet_typed_columns_become_text_then_contract_types(con, tmp_path: Path):
    table = pa.table(
        {
            "user_id": ["U1", "U2", "U3"],
            "month": pa.array([date(2026, 1, 1), date(2026, 2, 1), None], pa.date32()),
            "quota_cny": [1_000_000.0, 1_250_000.5, 3.0],
        }
    )
    path = tmp_path / "quotas.parquet"
    pq.write_table(table, path)
    res = ingest_file(con, path, as_of=AS_OF, run_id="r")
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (3, 2, 1)
    assert rows(con, "SELECT user_id, month, quota_cny, _record_key FROM raw.quotas ORDER BY user_id") == [
        ("U1", date(2026, 1, 1), Decimal("1000000.00"), "U1|2026-01-01"),
        ("U2", date(2026, 2, 1), Decimal("1250000.50"), "U2|2026-02-01"),
    ]
    assert rows(con, "SELECT record_key, kind, column_name FROM ops.quarantine") == [
        ("U3|", "missing_required", "month")
    ]


def test_parquet_timestamp_with_zone_is_read_in_shanghai_time(con, tmp_path: Path):
    ts = pa.array([datetime(2026, 1, 5, 2, 0)], pa.timestamp("us", tz="UTC"))
    table = pa.table(
        {
            "history_id": ["H1"],
            "opportunity_id": ["O1"],
            "changed_at": ts,
            "field": ["阶段"],
            "to_stage": ["谈判"],
        }
    )
    path = tmp_path / "opportunity_history.parquet"
    pq.write_table(table, path)
    res = ingest_file(con, path, as_of=AS_OF, run_id="r")
    assert res.rows_loaded == 1
    assert rows(con, "SELECT changed_at, field, to_stage FROM raw.opportunity_history") == [
        (datetime(2026, 1, 5, 10, 0), "stage", "negotiation")
    ]


def test_json_array_utf16_csv_and_cells_right_of_the_header(con, tmp_path: Path):
    arr = tmp_path / "fx_rates.json"
    arr.write_text(
        json.dumps(
            [
                {"rate_date": "2026-01-05", "currency": "USD", "rate_to_cny": 7.1},
                {"rate_date": "2026-01-05", "currency": "EUR", "rate_to_cny": "7.8"},
            ]
        )
    )
    res = ingest_file(con, arr, as_of=AS_OF, run_id="r")
    assert (res.rows_read, res.rows_loaded) == (2, 2)

    utf16 = tmp_path / "channel_spend.csv"
    utf16.write_text("月份\t渠道\t费用\t币种\n2026年1月1日\t展会\t５万\t人民币\n", encoding="utf-16")
    assert detect_encoding(utf16) == "utf-16"
    res = ingest_file(con, utf16, as_of=AS_OF, run_id="r")
    assert (res.status, res.rows_loaded) == ("loaded", 1)
    assert rows(con, "SELECT month, channel, spend, currency FROM raw.channel_spend") == [
        (date(2026, 1, 1), "trade_show", Decimal("50000.00"), "CNY")
    ]

    path = tmp_path / "documents.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["document_id", "doc_type", "version", "file_name", "uploaded_at"])
    ws.write_row(1, 0, ["D1", "合同", 2, "c.pdf", "2026-02-01 08:00", "", "stray note"])
    wb.close()
    res = ingest_file(con, path, as_of=AS_OF, run_id="r")
    assert (res.status, res.rows_loaded) == ("loaded", 1)
    assert "column7" in res.message  # the unheaded value is reported, not silently lost
    assert rows(con, "SELECT document_id, doc_type, version, uploaded_at FROM raw.documents") == [
        ("D1", "contract", 2, datetime(2026, 2, 1, 8, 0))
    ]
