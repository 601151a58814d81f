"""Loads: idempotency, upserts, file-level errors, directory rules and orphan foreign keys."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion import ingest_directory, ingest_file, run_cross_checks

AS_OF = date(2026, 6, 30)

USERS = ["user_id", "name", "role", "is_active", "manager_id"]
ACCOUNTS = ["account_id", "account_name", "industry", "region", "owner_user_id", "created_at"]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def users_rows(n: int, *, name_suffix: str = "") -> list[list[str]]:
    return [
        [f"U{i}", f"user {i}{name_suffix}", "sales_rep", "1", "U1" if i > 1 else ""] for i in range(1, n + 1)
    ]


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def log(con) -> list[tuple]:
    return con.execute(
        "SELECT run_id, entity, file, status, rows_read, rows_loaded, rows_quarantined FROM ops.load_log "
        "ORDER BY loaded_at"
    ).fetchall()


def test_same_file_twice_is_unchanged_and_a_changed_file_upserts(con, tmp_path: Path):
    path = write_csv(tmp_path / "users.csv", USERS, users_rows(3))
    first = ingest_file(con, path, as_of=AS_OF, run_id="r1")
    second = ingest_file(con, path, as_of=AS_OF, run_id="r2")
    assert (first.status, first.rows_loaded) == ("loaded", 3)
    assert (second.status, second.rows_read, second.rows_loaded, second.rows_quarantined) == (
        "unchanged",
        0,
        0,
        0,
    )
    assert second.sha256 == first.sha256
    assert con.execute("SELECT count(*) FROM raw.users").fetchone() == (3,)

    # changed: U2 renamed, U3 dropped from the export, U4 new -> U3 stays (latest wins per key)
    rows = users_rows(4, name_suffix=" v2")
    del rows[2]
    write_csv(path, USERS, rows)
    third = ingest_file(con, path, as_of=AS_OF, run_id="r3")
    assert (third.status, third.rows_read, third.rows_loaded) == ("loaded", 3, 3)
    assert con.execute(
        "SELECT user_id, name, _load_id = ? FROM raw.users ORDER BY user_id", [third.load_id]
    ).fetchall() == [
        ("U1", "user 1 v2", True),
        ("U2", "user 2 v2", True),
        ("U3", "user 3", False),
        ("U4", "user 4 v2", True),
    ]
    # reverting to the first content reloads it: it is not the latest load any more
    write_csv(path, USERS, users_rows(3))
    fourth = ingest_file(con, path, as_of=AS_OF, run_id="r4")
    assert (fourth.status, fourth.sha256) == ("loaded", first.sha256)
    assert con.execute("SELECT name FROM raw.users WHERE user_id = 'U2'").fetchone() == ("user 2",)
    assert log(con) == [
        ("r1", "users", "users.csv", "loaded", 3, 3, 0),
        ("r2", "users", "users.csv", "unchanged", 0, 0, 0),
        ("r3", "users", "users.csv", "loaded", 3, 3, 0),
        ("r4", "users", "users.csv", "loaded", 3, 3, 0),
    ]


def test_directory_loads_recognised_files_records_errors_and_never_reads_underscore_files(
    con, tmp_path: Path
):
    write_csv(tmp_path / "users.csv", USERS, users_rows(2))
    write_csv(
        tmp_path / "客户.csv",
        ["客户编号", "客户名称", "行业", "区域", "负责人编号", "创建日期"],
        [["A1", "甲公司", "制造业", "华东", "U1", "2026/1/5"]],
        encoding="gb18030",
    )
    opp_header = [
        "opportunity_id",
        "account_id",
        "owner_user_id",
        "name",
        "lead_source",
        "product_line",
        "currency",
        "stage",
        "created_at",
        "expected_close_date",
    ]  # no amount
    write_csv(
        tmp_path / "opportunities.csv",
        opp_header,
        [["O1", "A1", "U1", "x", "web", "软件", "CNY", "谈判", "2026-01-01", "2026-09-01"]],
    )
    write_csv(tmp_path / "leads.csv", ["lead_id", "公司名称"], [["L1", "x"]])
    write_csv(tmp_path / "deals_export.csv", ["id"], [["1"]])
    (tmp_path / "invoices.xlsx").write_bytes(b"this is not a workbook")
    (tmp_path / "payments.csv").write_bytes(b"")
    (tmp_path / "_manifest.json").write_text("{not json")
    (tmp_path / ".hidden.csv").write_text("x\n1\n")
    (tmp_path / "~$users.xlsx").write_bytes(b"excel lock file")
    (tmp_path / "_truth").mkdir()
    write_csv(tmp_path / "_truth" / "users.csv", USERS, users_rows(50))
    messages: list[str] = []

    result = ingest_directory(con, tmp_path, as_of=AS_OF, run_id="r1", progress=messages.append)

    by_file = {f.file: f for f in result.files}
    assert sorted(by_file) == sorted(
        [
            "users.csv",
            "客户.csv",
            "opportunities.csv",
            "leads.csv",
            "deals_export.csv",
            "invoices.xlsx",
            "payments.csv",
        ]
    )
    assert len(messages) == 7
    assert (by_file["users.csv"].status, by_file["users.csv"].rows_loaded) == ("loaded", 2)
    assert (by_file["客户.csv"].status, by_file["客户.csv"].entity, by_file["客户.csv"].rows_loaded) == (
        "loaded",
        "accounts",
        1,
    )
    assert sorted(f.file for f in result.errors) == [
        "deals_export.csv",
        "invoices.xlsx",
        "leads.csv",
        "opportunities.csv",
        "payments.csv",
    ]

    unknown = by_file["deals_export.csv"].message
    assert (
        unknown.startswith("deals_export.csv:") and "opportunities (商机)" in unknown and "Rename" in unknown
    )
    assert by_file["opportunities.csv"].message == (
        "opportunities.csv: required column 'amount' (金额) is missing. Columns found: "
        + ", ".join(opp_header)
        + ". Add the column or rename a header to one of: amount, 金额, 商机金额, 预计金额."
    )
    leads = by_file["leads.csv"].message
    assert leads.startswith("leads.csv: 4 required columns are missing. Columns found: lead_id, 公司名称.")
    assert "'lead_source' (线索来源): one of lead_source, 线索来源, 来源" in leads
    assert by_file["invoices.xlsx"].message.startswith("invoices.xlsx: cannot be read as EXCEL")
    assert "empty" in by_file["payments.csv"].message

    # only the two good files reached raw; _truth/ was never read
    assert con.execute("SELECT count(*) FROM raw.users").fetchone() == (2,)
    assert con.execute("SELECT count(*) FROM raw.opportunities").fetchone() == (0,)
    assert con.execute(
        "SELECT count(*) FROM ops.load_log WHERE file LIKE '%manifest%' OR file LIKE '.%'"
    ).fetchone() == (0,)
    # every file has one log row, and conservation holds in each
    assert con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'error'), "
        "bool_and(rows_read = rows_loaded + rows_quarantined) FROM ops.load_log"
    ).fetchone() == (7, 5, True)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)


def test_csv_comment_like_rows_and_ragged_rows_are_never_dropped_silently(con, tmp_path: Path):
    path = tmp_path / "campaigns.csv"
    path.write_text(
        "campaign_id,name,channel,start_date,currency\n#1,a,web,2026-01-01,CNY\n2,b,web,2026-01-01,CNY\n"
    )
    res = ingest_file(con, path, as_of=AS_OF, run_id="r")
    assert (res.rows_read, res.rows_loaded) == (2, 2)
    assert con.execute("SELECT campaign_id FROM raw.campaigns ORDER BY 1").fetchall() == [("#1",), ("2",)]
    ragged = tmp_path / "nps_responses.csv"
    ragged.write_text("response_id,account_id,responded_at,score\nN1,A1,2026-01-01,9,extra\n")
    res = ingest_file(con, ragged, as_of=AS_OF, run_id="r")
    assert res.status == "error"
    assert res.message == (
        "nps_responses.csv: cannot be read as CSV: data row 1 (line 2) has 5 fields but the header has 4. "
        "Fix that row or re-export the file."
    )


def test_unreadable_csv_and_parquet_are_file_errors(con, tmp_path: Path):
    (tmp_path / "leads.csv").write_bytes(b"\x00\x01\x02binary\x00")
    (tmp_path / "documents.parquet").write_bytes(b"PAR1 not really")
    res_csv = ingest_file(con, tmp_path / "leads.csv", as_of=AS_OF, run_id="r")
    res_pq = ingest_file(con, tmp_path / "documents.parquet", as_of=AS_OF, run_id="r")
    assert res_csv.status == res_pq.status == "error"
    assert res_csv.message.startswith("leads.csv: ") and "binary" in res_csv.message
    assert res_pq.message.startswith("documents.parquet: cannot be read as PARQUET")
    assert ingest_file(con, tmp_path / "nope.csv", as_of=AS_OF, run_id="r").status == "error"


def test_orphan_foreign_keys_are_flagged_once_per_run(con, tmp_path: Path):
    write_csv(tmp_path / "users.csv", USERS, [["U1", "a", "rep", "1", ""], ["U2", "b", "rep", "1", "U9"]])
    write_csv(
        tmp_path / "accounts.csv",
        ACCOUNTS,
        [["A1", "甲", "it", "east", "U1", "2026-01-01"], ["A2", "乙", "it", "east", "U7", "2026-01-01"]],
    )
    write_csv(
        tmp_path / "contacts.csv",
        ["contact_id", "account_id", "name", "is_decision_maker", "created_at"],
        [["C1", "A1", "x", "否", "2026-01-02"], ["C2", "A3", "y", "是", "2026-01-02"]],
    )
    ingest_directory(con, tmp_path, as_of=AS_OF, run_id="r1")
    assert run_cross_checks(con, run_id="r1") == 3
    assert run_cross_checks(con, run_id="r1") == 3  # no duplicates within a run
    assert con.execute(
        """SELECT entity, record_key, column_name, severity, action, detail, source_file, source_row
           FROM quality.issues WHERE kind = 'orphan_fk' ORDER BY entity, record_key"""
    ).fetchall() == [
        (
            "accounts",
            "A2",
            "owner_user_id",
            "warning",
            "flagged",
            "owner_user_id 'U7' has no matching users.user_id (the row is loaded)",
            "accounts.csv",
            2,
        ),
        (
            "contacts",
            "C2",
            "account_id",
            "warning",
            "flagged",
            "account_id 'A3' has no matching accounts.account_id (the row is loaded)",
            "contacts.csv",
            2,
        ),
        (
            "users",
            "U2",
            "manager_id",
            "warning",
            "flagged",
            "manager_id 'U9' has no matching users.user_id (the row is loaded)",
            "users.csv",
            2,
        ),
    ]
    # the rows stay loaded
    assert con.execute("SELECT count(*) FROM raw.contacts").fetchone() == (2,)
    # a later run records its own findings; fixing the parent clears the orphan
    write_csv(
        tmp_path / "users.csv",
        USERS,
        [["U1", "a", "rep", "1", ""], ["U2", "b", "rep", "1", "U9"], ["U7", "c", "rep", "1", ""]],
    )
    ingest_directory(con, tmp_path, as_of=AS_OF, run_id="r2")
    assert run_cross_checks(con, run_id="r2") == 2
    assert con.execute("SELECT run_id, count(*) FROM quality.issues GROUP BY 1 ORDER BY 1").fetchall() == [
        ("r1", 3),
        ("r2", 2),
    ]


def test_a_file_with_future_dates_is_judged_again_under_a_later_as_of(con, tmp_path: Path):
    path = write_csv(
        tmp_path / "accounts.csv",
        ACCOUNTS,
        [["A1", "甲", "it", "east", "U1", "2026-06-01"], ["A2", "乙", "it", "east", "U1", "2026-07-02"]],
    )
    first = ingest_file(con, path, as_of=AS_OF, run_id="r1")
    assert (first.rows_loaded, first.rows_quarantined) == (1, 1)
    assert ingest_file(con, path, as_of=AS_OF, run_id="r2").status == "unchanged"
    later = ingest_file(con, path, as_of=date(2026, 7, 31), run_id="r3")
    assert (later.status, later.rows_loaded, later.rows_quarantined) == ("loaded", 2, 0)
    assert ingest_file(con, path, as_of=date(2026, 8, 31), run_id="r4").status == "unchanged"
    assert con.execute("SELECT count(*) FROM raw.accounts").fetchone() == (2,)


def test_orphans_of_a_quarantined_parent_point_to_the_parent(con, tmp_path: Path):
    write_csv(
        tmp_path / "accounts.csv",
        ACCOUNTS,
        [
            ["A1", "甲", "it", "east", "U1", "2026-01-01"],
            ["A2", "乙", "not-an-industry", "east", "U1", "2026-01-01"],
        ],
    )
    write_csv(
        tmp_path / "contacts.csv",
        ["contact_id", "account_id", "name", "is_decision_maker", "created_at"],
        [["C1", "A2", "x", "否", "2026-01-02"]],
    )
    ingest_directory(con, tmp_path, as_of=AS_OF, run_id="r1")
    assert run_cross_checks(con, run_id="r1") == 2  # the contact, and the accounts' owner U1 (no users file)
    assert con.execute(
        "SELECT record_key, detail FROM quality.issues WHERE kind = 'orphan_fk' AND entity = 'contacts'"
    ).fetchall() == [
        (
            "C1",
            "account_id 'A2' has no matching accounts.account_id because that accounts row was quarantined; "
            "fix it in the accounts file (the row is loaded)",
        )
    ]
