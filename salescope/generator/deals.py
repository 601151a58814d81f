"""Opportunities and their change history: new business plus repeat purchases, each simulated to its
close (past as_of when needed), with amount revisions and expected-close-date pushes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from contract import codes
from salescope.generator import demand as dm
from salescope.generator import lifecycle as lf
from salescope.generator import names, tables
from salescope.generator.accounts import CURRENCIES, LEAD_SOURCES, Accounts
from salescope.generator.fx import Fx
from salescope.generator.org import Org
from salescope.generator.rng import lognormal, stream
from salescope.generator.timeline import DAY, Timeline, business_seconds

HISTORY_FIELDS = codes("history_field")  # stage, amount, expected_close_date
STAGE_PROBABILITY = np.array([10, 20, 40, 60, 100, 100, 0])  # rep-entered probability by stage
NEW_BUSINESS_INTENSITY = 6.0  # calibrates deal volume (scale 1 ~ 20,000 deals)
MAX_PUSHES = 8


@dataclass
class Deals:
    n: int
    n_exported: int  # deals 0..n_exported-1 were created on or before as_of (ids OPP-0000001 ...)
    acc: np.ndarray
    owner0: np.ndarray
    repeat: np.ndarray
    lead_source: np.ndarray
    product_line: np.ndarray
    currency: np.ndarray
    amount0: np.ndarray  # cents, in the deal currency, at creation
    final_amount: np.ndarray  # cents, after every revision (what a won deal books)
    lc: lf.Lifecycle
    ecd0: np.ndarray  # initial expected close day
    a_deal: np.ndarray  # amount revisions
    a_ts: np.ndarray
    a_old: np.ndarray
    a_new: np.ndarray
    p_deal: np.ndarray  # expected close date changes (pushes)
    p_ts: np.ndarray
    p_old: np.ndarray
    p_new: np.ndarray
    g_dropout: np.ndarray  # per account: BG/NBD repeat purchase after which it drops out (0: not a customer)
    first_win_day: np.ndarray  # per account, -1 if never won within the simulated horizon
    opp_id: pa.Array  # ids of the exported deals

    @property
    def created_day(self) -> np.ndarray:
        return self.lc.created_ts // DAY

    @property
    def close_day(self) -> np.ndarray:
        return self.lc.close_ts // DAY


def _concat_demand(a: dm.Demand, b: dm.Demand) -> dm.Demand:
    spec = lf.DealSpec(
        **{
            f: np.concatenate([getattr(a.spec, f), getattr(b.spec, f)])
            for f in lf.DealSpec.__dataclass_fields__
        }
    )
    return dm.Demand(
        spec,
        np.concatenate([a.lead_source, b.lead_source]),
        np.concatenate([a.product_line, b.product_line]),
        np.concatenate([a.amount_cny, b.amount_cny]),
    )


def _take_demand(d: dm.Demand, idx: np.ndarray) -> dm.Demand:
    spec = lf.DealSpec(**{f: getattr(d.spec, f)[idx] for f in lf.DealSpec.__dataclass_fields__})
    return dm.Demand(spec, d.lead_source[idx], d.product_line[idx], d.amount_cny[idx])


def _round_amount(rng, x: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Cents: CNY quotes mostly in thousands (some to the fen), other currencies in hundreds."""
    precise = (currency == 0) & (rng.random(x.size) < 0.15)
    unit = np.where(currency == 0, 1000.0, 100.0)
    rounded = np.maximum(np.round(x / unit), 1) * unit
    return np.where(precise, np.round(x * 100), np.round(rounded * 100)).astype(np.int64)


