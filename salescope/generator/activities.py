"""Touchpoints: WeChat, phone, email, social, visits, meetings, demos.

Each deal's stages generate touchpoints as a Poisson process whose rate depends on the stage and on
the deal's latent touch intensity (which also raises its win propensity); a stalled stage gets very few.
Accounts also get touchpoints outside any deal (service, prospecting).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from contract import codes
from salescope.generator import lifecycle as lf
from salescope.generator import names, tables
from salescope.generator.accounts import Accounts
from salescope.generator.deals import Deals
from salescope.generator.org import Org
from salescope.generator.rng import lognormal, pick_in_groups, stream
from salescope.generator.timeline import DAY, Timeline, weekday

CHANNELS = codes("channel")  # wechat, phone, email, social, visit, meeting, demo
DIRECTIONS = codes("direction")  # inbound, outbound
STAGE_RATE_PER_WEEK = {lf.IC: 1.3, lf.NC: 1.9, lf.PR: 2.3, lf.NG: 2.6, lf.WON: 1.0}
STALL_RATE_FACTOR = 0.12
ACCOUNT_RATE_PER_WEEK = 0.07  # touchpoints outside deals (doubled for customers)
CHANNEL_MIX = np.array(
    [
        [0.34, 0.28, 0.18, 0.06, 0.06, 0.06, 0.02],  # initial_contact, needs_confirmed
        [0.24, 0.18, 0.16, 0.02, 0.14, 0.14, 0.12],  # proposal
        [0.26, 0.20, 0.10, 0.01, 0.20, 0.20, 0.03],  # negotiation, won
        [0.35, 0.30, 0.20, 0.05, 0.06, 0.04, 0.00],  # account-level
    ]
)
DURATION_MEDIAN = np.array([5.0, 8.0, 0.0, 0.0, 90.0, 60.0, 75.0])  # minutes; 0: not recorded


def build_activities(tl: Timeline, seed: int, org: Org, accounts: Accounts, deals: Deals) -> pa.Table:
    rng = stream(seed, "activities")
    lc = deals.lc
    cutoff = tl.cutoff_ts
    n_exp = deals.n_exported

    # intervals between consecutive stage entries of exported deals (open stages and won -> signed)
    e_next = np.append(lc.e_ts[1:], 0)
    same_next = np.append(lc.e_deal[1:] == lc.e_deal[:-1], False)
    rate_of_stage = np.zeros(len(lf.STAGES))
    for st, r in STAGE_RATE_PER_WEEK.items():
        rate_of_stage[st] = r
    iv = np.flatnonzero(
        same_next & (lc.e_deal < n_exp) & (lc.e_ts < cutoff) & (rate_of_stage[lc.e_stage] > 0)
    )
    i_deal = lc.e_deal[iv]
    i_start = lc.e_ts[iv]
    i_end = np.minimum(e_next[iv], cutoff)
    weeks = (i_end - i_start) / (7 * DAY)
    rate = (
        rate_of_stage[lc.e_stage[iv]]
        * lc.intensity[i_deal]
        * np.where(lc.e_stall[iv], STALL_RATE_FACTOR, 1.0)
    )
    k = rng.poisson(rate * weeks)
    a_iv = np.repeat(np.arange(iv.size), k)
    ts = i_start[a_iv] + np.floor(rng.random(a_iv.size) * (i_end - i_start)[a_iv]).astype(np.int64)
    deal = i_deal[a_iv]
    stage = lc.e_stage[iv][a_iv]
    mix = np.where(stage <= lf.NC, 0, np.where(stage == lf.PR, 1, 2))
    acc = deals.acc[deal]
    owner = org.owner_at(deals.owner0[deal], ts // DAY)

    # touchpoints outside deals
    alive_weeks = (tl.as_of_day + 1 - accounts.created_day) / 7.0
    customer = (deals.first_win_day >= 0) & (deals.first_win_day <= tl.as_of_day)
    k2 = rng.poisson(ACCOUNT_RATE_PER_WEEK * alive_weeks * np.where(customer, 2.0, 1.0))
    acc2 = np.repeat(np.arange(accounts.n), k2)
    start2 = accounts.created_day[acc2] * DAY
    ts2 = start2 + np.floor(rng.random(acc2.size) * (cutoff - start2)).astype(np.int64)
    owner2 = org.owner_at(accounts.owner0[acc2], ts2 // DAY)

    deal = np.concatenate([deal, np.full(acc2.size, -1)])
    ts = np.concatenate([ts, ts2])
    acc = np.concatenate([acc, acc2])
    owner = np.concatenate([owner, owner2])
    mix = np.concatenate([mix, np.full(acc2.size, 3)])
    m = ts.size

    # weekends are quiet: most weekend touchpoints move to the nearest weekday
    day = ts // DAY
    wd = weekday(day)
    move = (wd >= 5) & (rng.random(m) < 0.85)
    shift = np.where(wd == 5, -1, 1)
    day = np.where(move, day + shift, day)
    channel = (
        (rng.random(m)[:, None] > np.cumsum(CHANNEL_MIX[mix], axis=1)).sum(axis=1).clip(0, len(CHANNELS) - 1)
    )
    evening = channel == CHANNELS.index("wechat")
    minute = np.where(evening, rng.integers(8 * 60, 22 * 60, size=m), rng.integers(9 * 60, 18 * 60, size=m))
    ts = day * DAY + minute * 60
    # stay inside the exported window and after the deal / account began
    lower = np.where(
        deal >= 0, lc.created_ts[np.maximum(deal, 0)], accounts.created_day[acc] * DAY + 9 * 3600
    )
    ts = np.clip(ts, lower, cutoff - 60)

    order = np.lexsort((np.arange(m), ts))
    ts, deal, acc, owner, channel = ts[order], deal[order], acc[order], owner[order], channel[order]
    by_manager = rng.random(m) < 0.06
    user = np.where(by_manager, org.manager[owner], owner)
    contact = pick_in_groups(rng, accounts.contact_start, accounts.contact_count, acc)
    contact = np.where(rng.random(m) < 0.1, -1, contact)

    conversational = channel <= CHANNELS.index("social")
    u = rng.random(m)
    direction = np.where(conversational, np.where(u < 0.35, 0, 1), np.where(u < 0.7, 1, -1))
    med = DURATION_MEDIAN[channel]
    dur = np.clip(np.round(lognormal(rng, np.maximum(med, 1), 0.6, m)), 1, 1440).astype(np.int64)
    dur_null = (med == 0) | ((channel == 0) & (rng.random(m) < 0.5))

    subjects = np.empty(m, dtype=object)
    for c, ch in enumerate(CHANNELS):
        sel = np.flatnonzero(channel == c)
        subjects[sel] = names.pick(rng, names.SUBJECTS[ch], sel.size)

    return tables.build(
        "activities",
        {
            "activity_id": tables.seq_ids("activities", m),
            "account_id": accounts.account_id.take(pa.array(acc)),
            "contact_id": tables.take_ids(accounts.contact_id, contact),
            "opportunity_id": tables.take_ids(deals.opp_id, deal),
            "user_id": tables.take_ids(org.user_id, user),
            "channel": tables.codes(CHANNELS, channel),
            "direction": tables.codes(DIRECTIONS, np.maximum(direction, 0), mask=direction < 0),
            "occurred_at": tables.timestamps(ts),
            "duration_minutes": tables.ints(dur, mask=dur_null),
            "subject": tables.strings(subjects, mask=rng.random(m) < 0.05),
        },
    )
