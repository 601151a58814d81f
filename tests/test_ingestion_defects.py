"""Every row-level defect kind is found with the right record key, kind and column."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from contract import DEFECT_KINDS
from ingestion import ROW_LEVEL_KINDS, ingest_file

AS_OF = date(2026, 6, 30)

OPP_HEADER = [
    "opportunity_id",
    "account_id",
    "lead_id",
    "owner_user_id",
    "name",
    "lead_source",
    "product_line",
    "amount",
    "currency",
    "stage",
    "probability",
    "created_at",
    "expected_close_date",
    "closed_at",
    "lost_reason",
]


def opp(oid, **over):
    row = {
        "opportunity_id": oid,
        "account_id": "A1",
        "lead_id": "",
        "owner_user_id": "U1",
        "name": f"deal {oid}",
        "lead_source": "website",
        "product_line": "software",
        "amount": "100000",
        "currency": "CNY",
        "stage": "proposal",
        "probability": "40",
        "created_at": "2026-03-01 10:00",
        "expected_close_date": "2026-08-01",
        "closed_at": "",
        "lost_reason": "",
    }
    row.update(over)
    return row


# (row, data) and the quarantine rows each must produce: (record_key, kind, column)
OPP_ROWS = [
    (opp("O1"), []),
    (opp("O2", name=""), [("O2", "missing_required", "name")]),
    (opp("O3", amount="TBD"), [("O3", "bad_type", "amount")]),
    (opp("O4", created_at="2026-13-45"), [("O4", "bad_date_format", "created_at")]),
    (opp("O5", amount="-120万"), [("O5", "negative_amount", "amount")]),
    (opp("O6", probability="150"), [("O6", "out_of_range", "probability")]),
    (opp("O7", stage="maybe later"), [("O7", "unknown_category", "stage")]),
    (opp("O8", closed_at="2026-07-02 10:00", stage="won"), [("O8", "future_date", "closed_at")]),
    (
        opp("O9", created_at="2026-03-01 10:00", closed_at="2026-03-01 09:00", stage="lost"),
        [("O9", "date_order", "closed_at")],
    ),
    (opp("O1", name="second copy"), [("O1", "duplicate_key", "opportunity_id")]),
    (
        opp("O10", amount="待定", stage="x", expected_close_date="明年初"),
        [
            ("O10", "bad_type", "amount"),
            ("O10", "bad_date_format", "expected_close_date"),
            ("O10", "unknown_category", "stage"),
        ],
    ),
    (opp("", name="no key"), [("", "missing_required", "opportunity_id")]),
    (opp("O11", probability="abc"), [("O11", "bad_type", "probability")]),
    (opp("O12", lead_id="N/A", closed_at="-", lost_reason="null"), []),
    (opp("O13", account_id="NULL"), [("O13", "missing_required", "account_id")]),
    (opp("O1", name="third copy"), [("O1", "duplicate_key", "opportunity_id")]),
    (opp("Ｏ14", amount="１２０万"), []),
]


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def quarantine(con) -> list[tuple]:
    return con.execute(
        "SELECT source_row, record_key, kind, column_name FROM ops.quarantine ORDER BY source_row, kind, column_name"
    ).fetchall()


def test_opportunity_defects_match_expectations(con, tmp_path: Path):
    path = write_csv(tmp_path / "opportunities.csv", OPP_HEADER, [r for r, _ in OPP_ROWS])
    res = ingest_file(con, path, as_of=AS_OF, run_id="run-1")

    expected = sorted(
        (i, key, kind, col) for i, (_, found) in enumerate(OPP_ROWS, start=1) for key, kind, col in found
    )
    assert quarantine(con) == expected
    bad_rows = {i for i, *_ in expected}
    assert (res.rows_read, res.rows_quarantined, res.rows_loaded) == (
        len(OPP_ROWS),
        len(bad_rows),
        len(OPP_ROWS) - len(bad_rows),
    )
    # conservation in the log too
    assert con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined, status FROM ops.load_log"
    ).fetchall() == [(17, 3, 14, "loaded")]
    # duplicates keep the first row; markers load as NULL; full-width key normalised
    assert con.execute(
        "SELECT opportunity_id, name, lead_id, closed_at, lost_reason, amount, _source_row FROM raw.opportunities "
        "ORDER BY _source_row"
    ).fetchall() == [
        ("O1", "deal O1", None, None, None, Decimal("100000.00"), 1),
        ("O12", "deal O12", None, None, None, Decimal("100000.00"), 14),
        ("O14", "deal O14", None, None, None, Decimal("1200000.00"), 17),
    ]
    # every quarantine row has a readable reason and the raw record as JSON with the file's headers
    reasons = dict(
        ((r, k, c), (reason, raw))
        for r, k, c, reason, raw in con.execute(
            "SELECT source_row, kind, column_name, reason, raw_record FROM ops.quarantine"
        ).fetchall()
    )
    reason, raw = reasons[(3, "bad_type", "amount")]
    assert reason == "amount 'TBD' is not a number (金额 must be like 120000, ¥1,200,000 or 120万)"
    assert json.loads(raw)["amount"] == "TBD" and list(json.loads(raw)) == OPP_HEADER
    assert "row 1 is kept" in reasons[(10, "duplicate_key", "opportunity_id")][0]
    assert "2026-06-30" in reasons[(8, "future_date", "closed_at")][0]
    # one issue per quarantine row, as errors
    assert con.execute(
        "SELECT count(*), count(DISTINCT severity), min(severity), min(action), min(run_id) FROM quality.issues"
    ).fetchone() == (len(expected), 1, "error", "quarantined", "run-1")
    assert (
        sorted(con.execute("SELECT source_row, record_key, kind, column_name FROM quality.issues").fetchall())
        == expected
    )
    assert res.quarantine_by_kind["duplicate_key"] == 2


def test_date_columns_bools_floats_and_composite_keys(con, tmp_path: Path):
    contracts = write_csv(
        tmp_path / "contracts.csv",
        [
            "contract_id",
            "opportunity_id",
            "account_id",
            "signed_date",
            "start_date",
            "end_date",
            "contract_value",
            "currency",
            "payment_terms_days",
            "status",
        ],
        [
            {
                "contract_id": "K1",
                "opportunity_id": "O1",
                "account_id": "A1",
                "signed_date": "2026/6/30",
                "start_date": "2026/7/1",
                "end_date": "2027/6/30",
                "contract_value": "1.2亿",
                "currency": "人民币",
                "payment_terms_days": "90",
                "status": "执行中",
            },
            {
                "contract_id": "K2",
                "opportunity_id": "O2",
                "account_id": "A1",
                "signed_date": "2026-07-01",
                "start_date": "2026-07-01",
                "end_date": "2026-06-01",
                "contract_value": "100",
                "currency": "CNY",
                "payment_terms_days": "400",
                "status": "active",
            },
            {
                "contract_id": "K3",
                "opportunity_id": "O3",
                "account_id": "A1",
                "signed_date": "2026-01-01",
                "start_date": "2026-01-01",
                "end_date": "2026-01-01",
                "contract_value": "100",
                "currency": "GBP",
                "payment_terms_days": "-1",
                "status": "done",
            },
        ],
    )
    res = ingest_file(con, contracts, as_of=AS_OF, run_id="r")
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (3, 1, 2)
    assert quarantine(con) == [
        (2, "K2", "date_order", "end_date"),
        (2, "K2", "future_date", "signed_date"),
        (2, "K2", "out_of_range", "payment_terms_days"),
        (3, "K3", "out_of_range", "payment_terms_days"),
        (3, "K3", "unknown_category", "currency"),
        (3, "K3", "unknown_category", "status"),
    ]
    assert con.execute("SELECT contract_value, currency, status FROM raw.contracts").fetchall() == [
        (Decimal("120000000.00"), "CNY", "active")
    ]

    users = write_csv(
        tmp_path / "users.csv",
        ["user_id", "name", "role", "is_active", "hire_date"],
        [
            {"user_id": "U1", "name": "a", "role": "rep", "is_active": "maybe", "hire_date": "2020-01-01"},
            {"user_id": "U2", "name": "b", "role": "finance", "is_active": "", "hire_date": "2099-01-01"},
        ],
    )
    ingest_file(con, users, as_of=AS_OF, run_id="r")
    assert con.execute(
        "SELECT source_row, record_key, kind, column_name FROM ops.quarantine WHERE entity = 'users' "
        "ORDER BY 1, 3, 4"
    ).fetchall() == [
        (1, "U1", "bad_type", "is_active"),
        (2, "U2", "future_date", "hire_date"),
        (2, "U2", "missing_required", "is_active"),
    ]

    fx = write_csv(
        tmp_path / "fx_rates.csv",
        ["日期", "币种", "汇率"],
        [
            {"日期": "2026/1/5", "币种": "美元", "汇率": "7.1"},
            {"日期": "2026-01-05", "币种": "USD", "汇率": "7.2"},  # same key, other spelling
            {"日期": "2026-01-05", "币种": "EUR", "汇率": "0"},
            {"日期": "2026-01-05", "币种": "HKD", "汇率": "0.91"},
        ],
    )
    res = ingest_file(con, fx, as_of=AS_OF, run_id="r")
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (4, 2, 2)
    assert con.execute(
        "SELECT source_row, record_key, kind, column_name FROM ops.quarantine WHERE entity = 'fx_rates' ORDER BY 1"
    ).fetchall() == [
        (2, "2026-01-05|USD", "duplicate_key", "rate_date,currency"),
        (3, "2026-01-05|EUR", "out_of_range", "rate_to_cny"),
    ]
    assert con.execute("SELECT _record_key, rate_to_cny FROM raw.fx_rates ORDER BY 1").fetchall() == [
        ("2026-01-05|HKD", 0.91),
        ("2026-01-05|USD", 7.1),
    ]


def test_float_range_and_record_key_fallback_to_text(con, tmp_path: Path):
    tasks = write_csv(
        tmp_path / "project_tasks.csv",
        ["task_id", "project_id", "name", "estimated_hours", "due_date", "status"],
        [
            {
                "task_id": "T1",
                "project_id": "P1",
                "name": "a",
                "estimated_hours": "2500",
                "due_date": "2026-05-01",
                "status": "todo",
            },
            {
                "task_id": "T2",
                "project_id": "P1",
                "name": "b",
                "estimated_hours": "-1.5",
                "due_date": "2026-05-01",
                "status": "done",
            },
            {
                "task_id": "T3",
                "project_id": "P1",
                "name": "c",
                "estimated_hours": "12.5",
                "due_date": "2026-05-01",
                "status": "已完成",
            },
        ],
    )
    ingest_file(con, tasks, as_of=AS_OF, run_id="r")
    assert quarantine(con) == [
        (1, "T1", "out_of_range", "estimated_hours"),
        (2, "T2", "out_of_range", "estimated_hours"),
    ]

    quotas = write_csv(
        tmp_path / "quotas.csv",
        ["user_id", "month", "quota_cny"],
        [{"user_id": "U1", "month": "2026-02-30", "quota_cny": "100万"}],
    )
    ingest_file(con, quotas, as_of=AS_OF, run_id="r")
    assert con.execute(
        "SELECT record_key, kind, column_name FROM ops.quarantine WHERE entity = 'quotas'"
    ).fetchall() == [("U1|2026-02-30", "bad_date_format", "month")]


def test_row_level_kinds_are_contract_kinds():
    assert set(ROW_LEVEL_KINDS) | {"orphan_fk"} == set(DEFECT_KINDS)
