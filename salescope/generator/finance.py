"""Billing and collections (回款): invoices on contract milestones, payments with realistic lateness,
partial payments and some invoices never paid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from contract import codes
from salescope.generator import tables
from salescope.generator.accounts import Accounts
from salescope.generator.deals import Deals
from salescope.generator.delivery import Delivery
from salescope.generator.rng import choice_index, lognormal, stream
from salescope.generator.timeline import Timeline

PAYMENT_METHODS = codes("payment_method")  # bank_transfer, acceptance_bill, cheque, cash
# billing plan per product line: (share, milestone) with milestones signing / mid-delivery / delivery
BILLING = {
    0: ((0.5, "sign"), (0.5, "end")),  # software: half on signing, half at go-live
    1: ((0.3, "sign"), (0.4, "mid"), (0.3, "end")),  # engineering
    2: ((0.3, "sign"), (0.7, "end")),  # equipment: balance on delivery
}
NEVER_PAID = 0.04
PARTIAL = 0.12


@dataclass
class Finance:
    invoices: pa.Table
    payments: pa.Table


def build_finance(tl: Timeline, seed: int, accounts: Accounts, deals: Deals, dv: Delivery) -> Finance:
    rng = stream(seed, "finance")
    a_day = tl.as_of_day
    product = deals.product_line[dv.deal]
    acc = deals.acc[dv.deal]
    parts = []
    for p, plan in BILLING.items():
        sel = np.flatnonzero(product == p)
        done = np.zeros(sel.size, dtype=np.int64)
        for j, (share, milestone) in enumerate(plan):
            if milestone == "sign":
                day = dv.signed_day[sel]
            elif milestone == "mid":
                day = (dv.actual_start_sim[sel] + dv.actual_end_sim[sel]) // 2
            else:
                day = dv.actual_end_sim[sel]
            last = j == len(plan) - 1
            amt = dv.value[sel] - done if last else np.round(dv.value[sel] * share).astype(np.int64)
            done = done + amt
            issued = (j == 0) | ~dv.terminated[sel]
            parts.append((sel[issued], j, day[issued], amt[issued]))
    c = np.concatenate([x[0] for x in parts])
    seq = np.concatenate([np.full(x[0].size, x[1]) for x in parts])
    inv_day = np.concatenate([x[2] for x in parts]) + rng.integers(0, 10, size=c.size)
    amount = np.concatenate([x[3] for x in parts])
    keep = np.flatnonzero((inv_day <= a_day) & (amount > 0))
    order = keep[np.lexsort((seq[keep], c[keep], inv_day[keep]))]
    c, inv_day, amount = c[order], inv_day[order], amount[order]
    m = c.size
    due = inv_day + dv.terms[c]
    invoice_id = tables.seq_ids("invoices", m)
    contract_id = dv.contracts.column("contract_id").combine_chunks()
    invoices = tables.build(
        "invoices",
        {
            "invoice_id": invoice_id,
            "contract_id": contract_id.take(pa.array(c)),
            "account_id": accounts.account_id.take(pa.array(acc[c])),
            "invoice_date": tables.dates(inv_day),
            "due_date": tables.dates(due),
            "amount": tables.cents(amount),
            "currency": tables.codes(codes("currency"), dv.currency[c]),
        },
    )

    # payments: the account's latent lateness decides when; some pay in two parts, a few never
    delay = accounts.pay_delay[acc[c]]
    u = rng.random(m)
    never = u < NEVER_PAID * np.where(delay > 30, 3.0, 1.0)
    partial = ~never & (u > 1 - PARTIAL)
    pay1 = np.maximum(inv_day + 1, due + np.round(delay * lognormal(rng, 1.0, 0.5, m) - 10).astype(np.int64))
    share = np.where(partial, rng.uniform(0.3, 0.8, size=m), 1.0)
    amt1 = np.where(partial, np.round(amount * share).astype(np.int64), amount)
    pay2 = pay1 + np.maximum(7, np.round(lognormal(rng, 45.0, 0.5, m))).astype(np.int64)
    second = partial & (rng.random(m) < 0.7)
    inv = np.concatenate([np.flatnonzero(~never), np.flatnonzero(second)])
    day = np.concatenate([pay1[~never], pay2[second]])
    amt = np.concatenate([amt1[~never], (amount - amt1)[second]])
    keep = np.flatnonzero((day <= a_day) & (amt > 0))
    order = keep[np.lexsort((inv[keep], day[keep]))]
    inv, day, amt = inv[order], day[order], amt[order]
    k = inv.size
    payments = tables.build(
        "payments",
        {
            "payment_id": tables.seq_ids("payments", k),
            "invoice_id": invoice_id.take(pa.array(inv)),
            "account_id": accounts.account_id.take(pa.array(acc[c[inv]])),
            "payment_date": tables.dates(day),
            "amount": tables.cents(amt),
            "currency": tables.codes(codes("currency"), dv.currency[c[inv]]),
            "method": tables.codes(
                PAYMENT_METHODS, choice_index(rng, [0.75, 0.18, 0.05, 0.02], k), mask=rng.random(k) < 0.04
            ),
        },
    )
    return Finance(invoices=invoices, payments=payments)
