"""Where deals come from.

- New business: each account gets a few chances (a first deal soon after it is created, then more
  spaced out); once it has won a deal, new-business deals created after that win are dropped.
- Repeat purchases (BG/NBD-like): from a customer's first win, repeat purchases arrive as a Poisson
  process with the account's latent ``purchase_rate`` while the customer is alive; after each repeat
  purchase it drops out with its latent ``dropout_prob``. Each purchase is a won deal ending on that
  day; alive customers also open some deals they later lose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract import codes
from salescope.generator.accounts import INDUSTRIES, LEAD_SOURCES, SOURCE_WEIGHTS, Accounts
from salescope.generator.lifecycle import DealSpec
from salescope.generator.org import Org
from salescope.generator.rng import choice_index, lognormal
from salescope.generator.timeline import quarter_start

PRODUCT_LINES = codes("product_line")  # software, engineering, equipment
PRODUCT_VALUE = np.array([0.7, 1.6, 1.0])  # deal value multiplier
PRODUCT_PACE = np.array([0.8, 1.4, 1.1])  # stage duration multiplier
PRODUCT_BY_INDUSTRY = {
    "manufacturing": [0.35, 0.35, 0.30],
    "it": [0.70, 0.15, 0.15],
    "finance": [0.75, 0.10, 0.15],
    "healthcare": [0.40, 0.20, 0.40],
    "energy": [0.25, 0.45, 0.30],
    "education": [0.55, 0.20, 0.25],
    "government": [0.45, 0.35, 0.20],
    "retail": [0.60, 0.15, 0.25],
    "logistics": [0.50, 0.20, 0.30],
    "construction": [0.20, 0.55, 0.25],
}
# win-propensity effects (logit scale)
WIN_BASE = -1.35
SOURCE_EFFECT = dict(zip(LEAD_SOURCES, [0.0, 0.2, 0.8, -0.5, 0.0, -0.2, -0.4, -0.6, 0.1, 0.5], strict=True))
INDUSTRY_EFFECT = dict(zip(INDUSTRIES, [0.1, 0.0, -0.1, 0.0, 0.2, 0.1, 0.3, -0.3, -0.1, -0.2], strict=True))
SIZE_EFFECT = -0.35  # per unit of log(amount / 500k CNY)
REFERENCE_AMOUNT = 500_000.0
NEW_DEALS_PER_SIZE = np.array([0.7, 1.1, 1.6, 2.3])  # mean extra new-business chances per account
NEW_DEAL_GAP_DAYS = 100.0
REPEAT_LOST_RATIO = 0.7  # lost repeat deals per repeat purchase rate


@dataclass
class Demand:
    spec: DealSpec
    lead_source: np.ndarray
    product_line: np.ndarray
    amount_cny: np.ndarray  # initial amount in CNY (before currency conversion and later changes)


def _product(rng, accounts: Accounts, acc: np.ndarray) -> np.ndarray:
    table = np.array([PRODUCT_BY_INDUSTRY[c] for c in INDUSTRIES])
    cum = np.cumsum(table[accounts.industry[acc]], axis=1)
    return (rng.random(acc.size)[:, None] > cum).sum(axis=1).clip(0, 2)


def _logit(lead_source, industry, amount_cny, skill) -> np.ndarray:
    src = np.array([SOURCE_EFFECT[s] for s in LEAD_SOURCES])[lead_source]
    ind = np.array([INDUSTRY_EFFECT[s] for s in INDUSTRIES])[industry]
    return WIN_BASE + src + ind + SIZE_EFFECT * np.log(amount_cny / REFERENCE_AMOUNT) + skill


def _pace(product, amount_cny) -> np.ndarray:
    return PRODUCT_PACE[product] * (amount_cny / REFERENCE_AMOUNT) ** 0.15


def new_business(
    rng: np.random.Generator, accounts: Accounts, org: Org, horizon_day: int, intensity: float
) -> Demand:
    n = accounts.n
    k = np.where(rng.random(n) < 0.20, 0, 1 + rng.poisson(NEW_DEALS_PER_SIZE[accounts.size] * intensity))
    acc = np.repeat(np.arange(n), k)
    start = np.concatenate([[0], np.cumsum(k)[:-1]])
    rank = np.arange(acc.size) - start[acc]
    gap = np.where(
        rank == 0, lognormal(rng, 10.0, 0.8, acc.size), rng.exponential(NEW_DEAL_GAP_DAYS, acc.size)
    )
    gap = np.maximum(1, np.round(gap)).astype(np.int64)
    cum = np.cumsum(gap)
    before = np.concatenate([[0], cum])[start]  # days of earlier gaps of other accounts
    day = accounts.created_day[acc] + cum - before[acc]
    keep = day <= horizon_day
    acc, day = acc[keep], day[keep]
    m = acc.size

    lead_source = np.where(rng.random(m) < 0.7, accounts.source[acc], choice_index(rng, SOURCE_WEIGHTS, m))
    product = _product(rng, accounts, acc)
    amount = accounts.deal_value[acc] * PRODUCT_VALUE[product] * lognormal(rng, 1.0, 0.45, m)
    owner = org.owner_at(accounts.owner0[acc], day)
    spec = DealSpec(
        acc=acc,
        owner0=owner,
        repeat=np.zeros(m, dtype=bool),
        anchor_day=day,
        anchor_won=np.zeros(m, dtype=bool),
        outcome=np.full(m, -1, dtype=np.int8),
        logit=_logit(lead_source, accounts.industry[acc], amount, org.skill[owner]) + accounts.fit[acc],
        pace=_pace(product, amount),
    )
    return Demand(spec=spec, lead_source=lead_source, product_line=product, amount_cny=amount)


@dataclass
class RepeatProcess:
    demand: Demand
    purchases_until_dropout: (
        np.ndarray
    )  # per account: G, the repeat purchase after which it drops out (0: none)


def repeat_purchases(
    rng: np.random.Generator, accounts: Accounts, org: Org, first_win_day: np.ndarray, horizon_day: int
) -> RepeatProcess:
    """BG/NBD-like repeat purchases from each customer's first win (first_win_day -1: not a customer)."""
    cust = np.flatnonzero((first_win_day >= 0) & (first_win_day < horizon_day))
    t1 = first_win_day[cust]
    lam = accounts.purchase_rate[cust] / 365.0
    g = rng.geometric(accounts.dropout_prob[cust])
    span = horizon_day - t1
    n_arr = rng.poisson(lam * span)
    acc = np.repeat(np.arange(cust.size), n_arr)
    day = t1[acc] + np.ceil(rng.random(acc.size) * span[acc]).astype(np.int64)
    order = np.lexsort((day, acc))
    acc, day = acc[order], day[order]
    start = np.concatenate([[0], np.cumsum(n_arr)[:-1]])
    rank = np.arange(acc.size) - start[acc]
    keep = rank < g[acc]
    acc, day = acc[keep], day[keep]
    # quarter-end pull-in of the purchase day, as for new business
    q = quarter_start(day)
    target = q - rng.integers(1, 13, size=day.size)
    pull = (day - q < 21) & (rng.random(day.size) < 0.4) & (target > t1[acc] + 20)
    day = np.where(pull, target, day)
    kept = np.bincount(acc, minlength=cust.size)
    death = np.full(cust.size, horizon_day, dtype=np.int64)
    dead = kept >= g
    last_day = np.full(cust.size, -1, dtype=np.int64)
    np.maximum.at(last_day, acc, day)
    death[dead] = np.maximum(last_day[dead], t1[dead] + 1)

    # deals an alive customer opens and loses
    alive_span = np.maximum(death - t1, 0)
    n_lost = rng.poisson(REPEAT_LOST_RATIO * lam * alive_span)
    l_acc = np.repeat(np.arange(cust.size), n_lost)
    l_day = t1[l_acc] + np.ceil(rng.random(l_acc.size) * alive_span[l_acc]).astype(np.int64)

    c_acc = cust[np.concatenate([acc, l_acc])]
    anchor = np.concatenate([day, l_day])
    is_won = np.concatenate([np.ones(acc.size, dtype=bool), np.zeros(l_acc.size, dtype=bool)])
    m = c_acc.size
    lead_source = np.where(
        rng.random(m) < 0.5,
        accounts.source[c_acc],
        np.array([LEAD_SOURCES.index(s) for s in ("referral", "phone", "wechat", "email")])[
            rng.integers(0, 4, m)
        ],
    )
    product = _product(rng, accounts, c_acc)
    amount = accounts.deal_value[c_acc] * PRODUCT_VALUE[product] * rng.gamma(4.0, 0.25, size=m)
    owner = org.owner_at(accounts.owner0[c_acc], anchor)
    spec = DealSpec(
        acc=c_acc,
        owner0=owner,
        repeat=np.ones(m, dtype=bool),
        anchor_day=anchor,
        anchor_won=is_won,
        outcome=is_won.astype(np.int8),
        logit=np.zeros(m),
        pace=0.7 * _pace(product, amount),
    )
    g_all = np.zeros(accounts.n, dtype=np.int64)
    g_all[cust] = g
    return RepeatProcess(Demand(spec, lead_source, product, amount), g_all)
