"""The life of a deal: its stage path (skips, regressions), lognormal stage durations, stalls,
its outcome (win propensity) and the quarter-end pull-in of wins. Vectorised over all deals.

Stages: initial_contact -> needs_confirmed -> proposal -> negotiation -> won -> contract_signed,
or lost. Every deal starts at initial_contact on its creation day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract import codes
from salescope.generator.rng import lognormal, sigmoid
from salescope.generator.timeline import DAY, business_seconds, quarter_start

STAGES = codes("stage")
IC, NC, PR, NG, WON, SIGNED, LOST = (
    STAGES.index(s)
    for s in (
        "initial_contact",
        "needs_confirmed",
        "proposal",
        "negotiation",
        "won",
        "contract_signed",
        "lost",
    )
)
FORWARD = (IC, NC, PR, NG)
STAGE_MEDIAN_DAYS = np.array([10.0, 15.0, 20.0, 17.0])  # median dwell in each forward stage
STAGE_SIGMA = 0.75
SKIP_PROB = 0.12  # an intermediate stage is skipped
REGRESSION_PROB = 0.12  # of deals that reached proposal or negotiation
STALL_PROB = 0.10
STALL_EXTRA_MEDIAN_DAYS = 55.0
SIGN_PROB = 0.93  # won deals that go on to sign a contract
SIGN_LAG_MEDIAN_DAYS = 10.0
LOST_AT_WEIGHTS = [0.30, 0.30, 0.25, 0.15]  # last forward stage of a lost deal
PULL_IN_PROB = 0.4  # wins due in a quarter's first 3 weeks pulled into the previous quarter's end
INTENSITY_SIGMA = 0.5
INTENSITY_WIN_COEF = 0.8  # win logit per unit of log touch intensity
STALL_WIN_COEF = -1.0


@dataclass
class DealSpec:
    """What the demand side decides about each deal before its life is simulated."""

    acc: np.ndarray
    owner0: np.ndarray
    repeat: np.ndarray  # bool: a repeat purchase of an existing customer
    anchor_day: np.ndarray  # creation day, or the won day when anchor_won
    anchor_won: np.ndarray  # bool
    outcome: np.ndarray  # -1 drawn from the win propensity, 0 lost, 1 won
    logit: np.ndarray  # win logit from source, industry, size, rep skill (before intensity and stall)
    pace: np.ndarray  # stage duration multiplier


@dataclass
class Lifecycle:
    n: int
    intensity: np.ndarray  # latent touchpoint intensity (multiplies activity rates)
    stalled: np.ndarray
    won: np.ndarray
    signed: np.ndarray
    created_ts: np.ndarray
    won_ts: np.ndarray  # -1 when never won
    signed_ts: np.ndarray
    lost_ts: np.ndarray
    close_ts: np.ndarray  # won_ts or lost_ts
    e_deal: np.ndarray  # stage entries sorted by (deal, time)
    e_stage: np.ndarray
    e_ts: np.ndarray
    e_stall: np.ndarray  # bool: the entry whose dwell was stretched by a stall


def simulate(rng: np.random.Generator, spec: DealSpec) -> Lifecycle:
    n = spec.acc.shape[0]
    preset = spec.outcome >= 0
    shift = np.where(spec.outcome == 1, 0.3, np.where(spec.outcome == 0, -0.3, 0.0))
    intensity = lognormal(rng, np.exp(shift), INTENSITY_SIGMA, n)
    stalled = rng.random(n) < np.where(spec.repeat, 0.6 * STALL_PROB, STALL_PROB)
    logit = spec.logit + INTENSITY_WIN_COEF * np.log(intensity) + STALL_WIN_COEF * stalled
    won = np.where(preset, spec.outcome == 1, rng.random(n) < sigmoid(logit))
    signed = won & (rng.random(n) < SIGN_PROB)

    last_fwd = np.where(won, NG, rng.choice(4, size=n, p=LOST_AT_WEIGHTS))
    visited = np.zeros((n, 4), dtype=bool)
    visited[:, IC] = True
    for k in (NC, PR, NG):
        keep = rng.random(n) > SKIP_PROB
        visited[:, k] = np.where(won, keep, ((k < last_fwd) & keep) | (k == last_fwd))

    # regression: from proposal or negotiation back to an earlier stage, then forward again
    can = visited[:, PR] | visited[:, NG]
    regress = can & (rng.random(n) < REGRESSION_PROB)
    both = visited[:, PR] & visited[:, NG]
    r_stage = np.where(both, np.where(rng.random(n) < 0.5, PR, NG), np.where(visited[:, NG], NG, PR))
    back = np.where((r_stage == NG) & (rng.random(n) < 0.3), NC, r_stage - 1)

    parts_deal, parts_key, parts_stage, parts_dwell = [], [], [], []

    def add(sel, key, stage, dwell):
        idx = np.flatnonzero(sel)
        parts_deal.append(idx)
        parts_key.append(np.broadcast_to(np.asarray(key, dtype=float), sel.shape)[idx])
        parts_stage.append(np.broadcast_to(np.asarray(stage), sel.shape)[idx])
        parts_dwell.append(np.broadcast_to(np.asarray(dwell, dtype=float), sel.shape)[idx])

    for k in FORWARD:
        add(visited[:, k], 2.0 * k, k, lognormal(rng, STAGE_MEDIAN_DAYS[k] * spec.pace, STAGE_SIGMA, n))
    add(regress, 2.0 * r_stage + 0.5, back, lognormal(rng, 7.0 * spec.pace, 0.6, n))
    add(
        regress,
        2.0 * r_stage + 0.6,
        r_stage,
        lognormal(rng, STAGE_MEDIAN_DAYS[r_stage] * 0.6 * spec.pace, 0.6, n),
    )
    add(won, 10.0, WON, lognormal(rng, SIGN_LAG_MEDIAN_DAYS, 0.7, n))
    add(signed, 11.0, SIGNED, 0.0)
    add(~won, 10.0, LOST, 0.0)

    deal = np.concatenate(parts_deal)
    key = np.concatenate(parts_key)
    stage = np.concatenate(parts_stage).astype(np.int64)
    dwell = np.concatenate(parts_dwell)
    order = np.lexsort((key, deal))
    deal, stage, dwell = deal[order], stage[order], dwell[order]
    m = deal.size
    first = np.searchsorted(deal, np.arange(n))
    last = np.append(first[1:], m) - 1
    terminal = stage >= WON

    # lost deals linger before being given up; stalled deals sit long in one stage
    lost_prev = last[~won] - 1
    dwell[lost_prev] *= 1.4
    n_open_entries = np.bincount(deal, weights=~terminal, minlength=n).astype(np.int64)
    pick = first + np.floor(rng.random(n) * n_open_entries).astype(np.int64)
    stall_idx = pick[stalled]
    dwell[stall_idx] += lognormal(rng, STALL_EXTRA_MEDIAN_DAYS, 0.4, stall_idx.size)
    e_stall = np.zeros(m, dtype=bool)
    e_stall[stall_idx] = True

    dd = np.maximum(1, np.round(dwell)).astype(np.int64)
    cs = np.cumsum(dd)
    offset = cs - dd - (cs[first] - dd[first])[deal]
    won_entry = np.full(n, -1, dtype=np.int64)
    won_entry[deal[stage == WON]] = np.flatnonzero(stage == WON)
    day0 = np.where(spec.anchor_won, spec.anchor_day - offset[np.maximum(won_entry, 0)], spec.anchor_day)
    day = day0[deal] + offset

    # quarter-end seasonality: wins due early in a quarter are pulled into the previous quarter's end
    cand = np.flatnonzero(won & ~spec.anchor_won)
    w = won_entry[cand]
    q = quarter_start(day[w])
    target = q - rng.integers(1, 13, size=cand.size)
    pull = (day[w] - q < 21) & (rng.random(cand.size) < PULL_IN_PROB) & (target > day[w - 1])
    delta = np.zeros(n, dtype=np.int64)
    delta[cand[pull]] = (day[w] - target)[pull]
    day = day - np.where(terminal, delta[deal], 0)

    ts = day * DAY + business_seconds(rng, m)

    def at(st):
        out = np.full(n, -1, dtype=np.int64)
        sel = stage == st
        out[deal[sel]] = ts[sel]
        return out

    won_ts, signed_ts, lost_ts = at(WON), at(SIGNED), at(LOST)
    return Lifecycle(
        n=n,
        intensity=intensity,
        stalled=stalled,
        won=won,
        signed=signed,
        created_ts=ts[first],
        won_ts=won_ts,
        signed_ts=signed_ts,
        lost_ts=lost_ts,
        close_ts=np.where(won, won_ts, lost_ts),
        e_deal=deal,
        e_stage=stage,
        e_ts=ts,
        e_stall=e_stall,
    )


_PER_DEAL = (
    "intensity",
    "stalled",
    "won",
    "signed",
    "created_ts",
    "won_ts",
    "signed_ts",
    "lost_ts",
    "close_ts",
)
_PER_ENTRY = ("e_deal", "e_stage", "e_ts", "e_stall")


def reorder(lc: Lifecycle, keep: np.ndarray) -> Lifecycle:
    """The deals ``keep`` (old indices, in their new order); entries follow, sorted by (deal, time)."""
    keep = np.asarray(keep, dtype=np.int64)
    inv = np.full(lc.n, -1, dtype=np.int64)
    inv[keep] = np.arange(keep.size)
    new_deal = inv[lc.e_deal]
    sel = np.flatnonzero(new_deal >= 0)
    order = sel[np.lexsort((lc.e_ts[sel], new_deal[sel]))]
    fields = {f: getattr(lc, f)[keep] for f in _PER_DEAL}
    fields.update({f: getattr(lc, f)[order] for f in _PER_ENTRY})
    fields["e_deal"] = new_deal[order]
    return Lifecycle(n=keep.size, **fields)


def concat(a: Lifecycle, b: Lifecycle) -> Lifecycle:
    fields = {f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in _PER_DEAL + _PER_ENTRY}
    fields["e_deal"] = np.concatenate([a.e_deal, b.e_deal + a.n])
    return Lifecycle(n=a.n + b.n, **fields)


def shift_days(lc: Lifecycle, days: np.ndarray) -> None:
    """Move every event of each deal by ``days[deal]`` (in place)."""
    s = np.asarray(days, dtype=np.int64) * DAY
    lc.e_ts += s[lc.e_deal]
    for f in ("created_ts", "won_ts", "signed_ts", "lost_ts", "close_ts"):
        v = getattr(lc, f)
        v += np.where(v >= 0, s, 0)
