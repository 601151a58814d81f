"""The latent business simulation: builds every entity's canonical table and the truth files.

Order: org -> accounts/contacts -> fx -> deals (new business, repeat purchases, lifecycles) ->
marketing (campaigns, leads, spend) -> opportunities/history -> activities -> delivery -> finance ->
NPS -> quotas. The world is simulated past ``as_of`` (deals close, customers buy again); the export
keeps only what happened on or before ``as_of``; the truth files keep what happened next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from contract import ENTITIES
from salescope.generator import tables
from salescope.generator.accounts import build_accounts
from salescope.generator.activities import build_activities
from salescope.generator.deals import build_deals, history_table, opportunities_table
from salescope.generator.delivery import build_delivery
from salescope.generator.feedback import build_nps
from salescope.generator.finance import build_finance
from salescope.generator.fx import build_fx
from salescope.generator.marketing import build_marketing
from salescope.generator.org import build_org
from salescope.generator.quotas import build_quotas
from salescope.generator.timeline import DAY, Timeline


@dataclass
class World:
    tables: dict[str, pa.Table]  # canonical tables, contract order
    opportunity_outcomes: pa.Table
    customer_future: pa.Table
    # the latent objects the tables were built from (``view.world_at`` reads them)
    latent: dict[str, Any] = field(default_factory=dict)


def simulate(
    tl: Timeline, scale: float, seed: int, progress: Callable[[str], None] = lambda _m: None
) -> World:
    progress("organisation and accounts")
    org = build_org(tl, scale, seed)
    accounts = build_accounts(tl, scale, seed, org)
    fx_first = int(min(org.hire_day.min(), tl.start_day - 60))
    fx = build_fx(seed, fx_first, tl.horizon_day + 1500)
    progress("deals")
    deals = build_deals(tl, seed, org, accounts, fx)
    progress("leads and campaigns")
    mk = build_marketing(tl, scale, seed, org, accounts, deals, fx)
    opps = opportunities_table(tl, seed, deals, accounts, org, mk.deal_lead, mk.lead_id)
    history = history_table(tl, seed, deals, org)
    progress("touchpoints")
    activities = build_activities(tl, seed, org, accounts, deals)
    progress("contracts, projects, invoices")
    dv = build_delivery(tl, seed, org, accounts, deals, fx, opps.column("name").combine_chunks())
    fin = build_finance(tl, seed, accounts, deals, dv)
    nps = build_nps(tl, seed, accounts, deals, dv)
    quotas = build_quotas(tl, seed, org, deals, fx)
    built = {
        "users": org.table,
        "quotas": quotas,
        "accounts": accounts.table,
        "contacts": accounts.contacts,
        "campaigns": mk.campaigns,
        "channel_spend": mk.channel_spend,
        "leads": mk.leads,
        "opportunities": opps,
        "opportunity_history": history,
        "activities": activities,
        "contracts": dv.contracts,
        "projects": dv.projects,
        "project_tasks": dv.project_tasks,
        "documents": dv.documents,
        "invoices": fin.invoices,
        "payments": fin.payments,
        "nps_responses": nps,
        "fx_rates": fx.table(tl.as_of_day),
    }
    ordered = {e.name: built[e.name] for e in ENTITIES}
    outcomes, future = truth(tl, deals, accounts, fx)
    latent = {
        "tl": tl, "seed": seed, "org": org, "accounts": accounts, "deals": deals, "fx": fx,
        "deal_lead": mk.deal_lead, "lead_id": mk.lead_id,
    }  # fmt: skip
    return World(tables=ordered, opportunity_outcomes=outcomes, customer_future=future, latent=latent)


def truth(tl: Timeline, deals, accounts, fx) -> tuple[pa.Table, pa.Table]:
    """The truth tables as of ``tl.as_of`` (deals of a world simulated to a later date are cut too)."""
    lc = deals.lc
    cutoff = tl.cutoff_ts
    n = min(deals.n_exported, int(np.searchsorted(lc.created_ts, cutoff, side="left")))
    open_at = lc.close_ts[:n] >= cutoff
    idx = np.flatnonzero(open_at)
    outcomes = pa.table(
        {
            "opportunity_id": deals.opp_id.take(pa.array(idx)),
            "outcome": pa.array(np.where(lc.won[idx], "won", "lost").tolist(), pa.string()),
            "closed_at": tables.timestamps(lc.close_ts[idx]),
        }
    )

    won = lc.won_ts >= 0
    past = won & (lc.won_ts < cutoff)
    window_end = cutoff + 365 * DAY
    future = won & (lc.won_ts >= cutoff) & (lc.won_ts < window_end)
    customer = np.zeros(accounts.n, dtype=bool)
    customer[deals.acc[past]] = True
    purchases = np.bincount(deals.acc[future], minlength=accounts.n)
    won_day = np.maximum(lc.won_ts, 0) // DAY
    value_cny = deals.final_amount / 100.0 * fx.rate(deals.currency, won_day)
    revenue = np.bincount(deals.acc[future], weights=value_cny[future], minlength=accounts.n)
    repeats_so_far = np.bincount(deals.acc[past & deals.repeat], minlength=accounts.n)
    alive = repeats_so_far < deals.g_dropout
    a = np.flatnonzero(customer)
    future_tbl = pa.table(
        {
            "account_id": accounts.account_id.take(pa.array(a)),
            "purchases_12m": pa.array(purchases[a], pa.int64()),
            "revenue_12m_cny": pa.array(np.round(revenue[a], 2), pa.float64()),
            "purchase_rate": pa.array(np.round(accounts.purchase_rate[a], 4), pa.float64()),
            "dropout_prob": pa.array(np.round(accounts.dropout_prob[a], 4), pa.float64()),
            "alive_at_as_of": pa.array(alive[a], pa.bool_()),
            "mean_deal_value_cny": pa.array(np.round(accounts.deal_value[a], 2), pa.float64()),
        }
    )
    return outcomes, future_tbl