def build_deals(tl: Timeline, seed: int, org: Org, accounts: Accounts, fx: Fx) -> Deals:
    rng = stream(seed, "deals")
    horizon = tl.horizon_day
    new = dm.new_business(rng, accounts, org, horizon, NEW_BUSINESS_INTENSITY)
    new.amount_cny = np.maximum(new.amount_cny, 20_000.0)
    lc_new = lf.simulate(rng, new.spec)

    # once an account has won, its later new-business chances become repeat purchases instead
    first_won_ts = np.full(accounts.n, np.iinfo(np.int64).max)
    np.minimum.at(first_won_ts, new.spec.acc[lc_new.won], lc_new.won_ts[lc_new.won])
    keep = np.flatnonzero(lc_new.created_ts <= first_won_ts[new.spec.acc])
    lc_new = lf.reorder(lc_new, keep)
    new = _take_demand(new, keep)
    is_customer = first_won_ts < np.iinfo(np.int64).max
    first_win_day = np.where(is_customer, first_won_ts // DAY, -1)

    rng_rep = stream(seed, "repeat")
    rep = dm.repeat_purchases(rng_rep, accounts, org, first_win_day, horizon)
    rep.demand.amount_cny = np.maximum(rep.demand.amount_cny, 20_000.0)
    lc_rep = lf.simulate(rng_rep, rep.demand.spec)
    t1 = first_win_day[rep.demand.spec.acc]
    lf.shift_days(lc_rep, np.maximum(0, t1 + 1 - lc_rep.created_ts // DAY))

    lc = lf.concat(lc_new, lc_rep)
    d = _concat_demand(new, rep.demand)
    order = np.lexsort((np.arange(lc.n), lc.created_ts))
    lc = lf.reorder(lc, order)
    d = _take_demand(d, order)
    n = lc.n
    n_exp = int(np.searchsorted(lc.created_ts, tl.cutoff_ts, side="left"))

    acc = d.spec.acc
    created_day = lc.created_ts // DAY
    close_day = lc.close_ts // DAY
    currency = np.where(rng.random(n) < 0.85, accounts.currency[acc], 0)
    amount0 = _round_amount(rng, d.amount_cny / fx.rate(currency, created_day), currency)

    # amount revisions (mostly discounts during negotiation)
    n_rev = np.where(close_day - created_day >= 4, rng.choice(3, size=n, p=[0.71, 0.22, 0.07]), 0)
    a_deal = np.repeat(np.arange(n), n_rev)
    frac = np.sort(rng.uniform(0.15, 0.95, size=(n, 2)), axis=1)
    rank = np.arange(a_deal.size) - np.concatenate([[0], np.cumsum(n_rev)[:-1]])[a_deal]
    span = close_day[a_deal] - created_day[a_deal]
    a_day = created_day[a_deal] + np.clip(np.ceil(frac[a_deal, rank] * span), 1, span - 1).astype(np.int64)
    a_ts = a_day * DAY + business_seconds(rng, a_deal.size)
    a_old = np.empty(a_deal.size, dtype=np.int64)
    a_new = np.empty(a_deal.size, dtype=np.int64)
    current = amount0.copy()
    for r in (0, 1):
        sel = np.flatnonzero(rank == r)
        dd = a_deal[sel]
        a_old[sel] = current[dd]
        proposed = current[dd] / 100.0 * lognormal(rng, 0.96, 0.12, sel.size)
        a_new[sel] = _round_amount(rng, proposed, currency[dd])
        same = a_new[sel] == a_old[sel]
        a_new[sel[same]] += np.where(currency[dd[same]] == 0, 100_000, 10_000)
        current[dd] = a_new[sel]
    final_amount = current

    # expected close date: optimistic at first, pushed later each time it passes while the deal is open
    planned = STAGE_PLAN_DAYS * d.spec.pace * lognormal(rng, 0.85, 0.35, n)
    ecd0 = created_day + np.maximum(14, np.round(planned)).astype(np.int64)
    cur = ecd0.copy()
    alive = np.ones(n, dtype=bool)
    p_parts = []
    for _ in range(MAX_PUSHES):
        push_day = np.maximum(cur + rng.integers(-5, 11, size=n), created_day + 1)
        ok = alive & (cur + 3 < close_day) & (push_day < close_day)
        new_ecd = push_day + np.maximum(7, np.round(lognormal(rng, 35.0, 0.5, n))).astype(np.int64)
        idx = np.flatnonzero(ok)
        p_parts.append((idx, push_day[idx], cur[idx], new_ecd[idx]))
        cur[idx] = new_ecd[idx]
        alive &= ok
    p_deal = np.concatenate([p[0] for p in p_parts])
    p_day = np.concatenate([p[1] for p in p_parts])
    p_old = np.concatenate([p[2] for p in p_parts])
    p_new = np.concatenate([p[3] for p in p_parts])
    p_ts = p_day * DAY + business_seconds(rng, p_deal.size)

    return Deals(
        n=n,
        n_exported=n_exp,
        acc=acc,
        owner0=d.spec.owner0,
        repeat=d.spec.repeat,
        lead_source=d.lead_source,
        product_line=d.product_line,
        currency=currency,
        amount0=amount0,
        final_amount=final_amount,
        lc=lc,
        ecd0=ecd0,
        a_deal=a_deal,
        a_ts=a_ts,
        a_old=a_old,
        a_new=a_new,
        p_deal=p_deal,
        p_ts=p_ts,
        p_old=p_old,
        p_new=p_new,
        g_dropout=rep.purchases_until_dropout,
        first_win_day=first_win_day,
        opp_id=tables.seq_ids("opportunities", n_exp),
    )


STAGE_PLAN_DAYS = float(lf.STAGE_MEDIAN_DAYS.sum())


def _state_at(deals: Deals, cutoff_ts: int):
    """Per exported deal: current stage, amount (cents) and expected close day as of the cutoff."""
    n = deals.n_exported
    lc = deals.lc
    sel = (lc.e_deal < n) & (lc.e_ts < cutoff_ts)
    last = tables.last_per_group(lc.e_deal[sel], lc.e_ts[sel], n)
    stage = lc.e_stage[np.flatnonzero(sel)][last]
    amount = deals.amount0[:n].copy()
    a_sel = np.flatnonzero((deals.a_deal < n) & (deals.a_ts < cutoff_ts))
    last_a = tables.last_per_group(deals.a_deal[a_sel], deals.a_ts[a_sel], n)
    has = last_a >= 0
    amount[has] = deals.a_new[a_sel[last_a[has]]]
    ecd = deals.ecd0[:n].copy()
    p_sel = np.flatnonzero((deals.p_deal < n) & (deals.p_ts < cutoff_ts))
    last_p = tables.last_per_group(deals.p_deal[p_sel], deals.p_ts[p_sel], n)
    has = last_p >= 0
    ecd[has] = deals.p_new[p_sel[last_p[has]]]
    return stage, amount, ecd


def opportunities_table(
    tl: Timeline,
    seed: int,
    deals: Deals,
    accounts: Accounts,
    org: Org,
    lead_index: np.ndarray,
    lead_id: pa.Array,
) -> pa.Table:
    rng = stream(seed, "opportunities")
    n = deals.n_exported
    cutoff = tl.cutoff_ts
    lc = deals.lc
    stage, amount, ecd = _state_at(deals, cutoff)
    won_ts, lost_ts = lc.won_ts[:n], lc.lost_ts[:n]
    won_by = (won_ts >= 0) & (won_ts < cutoff)
    lost_by = (lost_ts >= 0) & (lost_ts < cutoff)
    closed = np.where(won_by, won_ts, np.where(lost_by, lost_ts, 0))
    prob = np.clip(
        STAGE_PROBABILITY[stage] + np.where(stage < lf.WON, rng.integers(-2, 3, size=n) * 5, 0), 0, 100
    )
    owner = org.owner_at(deals.owner0[:n], np.minimum(lc.close_ts[:n] // DAY, tl.as_of_day))
    acc = deals.acc[:n]
    short = np.array(accounts.short_name, dtype=object)[acc]
    items = np.empty(n, dtype=object)
    for p, words in enumerate(dm.PRODUCT_LINES):
        sel = np.flatnonzero(deals.product_line[:n] == p)
        items[sel] = names.pick(rng, names.PRODUCT_ITEMS[words], sel.size)
    phase = np.where(deals.repeat[:n] & (rng.random(n) < 0.35), "二期", "")
    opp_names = [f"{a}{b}{c}" for a, b, c in zip(short, items, phase, strict=True)]
    return tables.build(
        "opportunities",
        {
            "opportunity_id": deals.opp_id,
            "account_id": accounts.account_id.take(pa.array(acc)),
            "lead_id": tables.take_ids(lead_id, lead_index[:n]),
            "owner_user_id": tables.take_ids(org.user_id, owner),
            "name": tables.strings(opp_names),
            "lead_source": tables.codes(LEAD_SOURCES, deals.lead_source[:n]),
            "product_line": tables.codes(dm.PRODUCT_LINES, deals.product_line[:n]),
            "amount": tables.cents(amount),
            "currency": tables.codes(CURRENCIES, deals.currency[:n]),
            "stage": tables.codes(lf.STAGES, stage),
            "probability": tables.ints(prob, mask=rng.random(n) < 0.08),
            "created_at": tables.timestamps(lc.created_ts[:n]),
            "expected_close_date": tables.dates(ecd),
            "closed_at": tables.timestamps(closed, mask=~(won_by | lost_by)),
            "lost_reason": tables.strings(
                names.pick(rng, names.LOST_REASONS, n), mask=~lost_by | (rng.random(n) < 0.1)
            ),
        },
    )


def history_table(tl: Timeline, seed: int, deals: Deals, org: Org) -> pa.Table:
    rng = stream(seed, "opportunity_history")
    n = deals.n_exported
    cutoff = tl.cutoff_ts
    lc = deals.lc
    s_sel = np.flatnonzero((lc.e_deal < n) & (lc.e_ts < cutoff))
    s_deal = lc.e_deal[s_sel]
    prev_same = np.zeros(s_sel.size, dtype=bool)
    prev_same[1:] = s_deal[1:] == s_deal[:-1]
    prev_stage = np.where(prev_same, np.roll(lc.e_stage[s_sel], 1), 0)
    a_sel = np.flatnonzero((deals.a_deal < n) & (deals.a_ts < cutoff))
    p_sel = np.flatnonzero((deals.p_deal < n) & (deals.p_ts < cutoff))

    deal = np.concatenate([s_deal, deals.a_deal[a_sel], deals.p_deal[p_sel]])
    ts = np.concatenate([lc.e_ts[s_sel], deals.a_ts[a_sel], deals.p_ts[p_sel]])
    field = np.concatenate(
        [np.zeros(s_sel.size, np.int64), np.ones(a_sel.size, np.int64), np.full(p_sel.size, 2, np.int64)]
    )
    order = np.lexsort((field, ts, deal))
    m = deal.size
    to_stage = np.concatenate([lc.e_stage[s_sel], np.zeros(a_sel.size + p_sel.size, np.int64)])
    from_stage = np.concatenate([prev_stage, np.zeros(a_sel.size + p_sel.size, np.int64)])
    from_null = np.concatenate([~prev_same, np.ones(a_sel.size + p_sel.size, bool)])
    to_null = field != 0
    old_text = pa.concat_arrays(
        [
            pa.nulls(s_sel.size, pa.string()),
            tables.amount_text(deals.a_old[a_sel]),
            tables.date_text(deals.p_old[p_sel]),
        ]
    )
    new_text = pa.concat_arrays(
        [
            pa.nulls(s_sel.size, pa.string()),
            tables.amount_text(deals.a_new[a_sel]),
            tables.date_text(deals.p_new[p_sel]),
        ]
    )
    owner = org.owner_at(deals.owner0[deal], ts // DAY)
    who = rng.random(m)
    by = np.where(who < 0.92, owner, np.where(who < 0.98, org.manager[owner], -1))
    o = pa.array(order)
    return tables.build(
        "opportunity_history",
        {
            "history_id": tables.seq_ids("opportunity_history", m),
            "opportunity_id": deals.opp_id.take(pa.array(deal[order])),
            "changed_at": tables.timestamps(ts[order]),
            "field": tables.codes(HISTORY_FIELDS, field[order]),
            "from_stage": tables.codes(lf.STAGES, from_stage[order], mask=from_null[order]),
            "to_stage": tables.codes(lf.STAGES, to_stage[order], mask=to_null[order]),
            "old_value": old_text.take(o),
            "new_value": new_text.take(o),
            "changed_by": tables.take_ids(org.user_id, by[order]),
        },
    )
