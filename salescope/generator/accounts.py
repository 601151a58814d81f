"""Accounts (customers and prospects), their contacts and each account's latent traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from contract import codes
from salescope.generator import names, tables
from salescope.generator.org import REGIONS, Org
from salescope.generator.rng import choice_index, lognormal, sigmoid, stream
from salescope.generator.timeline import Timeline

INDUSTRIES = codes("industry")
INDUSTRY_WEIGHTS = [0.22, 0.14, 0.08, 0.08, 0.08, 0.07, 0.08, 0.09, 0.08, 0.08]
SIZE_BANDS = codes("size_band")  # small, medium, large, enterprise
SIZE_WEIGHTS = [0.38, 0.32, 0.20, 0.10]
SIZE_DEAL_MEDIAN = np.array([120_000.0, 350_000.0, 900_000.0, 2_200_000.0])  # CNY per deal
SIZE_REVENUE_MEDIAN = np.array([2e7, 1.5e8, 1.2e9, 1e10])  # CNY per year
REGION_WEIGHTS = np.array([0.30, 0.22, 0.22, 0.14, 0.12])
CURRENCIES = codes("currency")  # CNY, USD, EUR, HKD
LEAD_SOURCES = codes("lead_source")
# how accounts first come to us (and the default lead source of their deals)
SOURCE_WEIGHTS = [0.16, 0.12, 0.12, 0.12, 0.12, 0.08, 0.06, 0.07, 0.08, 0.07]
# repeat-purchase rate multiplier per industry (recurring buyers vs one-off projects)
INDUSTRY_RATE = np.array([1.2, 1.3, 1.1, 1.0, 0.9, 0.8, 0.7, 1.1, 1.0, 0.7])


@dataclass
class Accounts:
    n: int
    account_id: pa.Array
    name: list[str]
    short_name: list[str]
    region: np.ndarray
    industry: np.ndarray
    size: np.ndarray
    created_day: np.ndarray
    owner0: np.ndarray  # rep owning the account when it was created
    deal_value: np.ndarray  # latent mean deal value in CNY (Gamma-Gamma "monetary" trait)
    currency: np.ndarray  # currency index the account trades in
    source: np.ndarray  # acquisition lead source index
    fit: np.ndarray  # latent account fit: added to the win logit of its new-business deals
    satisfaction: np.ndarray  # latent, standard normal: NPS, dropout
    pay_delay: np.ndarray  # latent median days paid after the due date
    purchase_rate: np.ndarray  # latent repeat purchases per year while alive (BG/NBD lambda)
    dropout_prob: np.ndarray  # latent chance of dropping out after each repeat purchase (BG/NBD p)
    contact_start: np.ndarray  # contacts of account i are rows contact_start[i] .. + contact_count[i]
    contact_count: np.ndarray
    contact_id: pa.Array
    table: pa.Table
    contacts: pa.Table


def growth_days(rng: np.random.Generator, n: int, lo: int, hi: int, growth: float = 0.4) -> np.ndarray:
    """Days in [lo, hi) with a density rising linearly by ``growth`` over the span."""
    u = rng.random(n)
    a = growth
    x = (-1 + np.sqrt(1 + 2 * a * u * (1 + a / 2))) / a
    return lo + np.floor(x * (hi - lo)).astype(np.int64)


def build_accounts(tl: Timeline, scale: float, seed: int, org: Org) -> Accounts:
    rng = stream(seed, "accounts")
    n = max(50, round(5000 * scale))
    s_day, a_day = tl.start_day, tl.as_of_day
    team_regions = np.unique(org.team_region)
    w = REGION_WEIGHTS[team_regions]
    region = team_regions[choice_index(rng, w, n)]
    industry = choice_index(rng, INDUSTRY_WEIGHTS, n)
    size = choice_index(rng, SIZE_WEIGHTS, n)

    migrated = rng.random(n) < 0.25  # loaded when the CRM went live
    created = np.where(
        migrated,
        s_day + rng.integers(0, 60, size=n),
        growth_days(rng, n, s_day, a_day - 5),
    )
    order = np.lexsort((np.arange(n), created))  # account ids follow creation order
    region, industry, size, created = region[order], industry[order], size[order], created[order]

    owner0 = org.assign_rep(rng, region, created)
    deal_value = SIZE_DEAL_MEDIAN[size] * lognormal(rng, 1.0, 0.45, n)
    cur_p = np.tile([0.86, 0.06, 0.03, 0.05], (n, 1))
    south = region == REGIONS.index("south")
    cur_p[south] = [0.76, 0.06, 0.03, 0.15]
    currency = (rng.random(n)[:, None] > np.cumsum(cur_p, axis=1)).sum(axis=1)
    source = choice_index(rng, SOURCE_WEIGHTS, n)
    fit = rng.normal(0.0, 0.7, size=n)
    satisfaction = rng.standard_normal(n)
    slow = rng.random(n)
    pay_delay = np.where(
        slow < 0.70,
        lognormal(rng, 6, 0.6, n),
        np.where(slow < 0.95, lognormal(rng, 35, 0.4, n), lognormal(rng, 100, 0.3, n)),
    )
    purchase_rate = rng.gamma(2.0, 0.6, size=n) * INDUSTRY_RATE[industry]
    p0 = rng.beta(1.4, 3.6, size=n)
    dropout = np.clip(sigmoid(np.log(p0 / (1 - p0)) - 0.6 * satisfaction), 0.02, 0.95)

    cities = np.empty(n, dtype=object)
    for g in np.unique(region):
        sel = np.flatnonzero(region == g)
        cities[sel] = names.pick(rng, names.REGION_CITIES[REGIONS[g]], sel.size)
    ind_codes = np.array(INDUSTRIES, dtype=object)[industry]
    full, short, domains = names.company_names(rng, cities, ind_codes)
    account_id = tables.seq_ids("accounts", n)
    revenue = tables.round_money(SIZE_REVENUE_MEDIAN[size] * lognormal(rng, 1.0, 0.6, n), 10_000)
    owner_now = org.owner_at(owner0, np.full(n, a_day))

    table = tables.build(
        "accounts",
        {
            "account_id": account_id,
            "account_name": tables.strings(full),
            "industry": tables.codes(INDUSTRIES, industry),
            "region": tables.codes(REGIONS, region),
            "city": tables.strings(cities, mask=rng.random(n) < 0.05),
            "size_band": tables.codes(SIZE_BANDS, size, mask=rng.random(n) < 0.06),
            "owner_user_id": tables.take_ids(org.user_id, owner_now),
            "created_at": tables.dates(created),
            "annual_revenue_cny": tables.cents(tables.to_cents(revenue), mask=rng.random(n) < 0.2),
        },
    )

    # contacts: one to a handful per account, the first added with the account
    per = 1 + rng.poisson(np.array([0.8, 1.6, 2.4, 3.4])[size])
    m = int(per.sum())
    acc = np.repeat(np.arange(n), per)
    start = np.concatenate([[0], np.cumsum(per)[:-1]])
    rank = np.arange(m) - start[acc]
    c_created = created[acc] + np.where(
        rank == 0, rng.integers(0, 4, size=m), np.floor(rng.exponential(120, size=m)).astype(np.int64)
    )
    c_created = np.minimum(c_created, a_day)
    zh, py = names.person_names(rng, m)
    dm = rng.random(m) < np.where(rank == 0, 0.6, 0.2)
    contact_id = tables.seq_ids("contacts", m)
    doms = np.array(domains, dtype=object)[acc]
    contacts = tables.build(
        "contacts",
        {
            "contact_id": contact_id,
            "account_id": account_id.take(pa.array(acc)),
            "name": tables.strings(zh),
            "title": tables.strings(names.pick(rng, names.TITLES, m), mask=rng.random(m) < 0.1),
            "is_decision_maker": tables.bools(dm),
            "phone": tables.strings(names.phones(rng, m), mask=rng.random(m) < 0.15),
            "email": tables.strings(
                [f"{p}@{d}" for p, d in zip(py, doms, strict=True)], mask=rng.random(m) < 0.3
            ),
            "wechat_id": tables.strings(
                [f"wx_{p.replace('.', '_')}{i % 1000}" for i, p in enumerate(py)], mask=rng.random(m) < 0.4
            ),
            "created_at": tables.dates(c_created),
        },
    )
    return Accounts(
        n=n,
        account_id=account_id,
        name=full,
        short_name=short,
        region=region,
        industry=industry,
        size=size,
        created_day=created,
        owner0=owner0,
        deal_value=deal_value,
        currency=currency,
        source=source,
        fit=fit,
        satisfaction=satisfaction,
        pay_delay=pay_delay,
        purchase_rate=purchase_rate,
        dropout_prob=dropout,
        contact_start=start,
        contact_count=per,
        contact_id=contact_id,
        table=table,
        contacts=contacts,
    )
