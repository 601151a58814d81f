"""Monthly bookings quotas per sales rep, set from the company's bookings run-rate."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from salescope.generator import tables
from salescope.generator.deals import Deals
from salescope.generator.fx import Fx
from salescope.generator.org import Org
from salescope.generator.rng import lognormal, stream
from salescope.generator.timeline import DAY, Timeline, add_months, month_start, quarter_start

RAMP = np.array([0.4, 0.7, 0.9])  # share of the full quota in a new hire's first months
STRETCH = 1.15  # quotas sit a bit above what reps actually book on average
GROWTH_PER_YEAR = 0.10


def build_quotas(tl: Timeline, seed: int, org: Org, deals: Deals, fx: Fx) -> pa.Table:
    rng = stream(seed, "quotas")
    lc = deals.lc
    won = np.flatnonzero((lc.won_ts >= 0) & (lc.won_ts < tl.cutoff_ts))
    won_day = lc.won_ts[won] // DAY
    bookings = float((deals.final_amount[won] / 100.0 * fx.rate(deals.currency[won], won_day)).sum())

    last_month = add_months(quarter_start(np.array([tl.as_of_day])), 2)[0]  # end of the as-of quarter
    months = np.unique(month_start(np.arange(tl.start_day, last_month + 1)))
    next_months = add_months(months, 1)
    reps = org.reps
    employed = (org.hire_day[reps][:, None] < next_months[None, :]) & (
        org.leave_day[reps][:, None] > months[None, :]
    )
    past = months <= tl.as_of_day
    rep_months = int(employed[:, past].sum())
    base = STRETCH * bookings / max(rep_months, 1)

    r_idx, m_idx = np.nonzero(employed)
    rep = reps[r_idx]
    month = months[m_idx]
    tenure = (month - month_start(org.hire_day[rep])) // 30
    ramp = np.where(tenure < RAMP.size, RAMP[np.clip(tenure, 0, RAMP.size - 1)], 1.0)
    years = (month - tl.start_day) / 365.0
    personal = lognormal(rng, 1.0, 0.1, reps.size)[r_idx]
    quota = tables.round_money(base * ramp * (1 + GROWTH_PER_YEAR * (years - 1.5)) * personal, 10_000)
    order = np.lexsort((month, rep))
    return tables.build(
        "quotas",
        {
            "user_id": org.user_id.take(pa.array(rep[order])),
            "month": tables.dates(month[order]),
            "quota_cny": tables.cents(tables.to_cents(quota[order])),
        },
    )
