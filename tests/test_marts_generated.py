"""The analytics marts against an independent computation from the generator's source files.

One pipeline run (generate -> ingest -> dbt -> gate -> publish) on a small clean drop; every expected
number below is computed with pandas straight from the drop's CSV files, following METRICS.md's words,
never from the dbt models. Agreement is required within 0.1% (amounts) or exactly (counts).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from salescope.settings import Settings

pytestmark = pytest.mark.slow

SCALE, SEED = 0.05, 7  # pipeline_home's drop
ORDER = {
    "initial_contact": 1,
    "needs_confirmed": 2,
    "proposal": 3,
    "negotiation": 4,
    "won": 5,
    "contract_signed": 6,
}
REL = 1e-3  # 0.1%


# --- the run and the source files --------------------------------------------------------------------


class Source:
    """The drop's CSV files read with pandas, plus the few derived facts METRICS.md defines."""

    def __init__(self, folder, as_of: date):
        self.as_of = as_of
        self.end = pd.Timestamp(as_of) + pd.Timedelta(days=1)  # the whole as-of day counts

        def read(name, dates=()):
            df = pd.read_csv(folder / f"{name}.csv", encoding="utf-8")
            for col in dates:
                df[col] = pd.to_datetime(df[col])
            return df

        self.fx = read("fx_rates", ["rate_date"]).sort_values("rate_date")
        self.opps = read("opportunities", ["created_at"])
        self.history = read("opportunity_history", ["changed_at"])
        self.invoices = read("invoices", ["invoice_date", "due_date"])
        self.payments = read("payments", ["payment_date"])
        self.nps = read("nps_responses", ["responded_at"])
        self.spend = read("channel_spend", ["month"])
        self.users = read("users")
        self.deals = self._deals()

    def to_cny(self, df: pd.DataFrame, amount: str, currency: str, on: str) -> pd.Series:
        """amount × the rate of the day `on` (the last published rate on or before it); CNY is 1."""
        left = df[[on, currency]].reset_index().rename(columns={on: "_day", currency: "_cur"})
        left["_day"] = pd.to_datetime(left["_day"]).dt.normalize()
        rates = self.fx[self.fx["currency"] != "CNY"].rename(
            columns={"rate_date": "_day", "currency": "_cur"}
        )
        merged = pd.merge_asof(left.sort_values("_day"), rates, on="_day", by="_cur", direction="backward")
        rate = merged.set_index("index")["rate_to_cny"].reindex(df.index)
        rate = rate.where(df[currency] != "CNY", 1.0)
        return (df[amount] * rate).round(2)

    def _deals(self) -> pd.DataFrame:
        """One row per opportunity created by the as-of date: won_at, lost_at, furthest stage reached."""
        opps = self.opps[self.opps["created_at"] < self.end].copy()
        moves = self.history[(self.history["field"] == "stage") & (self.history["changed_at"] < self.end)]
        moves = moves.sort_values(["opportunity_id", "changed_at", "history_id"])
        won_at = (
            moves[moves["to_stage"].isin(["won", "contract_signed"])]
            .groupby("opportunity_id")["changed_at"]
            .min()
        )
        last = moves.groupby("opportunity_id").tail(1).set_index("opportunity_id")
        opps["won_at"] = opps["opportunity_id"].map(won_at)
        last_stage = opps["opportunity_id"].map(last["to_stage"])
        last_at = opps["opportunity_id"].map(last["changed_at"])
        opps["lost_at"] = last_at.where(opps["won_at"].isna() & (last_stage == "lost"))
        # furthest stage: every stage a move came from or went to (skipped stages count as passed)
        stages = pd.concat(
            [
                moves[["opportunity_id", "from_stage"]].rename(columns={"from_stage": "s"}),
                moves[["opportunity_id", "to_stage"]].rename(columns={"to_stage": "s"}),
            ]
        )
        stages["order"] = stages["s"].map(ORDER)
        furthest = stages.groupby("opportunity_id")["order"].max()
        opps["max_order"] = opps["opportunity_id"].map(furthest).fillna(1).astype(int)
        owners = self.users.set_index("user_id")
        opps["team_id"] = opps["owner_user_id"].map(owners["team_id"])
        opps["won_date"] = opps["won_at"].dt.normalize()
        opps["bookings_cny"] = self.to_cny(
            opps.assign(d=opps["won_date"].fillna(opps["created_at"])), "amount", "currency", "d"
        )
        return opps


