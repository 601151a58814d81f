"""The demo data generator: determinism, coherence, manifest and truth, messy exports, arguments.

Every check reads the written files and recomputes what it needs from the source contract alone
(pandas / DuckDB), never from the generator's internals.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from contract import DEFECT_KINDS, ENTITIES, VOCABULARIES, Entity, codes, get_entity
from salescope.generator import generate

AS_OF = date(2026, 6, 30)
REPO = Path(__file__).resolve().parent.parent
STAGE_ORDER = ["initial_contact", "needs_confirmed", "proposal", "negotiation", "won", "contract_signed"]


# ---------------------------------------------------------------- helpers


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _read(drop: Path, entity: str) -> pd.DataFrame:
    """A clean csv file as text ('' = missing)."""
    return pd.read_csv(drop / f"{entity}.csv", dtype=str, keep_default_na=False)


def _keys(entity: Entity, df: pd.DataFrame) -> pd.Series:
    first, *rest = entity.primary_key
    out = df[first].copy()
    for col in rest:
        out = out + "|" + df[col]
    return out


def _row_defects(entity: Entity, df: pd.DataFrame, as_of: date) -> dict[int, set[str]]:
    """Row-level contract rules on a clean (utf-8) export: row index -> defect kinds found."""
    found: dict[int, set[str]] = {}

    def flag(mask: pd.Series, kind: str) -> None:
        for i in df.index[mask.to_numpy()]:
            found.setdefault(int(i), set()).add(kind)

    as_of_ts = pd.Timestamp(as_of)
    parsed: dict[str, pd.Series] = {}
    for c in entity.columns:
        s = df[c.name]
        present = s != ""
        if c.required:
            flag(~present, "missing_required")
        if c.type in ("int", "float", "amount"):
            num = pd.to_numeric(s.where(present), errors="coerce")
            ok = num.notna() if c.type != "int" else s.str.fullmatch(r"-?\d+")
            flag(present & ~ok, "bad_type")
            if c.type == "amount":
                flag(present & ok & (num < 0), "negative_amount")
            if c.min is not None:
                flag(present & ok & (num < c.min), "out_of_range")
            if c.max is not None:
                flag(present & ok & (num > c.max), "out_of_range")
        elif c.type == "enum":
            flag(present & ~s.isin(codes(c.vocab)), "unknown_category")
        elif c.type == "bool":
            flag(present & ~s.isin(["true", "false"]), "bad_type")
        elif c.type in ("date", "timestamp"):
            fmt = "%Y-%m-%d" if c.type == "date" else "%Y-%m-%d %H:%M:%S"
            value = pd.to_datetime(s.where(present), format=fmt, errors="coerce")
            parsed[c.name] = value
            flag(present & value.isna(), "bad_date_format")
            if c.name in entity.event_dates:
                flag(value.dt.normalize() > as_of_ts, "future_date")
    for earlier, later in entity.date_order:
        a, b = parsed[earlier], parsed[later]
        flag(a.notna() & b.notna() & (b < a), "date_order")
    flag(_keys(entity, df).duplicated(keep="first"), "duplicate_key")
    return found


def _orphans(drop: Path, frames: dict[str, pd.DataFrame]) -> set[tuple[str, str, str]]:
    out = set()
    for e in ENTITIES:
        df = frames[e.name]
        for fk in e.foreign_keys:
            (col,), (ref_col,) = fk.columns, fk.ref_columns
            parent = set(frames[fk.ref_entity][ref_col])
            bad = (df[col] != "") & ~df[col].isin(parent)
            for key in _keys(e, df[bad]):
                out.add((e.name, key, "orphan_fk"))
    return out


def _all_defects(
    drop: Path, as_of: date = AS_OF
) -> tuple[set[tuple[str, str, str]], dict[str, pd.DataFrame]]:
    frames = {e.name: _read(drop, e.name) for e in ENTITIES}
    found = set()
    for e in ENTITIES:
        keys = _keys(e, frames[e.name])
        for i, kinds in _row_defects(e, frames[e.name], as_of).items():
            found |= {(e.name, keys[i], k) for k in kinds}
    return found | _orphans(drop, frames), frames


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def clean(drop_factory):
    return drop_factory(scale=0.05, seed=7, defect_rate=0.0)


@pytest.fixture(scope="module")
def dirty(drop_factory):
    return drop_factory(scale=0.05, seed=11, defect_rate=0.05)


@pytest.fixture(scope="module")
def clean_frames(clean):
    drop, _ = clean
    found, frames = _all_defects(drop)
    return found, frames


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_csv(tmp_path, clean):
    drop, _ = clean
    again = tmp_path / "again"
    generate(again, scale=0.05, seed=7)
    assert _hashes(again) == _hashes(drop)
    other = tmp_path / "other"
    generate(other, scale=0.05, seed=8)
    differs = {k for k, v in _hashes(other).items() if _hashes(drop).get(k) != v}
    assert {"opportunities.csv", "activities.csv", "accounts.csv"} <= differs


def test_same_seed_gives_byte_identical_xlsx(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, scale=0.02, seed=3, fmt="xlsx", defect_rate=0.02)
    generate(b, scale=0.02, seed=3, fmt="xlsx", defect_rate=0.02)
    assert _hashes(a) == _hashes(b)
    assert len(list(a.glob("*.xlsx"))) == len(ENTITIES)


# ---------------------------------------------------------------- coherence at defect rate 0


def test_clean_drop_passes_every_contract_rule(clean, clean_frames):
    drop, manifest = clean
    found, frames = clean_frames
    assert manifest["defects"] == []
    assert not found, sorted(found)[:10]
    assert {p.name for p in drop.glob("*.csv")} == {f"{e.name}.csv" for e in ENTITIES}
    for e in ENTITIES:
        assert list(frames[e.name].columns) == e.column_names, e.name


def test_clean_drop_history_matches_opportunities(clean_frames):
    _, frames = clean_frames
    opp = frames["opportunities"].set_index("opportunity_id")
    hist = frames["opportunity_history"]
    assert hist["changed_at"].max() <= f"{AS_OF} 23:59:59"
    stages = hist[hist["field"] == "stage"].sort_values(["opportunity_id", "changed_at", "history_id"])
    first = stages.groupby("opportunity_id").head(1).set_index("opportunity_id")
    last = stages.groupby("opportunity_id").tail(1).set_index("opportunity_id")
    assert set(first.index) == set(opp.index)
    assert (first["to_stage"] == "initial_contact").all() and (first["from_stage"] == "").all()
    assert (first["changed_at"] == opp.loc[first.index, "created_at"]).all()
    assert (last["to_stage"] == opp.loc[last.index, "stage"]).all()
    # from_stage is the previous to_stage; regressions (moves back) and skips both occur
    prev = stages.groupby("opportunity_id")["to_stage"].shift()
    moves = stages[prev.notna()]
    assert (moves["from_stage"] == prev[prev.notna()]).all()
    rank = {s: i for i, s in enumerate(STAGE_ORDER)}
    fwd = moves[moves["to_stage"].isin(rank) & moves["from_stage"].isin(rank)]
    step = fwd["to_stage"].map(rank) - fwd["from_stage"].map(rank)
    assert (step < 0).sum() > 0, "no stage regressions"
    assert (step > 1).sum() > 0, "no stage skips"
    # closed_at: won_at for won/signed deals, lost_at for lost ones, empty for open ones
    won_at = stages[stages["to_stage"] == "won"].groupby("opportunity_id")["changed_at"].min()
    lost_at = stages[stages["to_stage"] == "lost"].groupby("opportunity_id")["changed_at"].min()
    signed_at = stages[stages["to_stage"] == "contract_signed"].groupby("opportunity_id")["changed_at"].min()
    is_won = opp["stage"].isin(["won", "contract_signed"])
    assert (opp.loc[is_won, "closed_at"] == won_at.reindex(opp.index[is_won])).all()
    is_lost = opp["stage"] == "lost"
    assert (opp.loc[is_lost, "closed_at"] == lost_at.reindex(opp.index[is_lost])).all()
    assert (opp.loc[~is_won & ~is_lost, "closed_at"] == "").all()
    signed = opp.index[opp["stage"] == "contract_signed"]
    assert (signed_at.reindex(signed) > won_at.reindex(signed)).all()
    # field changes: plain decimals and ISO dates; some pushes (expected close moved later)
    amounts = hist[hist["field"] == "amount"]
    assert (
        amounts["new_value"].str.fullmatch(r"\d+\.\d\d").all()
        and amounts["old_value"].str.fullmatch(r"\d+\.\d\d").all()
    )
    ecd = hist[hist["field"] == "expected_close_date"]
    assert pd.to_datetime(ecd["new_value"], format="%Y-%m-%d").notna().all()
    assert (ecd["new_value"] > ecd["old_value"]).mean() > 0.9


def test_clean_drop_contracts_delivery_and_cash(clean_frames):
    _, frames = clean_frames
    opp = frames["opportunities"].set_index("opportunity_id")
    contracts = frames["contracts"]
    signed = set(opp.index[opp["stage"] == "contract_signed"])
    assert set(contracts["opportunity_id"]) == signed and contracts["opportunity_id"].is_unique
    deal = opp.loc[contracts["opportunity_id"]]
    assert (contracts["account_id"] == deal["account_id"].to_numpy()).all()
    assert (contracts["contract_value"] == deal["amount"].to_numpy()).all()
    assert (contracts["currency"] == deal["currency"].to_numpy()).all()
    assert set(frames["projects"]["contract_id"]) <= set(contracts["contract_id"])
    inv = frames["invoices"].assign(amount=lambda d: d["amount"].astype(float))
    pay = frames["payments"].assign(amount=lambda d: d["amount"].astype(float))
    value = contracts.set_index("contract_id")["contract_value"].astype(float)
    billed = inv.groupby("contract_id")["amount"].sum()
    assert (billed <= value.reindex(billed.index) + 0.01).all()
    paid = pay.groupby("invoice_id")["amount"].sum()
    inv_amount = inv.set_index("invoice_id")["amount"]
    assert (paid <= inv_amount.reindex(paid.index) + 0.01).all()
    unpaid = inv_amount.sub(paid.reindex(inv_amount.index).fillna(0))
    assert (unpaid > 0.01).mean() > 0.05, "some invoices are unpaid or partly paid"
    late = pay.merge(frames["invoices"][["invoice_id", "due_date"]], on="invoice_id")
    assert (late["payment_date"] > late["due_date"]).mean() > 0.2, "some payments are late"


def test_clean_drop_org_fx_quotas(clean_frames):
    _, frames = clean_frames
    users = frames["users"]
    assert set(users["role"]) == set(codes("role"))
    assert users["team_id"].replace("", pd.NA).dropna().nunique() >= 2
    reps = users[users["role"] == "sales_rep"]
    managers = users.set_index("user_id")["role"]
    assert (managers.loc[reps["manager_id"]] == "sales_manager").all()
    assert set(frames["quotas"]["user_id"]) <= set(reps["user_id"])
    fx = frames["fx_rates"]
    days = pd.date_range(fx["rate_date"].min(), AS_OF)
    assert len(fx) == 4 * len(days) and set(fx["currency"]) == {"CNY", "USD", "EUR", "HKD"}
    assert (fx.loc[fx["currency"] == "CNY", "rate_to_cny"].astype(float) == 1).all()
    mean = fx.assign(r=fx["rate_to_cny"].astype(float)).groupby("currency")["r"].mean()
    assert abs(mean["USD"] - 7.2) < 0.5 and abs(mean["EUR"] - 7.8) < 0.6 and abs(mean["HKD"] - 0.92) < 0.07
    # every date anywhere (except planned future dates) is covered by the fx calendar
    opp = frames["opportunities"]
    assert opp["created_at"].min()[:10] >= fx["rate_date"].min()
    assert (opp["currency"] == "CNY").mean() > 0.6 and opp["currency"].nunique() == 4


# ---------------------------------------------------------------- manifest and truth


def test_manifest_rows_match_files(clean, dirty):
    for drop, manifest in (clean, dirty):
        assert set(manifest["rows"]) == {e.name for e in ENTITIES}
        con = duckdb.connect()
        for entity, n in manifest["rows"].items():
            got = con.execute(
                "SELECT count(*) FROM read_csv(?, all_varchar=true)", [str(drop / f"{entity}.csv")]
            ).fetchone()[0]
            assert got == n, entity
        assert manifest["as_of"] == AS_OF.isoformat() and manifest["format"] == "csv"
        text = (drop / "_manifest.json").read_text()
        assert json.loads(text) == manifest and list(json.loads(text)) == sorted(manifest)


def test_injected_defects_match_an_independent_check(dirty):
    drop, manifest = dirty
    recorded = {(d["entity"], d["record_key"], d["kind"]) for d in manifest["defects"]}
    assert len(recorded) == len(manifest["defects"])
    assert len({(d["entity"], d["record_key"]) for d in manifest["defects"]}) == len(recorded), (
        "one defect per row"
    )
    assert {d["kind"] for d in manifest["defects"]} == set(DEFECT_KINDS)
    assert not {d["entity"] for d in manifest["defects"]} & {"users", "fx_rates", "campaigns"}
    found, frames = _all_defects(drop)
    assert found == recorded, (sorted(recorded - found)[:5], sorted(found - recorded)[:5])
    for e in ENTITIES:  # about 5% of each entity's rows
        n = sum(1 for d in manifest["defects"] if d["entity"] == e.name)
        rows = manifest["rows"][e.name]
        if e.name not in {"users", "fx_rates", "campaigns"} and rows >= 200:
            assert 0.03 * rows <= n <= 0.07 * rows, e.name


def test_truth_covers_open_deals_and_customers(clean_frames, clean):
    drop, _ = clean
    _, frames = clean_frames
    opp = frames["opportunities"]
    outcomes = pd.read_csv(drop / "_truth" / "opportunity_outcomes.csv", dtype=str)
    assert list(outcomes.columns) == ["opportunity_id", "outcome", "closed_at"]
    open_ids = set(opp.loc[opp["closed_at"] == "", "opportunity_id"])
    assert set(outcomes["opportunity_id"]) == open_ids and outcomes["opportunity_id"].is_unique
    assert set(outcomes["outcome"]) == {"won", "lost"}
    assert (outcomes["closed_at"] > f"{AS_OF} 23:59:59").all()
    future = pd.read_csv(drop / "_truth" / "customer_future.csv", dtype={"account_id": str})
    for col in ("purchases_12m", "revenue_12m_cny", "purchase_rate", "dropout_prob", "alive_at_as_of"):
        assert col in future.columns
    customers = set(opp.loc[opp["stage"].isin(["won", "contract_signed"]), "account_id"])
    assert set(future["account_id"]) == customers and future["account_id"].is_unique
    assert (future["purchases_12m"] >= 0).all() and (future["revenue_12m_cny"] >= 0).all()
    assert ((future["purchases_12m"] > 0) == (future["revenue_12m_cny"] > 0)).all()


# ---------------------------------------------------------------- messy exports and parquet


def test_gb18030_csv_has_chinese_headers_and_messy_values(tmp_path):
    out = tmp_path / "gb"
    manifest = generate(out, scale=0.02, seed=5, encoding="gb18030")
    raw = (out / "opportunities.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    df = pd.read_csv(io.StringIO(raw.decode("gb18030")), dtype=str, keep_default_na=False)
    assert list(df.columns) == [c.zh for c in get_entity("opportunities").columns]
    assert len(df) == manifest["rows"]["opportunities"]
    created = df["创建时间"]
    assert created.str.contains("年").any() and created.str.contains("/").any()
    assert df["金额"].str.contains("万").any() and df["金额"].str.contains("¥").any()
    wan = df["金额"][df["金额"].str.endswith("万")].str[:-1].astype(float)
    assert ((wan * 10000).round(2) % 100 == 0).all()
    stage_zh = {t.zh for t in VOCABULARIES["stage"]}
    assert df["阶段"].isin(stage_zh).any() and df["阶段"].isin(codes("stage")).any()
    contacts = pd.read_csv(out / "contacts.csv", dtype=str, encoding="gb18030", keep_default_na=False)
    assert set(contacts["是否决策人"]) == {"是", "否"}
    with pytest.raises(ValueError, match="csv only"):
        generate(tmp_path / "x", scale=0.02, fmt="xlsx", encoding="gb18030")


def test_xlsx_is_readable_with_calamine(tmp_path):
    from python_calamine import CalamineWorkbook

    out = tmp_path / "x"
    manifest = generate(out, scale=0.02, seed=3, fmt="xlsx", defect_rate=0.02)
    for e in (get_entity("opportunities"), get_entity("invoices"), get_entity("activities")):
        rows = CalamineWorkbook.from_path(str(out / f"{e.name}.xlsx")).get_sheet_by_index(0).to_python()
        assert rows[0] == [c.zh for c in e.columns]
        assert len(rows) - 1 == manifest["rows"][e.name]
    rows = CalamineWorkbook.from_path(str(out / "invoices.xlsx")).get_sheet_by_index(0).to_python()
    kinds = {type(v).__name__ for r in rows[1:] for v in r[3:5]}
    assert {"date", "float", "str"} <= kinds  # date cells, serial numbers and text


def test_parquet_is_typed_except_where_defects_put_text(tmp_path):
    out = tmp_path / "pq"
    manifest = generate(out, scale=0.02, seed=4, fmt="parquet", defect_rate=0.05)
    types = {f.name: str(f.type) for f in pq.read_schema(out / "fx_rates.parquet")}
    assert types == {"rate_date": "date32[day]", "currency": "string", "rate_to_cny": "double"}
    opp = pq.read_table(out / "opportunities.parquet")
    assert opp.num_rows == manifest["rows"]["opportunities"]
    types = {f.name: str(f.type) for f in opp.schema}
    assert types["stage"] == "string" and types["currency"] == "string"
    # a column is text only where a defect put unreadable text into it
    text_kinds = {"bad_type", "bad_date_format"}
    has_text = any(d["entity"] == "opportunities" and d["kind"] in text_kinds for d in manifest["defects"])
    typed = {
        "amount": "decimal128(18, 2)",
        "probability": "int64",
        "created_at": "timestamp[us]",
        "expected_close_date": "date32[day]",
        "closed_at": "timestamp[us]",
    }
    as_text = {c for c in typed if types[c] == "string"}
    assert bool(as_text) == has_text
    assert all(types[c] == t for c, t in typed.items() if c not in as_text)
    clean = pq.read_table(out / "users.parquet").schema
    assert (
        str(clean.field("hire_date").type) == "date32[day]" and str(clean.field("is_active").type) == "bool"
    )


# ---------------------------------------------------------------- arguments and scale


def test_bad_arguments_are_rejected_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        generate(tmp_path, fmt="json")
    with pytest.raises(ValueError, match="positive"):
        generate(tmp_path, scale=-1)
    with pytest.raises(ValueError, match="encoding"):
        generate(tmp_path, encoding="latin-1")
    with pytest.raises(ValueError, match="defect rate"):
        generate(tmp_path, defect_rate=2)
    with pytest.raises(ValueError, match=r"activities.*Excel.*csv"):
        generate(tmp_path, scale=5, fmt="xlsx")
    assert not any(tmp_path.iterdir())


def test_another_as_of_date_cuts_everything_there(tmp_path):
    as_of = date(2024, 2, 29)
    out = tmp_path / "leap"
    manifest = generate(out, scale=0.02, seed=2, as_of=as_of)
    assert manifest["as_of"] == "2024-02-29"
    found, frames = _all_defects(out, as_of)
    assert not found, sorted(found)[:5]
    assert frames["opportunities"]["created_at"].min() >= "2021-03-01"
    assert frames["fx_rates"]["rate_date"].max() == "2024-02-29"


def test_small_scale_still_has_every_role_and_two_teams(clean):
    drop, manifest = clean
    users = _read(drop, "users")
    assert users["role"].value_counts().min() >= 1 and users["team_id"].replace("", pd.NA).nunique() >= 2
    assert manifest["rows"]["opportunities"] > 500 and manifest["rows"]["activities"] > 10_000


def test_generator_is_ruff_clean():
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists() and not shutil.which("ruff"):
        pytest.skip("ruff is not installed")
    result = subprocess.run(
        [str(ruff if ruff.exists() else "ruff"), "check", "salescope/generator", "tests/test_generator.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
