"""NPS survey responses: after delivery and in periodic relationship surveys. Scores follow the
account's latent satisfaction (which also drives its repeat-purchase dropout) and delivery slips."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from salescope.generator import names, tables
from salescope.generator.accounts import Accounts
from salescope.generator.deals import Deals
from salescope.generator.delivery import Delivery
from salescope.generator.rng import pick_in_groups, stream
from salescope.generator.timeline import Timeline

SURVEY_EVERY_DAYS = 182
RELATIONSHIP_RESPONSE = 0.30
POST_PROJECT_RESPONSE = 0.55


def build_nps(tl: Timeline, seed: int, accounts: Accounts, deals: Deals, dv: Delivery) -> pa.Table:
    rng = stream(seed, "nps")
    a_day = tl.as_of_day
    acc_c = deals.acc[dv.deal]
    finished = dv.actual_end_sim <= a_day
    # after delivery
    post = np.flatnonzero(finished & ~dv.terminated & (rng.random(dv.deal.size) < POST_PROJECT_RESPONSE))
    p_acc = acc_c[post]
    p_day = dv.actual_end_sim[post] + rng.integers(14, 46, size=post.size)
    p_slip = dv.slip_days[post]
    # relationship surveys every half year from the first contract
    first = np.full(accounts.n, np.iinfo(np.int64).max)
    np.minimum.at(first, acc_c, dv.signed_day)
    cust = np.flatnonzero(first < a_day)
    waves = np.maximum(0, (a_day - first[cust] - 90) // SURVEY_EVERY_DAYS + 1)
    r_acc = np.repeat(cust, waves)
    w_first = np.concatenate([[0], np.cumsum(waves)[:-1]])
    w = np.arange(r_acc.size) - np.repeat(w_first, waves)
    r_day = first[r_acc] + 90 + w * SURVEY_EVERY_DAYS + rng.integers(0, 30, size=r_acc.size)
    answered = rng.random(r_acc.size) < RELATIONSHIP_RESPONSE
    r_acc, r_day = r_acc[answered], r_day[answered]

    acc = np.concatenate([p_acc, r_acc])
    day = np.concatenate([p_day, r_day])
    slip = np.concatenate([p_slip, np.zeros(r_acc.size, dtype=np.int64)])
    keep = np.flatnonzero(day <= a_day)
    order = keep[np.lexsort((keep, day[keep]))]
    acc, day, slip = acc[order], day[order], slip[order]
    m = acc.size
    raw = 7.4 + 1.4 * accounts.satisfaction[acc] + rng.normal(0, 1.2, size=m) - 1.5 * (slip > 30)
    score = np.clip(np.round(raw), 0, 10).astype(np.int64)
    contact = pick_in_groups(rng, accounts.contact_start, accounts.contact_count, acc)
    contact = np.where(rng.random(m) < 0.1, -1, contact)
    comments = np.empty(m, dtype=object)
    cat = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
    for c in ("promoter", "passive", "detractor"):
        sel = np.flatnonzero(cat == c)
        comments[sel] = names.pick(rng, names.NPS_COMMENTS[c], sel.size)
    return tables.build(
        "nps_responses",
        {
            "response_id": tables.seq_ids("nps_responses", m),
            "account_id": accounts.account_id.take(pa.array(acc)),
            "contact_id": tables.take_ids(accounts.contact_id, contact),
            "responded_at": tables.dates(day),
            "score": tables.ints(score),
            "comment": tables.strings(comments, mask=rng.random(m) < 0.45),
        },
    )