@pytest.fixture(scope="module")
def run(pipeline_home, drop_factory):
    drop, manifest = drop_factory(scale=SCALE, seed=SEED, defect_rate=0.0)
    settings = Settings.from_env(pipeline_home)  # the session's clean pipeline run on this drop
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    yield con, Source(drop, date.fromisoformat(manifest["as_of"]))
    con.close()


def frame(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def month(ts: pd.Series) -> pd.Series:
    return ts.dt.to_period("M").dt.start_time.dt.date


# --- tests -------------------------------------------------------------------------------------------


def test_every_mart_is_published(run):
    from test_dbt_project import MARTS

    con, _ = run
    published = {
        t
        for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    assert published >= MARTS
    for name in MARTS:
        assert con.execute(f"select count(*) from marts.{name}").fetchone()[0] > 0, name


def test_bookings_per_month(run):
    con, src = run
    won = src.deals[src.deals["won_at"].notna()]
    expected = won.groupby(month(won["won_at"]))["bookings_cny"].sum()
    got = frame(con, "select month, bookings_cny, won_count from marts.mart_kpi_monthly").set_index("month")
    got.index = pd.to_datetime(got.index).date
    for m, value in expected.items():
        assert float(got.loc[m, "bookings_cny"]) == pytest.approx(value, rel=REL, abs=0.01), m
    assert float(got["bookings_cny"].sum()) == pytest.approx(expected.sum(), rel=REL)
    assert got["won_count"].sum() == len(won)


def test_mean_cycle_days_per_month(run):
    con, src = run
    won = src.deals[src.deals["won_at"].notna()].copy()
    won["cycle"] = (won["won_date"] - won["created_at"].dt.normalize()).dt.days
    expected = won.groupby(month(won["won_at"]))["cycle"].mean()
    got = frame(con, "select month, cycle_days_mean from marts.mart_kpi_monthly").set_index("month")[
        "cycle_days_mean"
    ]
    got.index = pd.to_datetime(got.index).date
    for m, value in expected.items():
        assert got[m] == pytest.approx(value, rel=1e-9), m


def test_win_rate_per_rep_and_quarter(run):
    con, src = run
    d = src.deals
    won = d[d["won_at"].notna()].assign(q=d["won_at"].dt.to_period("Q"), w=1, lost=0)
    lost = d[d["lost_at"].notna()].assign(q=d["lost_at"].dt.to_period("Q"), w=0, lost=1)
    closed = pd.concat([won, lost]).groupby(["owner_user_id", "q"])[["w", "lost"]].sum()
    expected = (closed["w"] / (closed["w"] + closed["lost"])).to_dict()

    got = frame(con, "select user_id, month, won_count, lost_count from marts.mart_rep_performance")
    got["q"] = pd.to_datetime(got["month"]).dt.to_period("Q")
    sums = got.groupby(["user_id", "q"])[["won_count", "lost_count"]].sum()
    sums = sums[sums["won_count"] + sums["lost_count"] > 0]
    actual = (sums["won_count"] / (sums["won_count"] + sums["lost_count"])).to_dict()
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, abs=1e-12), key
    # the boundary (a rep-quarter with only wins or only losses: 1 or 0, never NULL) is in the sample
    assert any(v in (0.0, 1.0) for v in actual.values()), "no rep-quarter with only wins or only losses"


def test_funnel_reached_and_passed_per_stage(run):
    con, src = run
    got = frame(
        con,
        "select stage, sum(reached_count) as reached, sum(passed_count) as passed "
        "from marts.mart_funnel group by stage",
    ).set_index("stage")
    for stage, order in ORDER.items():
        reached = int((src.deals["max_order"] >= order).sum())
        passed = int((src.deals["max_order"] > order).sum())
        assert (int(got.loc[stage, "reached"]), int(got.loc[stage, "passed"])) == (reached, passed), stage


def test_receivables_aging_totals(run):
    con, src = run
    inv = src.invoices[src.invoices["invoice_date"] < src.end].copy()
    pay = src.payments[src.payments["payment_date"] < src.end]
    inv["paid"] = inv["invoice_id"].map(pay.groupby("invoice_id")["amount"].sum()).fillna(0)
    inv["amount_cny"] = src.to_cny(inv, "amount", "currency", "invoice_date")
    inv["unpaid_cny"] = (
        inv["amount_cny"] * ((inv["amount"] - inv["paid"]) / inv["amount"]).clip(lower=0)
    ).round(2)
    overdue = (pd.Timestamp(src.as_of) - inv["due_date"]).dt.days
    buckets = pd.cut(
        overdue, [-(10**6), 0, 30, 60, 90, 10**6], labels=["current", "1_30", "31_60", "61_90", "over_90"]
    )
    expected = inv.groupby(buckets, observed=False)["unpaid_cny"].sum()
    got = (
        frame(
            con,
            "select sum(ar_current) as current, sum(ar_1_30), sum(ar_31_60), sum(ar_61_90), "
            "sum(ar_over_90), sum(invoiced_cny) from marts.mart_collections",
        )
        .iloc[0]
        .astype(float)
        .tolist()
    )
    assert got[:5] == pytest.approx(expected.tolist(), rel=REL, abs=1.0)
    assert got[5] == pytest.approx(inv["amount_cny"].sum(), rel=REL)
    # the invoice-grained fact agrees invoice by invoice
    fct = frame(
        con, "select invoice_id, unpaid_cny, aging_bucket, is_overdue from marts.fct_invoices"
    ).set_index("invoice_id")
    assert len(fct) == len(inv)
    mine = inv.set_index("invoice_id")
    assert fct["unpaid_cny"].astype(float).sort_index().tolist() == pytest.approx(
        mine["unpaid_cny"].sort_index().tolist(), abs=0.011
    )
    unpaid = mine["unpaid_cny"] > 0
    assert fct["is_overdue"].sum() == int((unpaid & (overdue.set_axis(mine.index) > 0)).sum())
    assert (fct.loc[~unpaid.reindex(fct.index).astype(bool), "aging_bucket"] == "paid").all()


def test_cohort_retention_at_months_1_3_12(run):
    con, src = run
    won = src.deals[src.deals["won_at"].notna()]
    first = won.groupby("account_id")["won_at"].min().dt.to_period("M")
    pay = src.payments[src.payments["payment_date"] < src.end]
    active = pd.concat(
        [
            won[["account_id"]].assign(m=won["won_at"].dt.to_period("M")),
            pay[["account_id"]].assign(m=pay["payment_date"].dt.to_period("M")),
        ]
    ).drop_duplicates()
    active = active[active["account_id"].isin(first.index)]
    active["k"] = (active["m"] - active["account_id"].map(first)).apply(lambda x: x.n)
    got = frame(
        con, "select cohort_month, month_offset, cohort_customers, retention from marts.mart_customer_cohorts"
    )
    got["cohort"] = pd.to_datetime(got["cohort_month"]).dt.to_period("M")
    got = got.set_index(["cohort", "month_offset"])
    sizes = first.value_counts()
    checked = 0
    for k in (1, 3, 12):
        retained = active[active["k"] == k].assign(c=lambda x: x["account_id"].map(first)).groupby("c").size()
        for cohort, size in sizes.items():
            if (cohort, k) not in got.index:
                continue  # month k is after the as-of month
            assert got.loc[(cohort, k), "cohort_customers"] == size
            assert got.loc[(cohort, k), "retention"] == pytest.approx(retained.get(cohort, 0) / size), (
                cohort,
                k,
            )
            checked += 1
    assert checked > 30


def test_nps_per_year_and_month(run):
    con, src = run
    r = src.nps[src.nps["responded_at"] < src.end]

    def nps(scores):
        return 100.0 * ((scores >= 9).sum() - (scores <= 6).sum()) / len(scores)

    got = frame(
        con, "select period_type, period_start, nps, responses from marts.mart_nps where segment_type = 'all'"
    )
    got["period_start"] = pd.to_datetime(got["period_start"])
    for period, freq in (("year", "Y"), ("month", "M")):
        expected = r.groupby(r["responded_at"].dt.to_period(freq))["score"].apply(nps)
        sub = got[got["period_type"] == period]
        rows = sub.set_index(sub["period_start"].dt.to_period(freq))["nps"]
        assert len(rows) == len(expected)
        for p, value in expected.items():
            assert rows[p] == pytest.approx(value, abs=1e-9), p
    per_response = frame(con, "select nps_category, count(*) as n from marts.fct_nps_responses group by 1")
    per_response = per_response.set_index("nps_category")["n"]
    assert per_response.sum() == len(r)
    assert per_response.get("promoter", 0) == (r["score"] >= 9).sum()
    assert per_response.get("detractor", 0) == (r["score"] <= 6).sum()


def test_channel_spend_and_bookings_totals(run):
    con, src = run
    spend = src.spend[src.spend["month"] < src.end].copy()
    spend["cny"] = src.to_cny(spend, "spend", "currency", "month")
    got = (
        frame(
            con,
            "select channel, sum(spend_cny) as spend, sum(bookings_first_touch_cny) as first, "
            "sum(bookings_last_touch_cny) as last, sum(bookings_linear_cny) as linear, "
            "sum(bookings_source_cny) as source, sum(opportunities) as opps from marts.mart_channel_roi "
            "group by channel",
        )
        .set_index("channel")
        .astype(float)
    )
    for channel, value in spend.groupby("channel")["cny"].sum().items():
        assert got.loc[channel, "spend"] == pytest.approx(value, rel=REL), channel
    won = src.deals[src.deals["won_at"].notna()]
    total = won["bookings_cny"].sum()
    for model in ("first", "last", "linear", "source"):  # every won deal credited exactly once per model
        assert got[model].sum() == pytest.approx(total, rel=REL), model
    for channel, value in won.groupby("lead_source")["bookings_cny"].sum().items():
        assert got.loc[channel, "source"] == pytest.approx(value, rel=REL), channel
    assert got["opps"].sum() == len(src.deals)


def test_pipeline_snapshots_match_open_deals(run):
    """Open as of D (created on or before D, neither won nor lost on or before D) on a few snapshot dates."""
    con, src = run
    d = src.deals
    dates = [
        r[0]
        for r in con.execute(
            "select distinct snapshot_date from marts.fct_pipeline_snapshots order by 1 desc limit 60"
        ).fetchall()
    ][::15]
    for day in dates:
        end = pd.Timestamp(day) + pd.Timedelta(days=1)
        open_ = d[(d["created_at"] < end) & ~(d["won_at"] < end) & ~(d["lost_at"] < end)]
        ids = {
            r[0]
            for r in con.execute(
                "select opportunity_id from marts.fct_pipeline_snapshots where snapshot_date = ?", [day]
            ).fetchall()
        }
        assert ids == set(open_["opportunity_id"]), day
    today = {r[0] for r in con.execute("select opportunity_id from marts.mart_deal_risk").fetchall()}
    open_now = d[d["won_at"].isna() & d["lost_at"].isna()]
    assert today == set(open_now["opportunity_id"])
