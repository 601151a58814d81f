"""Marketing: campaigns, leads (converted into new-business deals or not) and monthly channel spend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from contract import codes
from salescope.generator import names, tables
from salescope.generator.accounts import CURRENCIES, LEAD_SOURCES, Accounts, growth_days
from salescope.generator.deals import Deals
from salescope.generator.fx import Fx
from salescope.generator.org import REGIONS, Org
from salescope.generator.rng import choice_index, lognormal, stream
from salescope.generator.timeline import DAY, Timeline, business_seconds, date_of, month_start

LEAD_STATUSES = codes("lead_status")  # new, qualified, converted, disqualified
# campaigns per year at scale 1, duration range (days), typical budget (CNY)
CAMPAIGN_PLAN = {
    "trade_show": (6, (2, 4), 300_000),
    "event": (10, (1, 1), 60_000),
    "ads": (8, (30, 90), 200_000),
    "social": (6, (30, 60), 80_000),
    "wechat": (5, (14, 60), 50_000),
    "email": (5, (1, 7), 20_000),
    "website": (2, (60, 180), 100_000),
    "partner": (2, (1, 2), 150_000),
}
COST_PER_LEAD = dict(zip(LEAD_SOURCES, [800, 3500, 300, 1500, 600, 400, 200, 1000, 2500, 1200], strict=True))
# lead sources of leads that never become deals (more paid, low-intent traffic)
RAW_LEAD_WEIGHTS = [0.18, 0.08, 0.04, 0.20, 0.14, 0.06, 0.08, 0.12, 0.06, 0.04]


@dataclass
class Marketing:
    campaigns: pa.Table
    leads: pa.Table
    channel_spend: pa.Table
    lead_id: pa.Array
    deal_lead: np.ndarray  # per deal: index of its lead in lead_id (-1: none)


def _campaigns(rng, tl: Timeline, scale: float, fx: Fx):
    years = (tl.as_of_day - tl.start_day) / 365.0
    rows = []
    for ch, (per_year, (dmin, dmax), budget) in CAMPAIGN_PLAN.items():
        k = max(2, round(per_year * years * scale))
        start = rng.integers(tl.start_day - 30, tl.as_of_day - 5, size=k)
        dur = rng.integers(dmin, dmax + 1, size=k)
        open_ended = (rng.random(k) < 0.1) & (dmax >= 30)
        cur = np.where((ch == "trade_show") & (rng.random(k) < 0.25), rng.integers(1, 3, size=k), 0)
        amount = budget * lognormal(rng, 1.0, 0.4, k) / fx.rate(cur, start)
        rows.append((np.full(k, LEAD_SOURCES.index(ch)), start, start + dur - 1, open_ended, cur, amount))
    ch, start, end, open_ended, cur, amount = (np.concatenate(x) for x in zip(*rows, strict=True))
    order = np.lexsort((ch, start))
    ch, start, end, open_ended, cur, amount = (x[order] for x in (ch, start, end, open_ended, cur, amount))
    n = ch.size
    cities = names.pick(rng, sum(names.REGION_CITIES.values(), []), n)
    labels = []
    for i in range(n):
        d = date_of(start[i])
        word = names.CAMPAIGN_WORDS[LEAD_SOURCES[ch[i]]]
        if LEAD_SOURCES[ch[i]] in ("trade_show", "event", "partner"):
            labels.append(f"{d.year}{cities[i]}{word}")
        else:
            labels.append(f"{d.year}年Q{(d.month - 1) // 3 + 1}{word}")
    table = tables.build(
        "campaigns",
        {
            "campaign_id": tables.seq_ids("campaigns", n),
            "name": tables.strings(labels),
            "channel": tables.codes(LEAD_SOURCES, ch),
            "start_date": tables.dates(start),
            "end_date": tables.dates(end, mask=open_ended),
            "budget": tables.cents(
                tables.to_cents(tables.round_money(amount, 1000)), mask=rng.random(n) < 0.05
            ),
            "currency": tables.codes(CURRENCIES, cur),
        },
    )
    return table, ch, start, np.where(open_ended, np.iinfo(np.int64).max // 2, end)


def build_marketing(
    tl: Timeline, scale: float, seed: int, org: Org, accounts: Accounts, deals: Deals, fx: Fx
) -> Marketing:
    rng = stream(seed, "marketing")
    campaigns, c_ch, c_start, c_end = _campaigns(rng, tl, scale, fx)

    # converted leads: most new-business deals start from a lead
    nd = deals.n
    newbiz = np.flatnonzero(~deals.repeat)  # deals are in creation order
    _, first_pos = np.unique(deals.acc[newbiz], return_index=True)
    first_of_acc = np.zeros(nd, dtype=bool)
    first_of_acc[newbiz[first_pos]] = True
    with_lead = ~deals.repeat & (rng.random(nd) < np.where(first_of_acc, 0.92, 0.75))
    d_idx = np.flatnonzero(with_lead)
    lag_days = np.clip(np.round(lognormal(rng, 5.0, 0.9, d_idx.size)), 0, 60).astype(np.int64)
    conv_created = (deals.lc.created_ts[d_idx] // DAY - lag_days) * DAY + business_seconds(rng, d_idx.size)
    conv_created = np.minimum(conv_created, deals.lc.created_ts[d_idx] - 600)

    # leads that did not (yet) become deals
    n_raw = int(round(1.3 * d_idx.size))
    raw_day = growth_days(rng, n_raw, tl.start_day, tl.as_of_day + 1)
    raw_created = raw_day * DAY + business_seconds(rng, n_raw)
    raw_source = choice_index(rng, RAW_LEAD_WEIGHTS, n_raw)
    linked = rng.random(n_raw) < 0.25
    n_before = np.searchsorted(accounts.created_day, raw_day, side="right")
    linked &= n_before > 0
    raw_acc = np.where(linked, np.floor(rng.random(n_raw) * np.maximum(n_before, 1)).astype(np.int64), -1)
    team_regions = np.unique(org.team_region)
    raw_region = np.where(
        linked,
        accounts.region[np.maximum(raw_acc, 0)],
        team_regions[rng.integers(0, team_regions.size, n_raw)],
    )
    raw_owner = org.assign_rep(rng, raw_region, raw_day)

    created = np.concatenate([conv_created, raw_created])
    keep = np.flatnonzero(created < tl.cutoff_ts)
    order = keep[np.lexsort((keep, created[keep]))]
    m = order.size
    is_conv = order < d_idx.size
    conv_pos = np.where(is_conv, order, 0)
    raw_pos = np.where(is_conv, 0, order - d_idx.size)
    deal_of = np.where(is_conv, d_idx[conv_pos], -1)
    created = created[order]
    source = np.where(is_conv, deals.lead_source[np.maximum(deal_of, 0)], raw_source[raw_pos])
    acc = np.where(is_conv, deals.acc[np.maximum(deal_of, 0)], raw_acc[raw_pos])
    owner = np.where(is_conv, deals.owner0[np.maximum(deal_of, 0)], raw_owner[raw_pos])
    converted_ts = np.where(is_conv, deals.lc.created_ts[np.maximum(deal_of, 0)], -1)
    converted = is_conv & (converted_ts < tl.cutoff_ts)

    age = tl.as_of_day - created // DAY
    u = rng.random(m)
    status = np.where(
        converted,
        2,
        np.where(
            age <= 21,
            np.where(u < 0.7, 0, 1),
            np.where(is_conv, np.where(u < 0.5, 0, 1), np.where(u < 0.75, 3, np.where(u < 0.87, 1, 0))),
        ),
    )
    day = created // DAY
    camp = np.full(m, -1, dtype=np.int64)
    for ch in np.unique(c_ch):
        cidx = np.flatnonzero(c_ch == ch)
        sel = np.flatnonzero(source == ch)
        pos = np.searchsorted(c_start[cidx], day[sel], side="right") - 1
        ok = pos >= 0
        cand = cidx[np.maximum(pos, 0)]
        ok &= (day[sel] <= c_end[cand] + 30) & (rng.random(sel.size) < 0.85)
        camp[sel[ok]] = cand[ok]

    companies = np.array(accounts.name, dtype=object)[np.maximum(acc, 0)]
    no_acc = acc < 0
    if no_acc.any():
        cities = np.empty(int(no_acc.sum()), dtype=object)
        regions_of = raw_region[raw_pos[no_acc]]
        for g in np.unique(regions_of):
            s = regions_of == g
            cities[s] = names.pick(rng, names.REGION_CITIES[REGIONS[g]], int(s.sum()))
        inds = np.array(["manufacturing", "it", "retail", "logistics", "construction"], dtype=object)
        full, _, _ = names.company_names(rng, cities, inds[rng.integers(0, inds.size, cities.size)])
        companies[no_acc] = full

    lead_id = tables.seq_ids("leads", m)
    leads = tables.build(
        "leads",
        {
            "lead_id": lead_id,
            "lead_source": tables.codes(LEAD_SOURCES, source),
            "campaign_id": tables.take_ids(campaigns.column("campaign_id").combine_chunks(), camp),
            "account_id": tables.take_ids(accounts.account_id, acc),
            "owner_user_id": tables.take_ids(org.user_id, owner),
            "company_name": tables.strings(companies),
            "created_at": tables.timestamps(created),
            "status": tables.codes(LEAD_STATUSES, status),
            "converted_at": tables.timestamps(np.maximum(converted_ts, 0), mask=~converted),
        },
    )
    deal_lead = np.full(nd, -1, dtype=np.int64)
    deal_lead[deal_of[is_conv]] = np.flatnonzero(is_conv)

    # channel spend: per month and lead source, driven by lead volume plus campaign budgets
    months = np.unique(month_start(np.arange(tl.start_day, tl.as_of_day + 1)))
    k = len(LEAD_SOURCES)
    lead_month = np.searchsorted(months, month_start(day), side="right") - 1
    counts = np.zeros((months.size, k))
    np.add.at(counts, (lead_month, source), 1)
    camp_month = np.searchsorted(months, month_start(c_start), side="right") - 1
    budgets = campaigns.column("budget").to_numpy(zero_copy_only=False)
    budgets = (
        np.nan_to_num(np.asarray(budgets, dtype=float))
        / 100.0
        * fx.rate(np.array([CURRENCIES.index(c) for c in campaigns.column("currency").to_pylist()]), c_start)
    )
    camp_spend = np.zeros((months.size, k))
    ok = camp_month >= 0
    np.add.at(camp_spend, (camp_month[ok], c_ch[ok]), budgets[ok] * 0.6)
    cpl = np.array([COST_PER_LEAD[s] for s in LEAD_SOURCES])
    spend = counts * cpl * lognormal(rng, 1.0, 0.25, counts.shape) + camp_spend + 2000 * scale
    spend = tables.round_money(spend, 100)
    mm = np.repeat(months, k)
    cc = np.tile(np.arange(k), months.size)
    channel_spend = tables.build(
        "channel_spend",
        {
            "month": tables.dates(mm),
            "channel": tables.codes(LEAD_SOURCES, cc),
            "spend": tables.cents(tables.to_cents(spend.ravel())),
            "currency": tables.codes(CURRENCIES, np.zeros(mm.size, dtype=np.int64)),
        },
    )
    return Marketing(
        campaigns=campaigns, leads=leads, channel_spend=channel_spend, lead_id=lead_id, deal_lead=deal_lead
    )
