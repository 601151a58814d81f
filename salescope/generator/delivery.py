"""After the signature: contracts, delivery projects (with slips), project tasks and documents."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from contract import codes
from salescope.generator import demand as dm
from salescope.generator import lifecycle as lf
from salescope.generator import names, tables
from salescope.generator.accounts import Accounts
from salescope.generator.deals import Deals
from salescope.generator.fx import Fx
from salescope.generator.org import Org
from salescope.generator.rng import lognormal, stream
from salescope.generator.timeline import DAY, Timeline, business_seconds

CONTRACT_STATUSES = codes("contract_status")  # active, completed, terminated
PROJECT_STATUSES = codes("project_status")  # planning, in_progress, completed, on_hold
TASK_STATUSES = codes("task_status")  # todo, in_progress, done
DOC_TYPES = codes("doc_type")  # contract, proposal, quotation, acceptance_report, other
IMPLEMENTATION_DAYS = np.array([90.0, 200.0, 75.0])  # median planned delivery per product line
SERVICE_DAYS = np.array([365, 180, 365])  # contract runs on after delivery (support, warranty)
SLIP_LATE_SHARE = 0.65
SLIP_MEDIAN_DAYS = 25.0


@dataclass
class Delivery:
    contracts: pa.Table
    projects: pa.Table
    project_tasks: pa.Table
    documents: pa.Table
    # per contract (in contract order), used by finance and NPS
    deal: np.ndarray
    signed_day: np.ndarray
    start_day: np.ndarray
    value: np.ndarray  # cents in the contract currency
    currency: np.ndarray
    terms: np.ndarray  # payment terms days (30 when not recorded)
    terminated: np.ndarray
    actual_start_sim: np.ndarray  # simulated (may lie after as_of)
    actual_end_sim: np.ndarray
    slip_days: np.ndarray


def build_delivery(
    tl: Timeline, seed: int, org: Org, accounts: Accounts, deals: Deals, fx: Fx, opp_names: pa.Array
) -> Delivery:
    rng = stream(seed, "delivery")
    lc = deals.lc
    a_day = tl.as_of_day
    cutoff = tl.cutoff_ts
    signed = np.flatnonzero((lc.signed_ts >= 0) & (lc.signed_ts < cutoff))
    deal = signed[np.lexsort((signed, lc.signed_ts[signed]))]
    n = deal.size
    acc = deals.acc[deal]
    signed_day = lc.signed_ts[deal] // DAY
    product = deals.product_line[deal]
    value = deals.final_amount[deal]
    currency = deals.currency[deal]
    value_cny = value / 100.0 * fx.rate(currency, signed_day)

    start = signed_day + rng.integers(0, 31, size=n)
    impl = np.maximum(
        20,
        np.round(
            IMPLEMENTATION_DAYS[product]
            * lognormal(rng, 1.0, 0.35, n)
            * (value_cny / dm.REFERENCE_AMOUNT) ** 0.15
        ),
    ).astype(np.int64)
    planned_end = start + impl
    end = planned_end + SERVICE_DAYS[product]
    terms_raw = rng.choice(np.array([30, 45, 60, 90]), size=n, p=[0.35, 0.15, 0.30, 0.20])
    terms_null = rng.random(n) < 0.05
    terminated = (rng.random(n) < 0.02) & (signed_day < a_day - 60)

    actual_start = start + rng.integers(-3, 15, size=n)
    late = rng.random(n) < SLIP_LATE_SHARE
    slip = np.where(
        late,
        lognormal(rng, SLIP_MEDIAN_DAYS, 0.8, n) * np.where(product == 1, 1.5, 1.0),
        rng.normal(0, 5, size=n),
    )
    slip = np.round(slip).astype(np.int64)
    actual_end = np.maximum(actual_start + impl + slip, actual_start + 1)
    started = actual_start <= a_day
    finished = (actual_end <= a_day) & ~terminated
    p_status = np.where(
        ~started, 0, np.where(finished, 2, np.where(terminated | (rng.random(n) < 0.07), 3, 1))
    )
    c_status = np.where(terminated, 2, np.where(finished & (end <= a_day), 1, 0))
    end_null = rng.random(n) < 0.08

    contract_id = tables.seq_ids("contracts", n)
    contracts = tables.build(
        "contracts",
        {
            "contract_id": contract_id,
            "opportunity_id": deals.opp_id.take(pa.array(deal)),
            "account_id": accounts.account_id.take(pa.array(acc)),
            "signed_date": tables.dates(signed_day),
            "start_date": tables.dates(start),
            "end_date": tables.dates(end, mask=end_null),
            "contract_value": tables.cents(value),
            "currency": tables.codes(codes("currency"), currency),
            "payment_terms_days": tables.ints(terms_raw, mask=terms_null),
            "status": tables.codes(CONTRACT_STATUSES, c_status),
        },
    )

    owner = org.owner_at(deals.owner0[deal], signed_day)
    team = org.team[owner]
    u = rng.random(n)
    reps = org.reps
    same_team_rep = reps[rng.integers(0, reps.size, size=n)]
    pm = np.where(u < 0.4, org.team_manager[team], np.where(u < 0.8, same_team_rep, -1))
    project_id = tables.seq_ids("projects", n)
    proj_names = [f"{x}项目" for x in opp_names.take(pa.array(deal)).to_pylist()]
    projects = tables.build(
        "projects",
        {
            "project_id": project_id,
            "contract_id": contract_id,
            "account_id": accounts.account_id.take(pa.array(acc)),
            "name": tables.strings(proj_names),
            "manager_user_id": tables.take_ids(org.user_id, pm),
            "planned_start": tables.dates(start),
            "planned_end": tables.dates(planned_end),
            "actual_start": tables.dates(actual_start, mask=~started),
            "actual_end": tables.dates(actual_end, mask=~finished),
            "status": tables.codes(PROJECT_STATUSES, p_status),
        },
    )

    # tasks: phases spread over the plan; done when their simulated completion has passed
    k = np.minimum(12, 3 + rng.poisson(np.where(product == 1, 4, 2)))
    t_proj = np.repeat(np.arange(n), k)
    first = np.concatenate([[0], np.cumsum(k)[:-1]])
    i = np.arange(t_proj.size) - first[t_proj]
    frac = (i + 1) / k[t_proj]
    due = start[t_proj] + np.round(frac * impl[t_proj]).astype(np.int64)
    done_sim = actual_start[t_proj] + np.round(frac * (actual_end - actual_start)[t_proj]).astype(np.int64)
    done_sim = np.maximum(done_sim + rng.integers(-3, 4, size=t_proj.size), actual_start[t_proj])
    done_sim = np.where(finished[t_proj], np.minimum(done_sim, actual_end[t_proj]), done_sim)
    is_done = (
        started[t_proj] & (done_sim <= a_day) & ~(terminated[t_proj] & (done_sim > signed_day[t_proj] + 90))
    )
    prev_done = np.ones(t_proj.size, dtype=bool)
    prev_done[1:] = is_done[:-1] | (i[1:] == 0)
    t_status = np.where(is_done, 2, np.where(started[t_proj] & prev_done & ~terminated[t_proj], 1, 0))
    t_owner = owner[t_proj]
    assignee = np.where(
        rng.random(t_proj.size) < 0.15, -1, np.where(rng.random(t_proj.size) < 0.3, pm[t_proj], t_owner)
    )
    hours = np.clip(np.round(lognormal(rng, 40.0, 0.8, t_proj.size) * 2) / 2, 2, 1500)
    tasks = tables.build(
        "project_tasks",
        {
            "task_id": tables.seq_ids("project_tasks", t_proj.size),
            "project_id": project_id.take(pa.array(t_proj)),
            "name": tables.strings(names.pick(rng, names.TASK_NAMES, t_proj.size)),
            "assignee_user_id": tables.take_ids(org.user_id, assignee),
            "estimated_hours": tables.floats(hours),
            "due_date": tables.dates(due),
            "completed_at": tables.dates(done_sim, mask=~is_done),
            "status": tables.codes(TASK_STATUSES, t_status),
        },
    )

    documents = _documents(
        rng,
        tl,
        org,
        deals,
        deal,
        owner,
        pm,
        actual_start,
        actual_end,
        started,
        finished,
        contract_id,
        project_id,
    )
    return Delivery(
        contracts=contracts,
        projects=projects,
        project_tasks=tasks,
        documents=documents,
        deal=deal,
        signed_day=signed_day,
        start_day=start,
        value=value,
        currency=currency,
        terms=np.where(terms_null, 30, terms_raw),
        terminated=terminated,
        actual_start_sim=actual_start,
        actual_end_sim=actual_end,
        slip_days=slip,
    )


def _documents(
    rng,
    tl,
    org,
    deals,
    c_deal,
    c_owner,
    pm,
    actual_start,
    actual_end,
    started,
    finished,
    contract_id,
    project_id,
) -> pa.Table:
    lc = deals.lc
    n_exp = deals.n_exported
    parts = []  # (doc_type, opp index or -1, project index or -1, version, ts, uploader)

    def first_entry(stage):
        sel = np.flatnonzero((lc.e_stage == stage) & (lc.e_deal < n_exp))
        d, first_pos = np.unique(lc.e_deal[sel], return_index=True)
        return d, lc.e_ts[sel[first_pos]]

    for doc, stage, p2, p3 in (("proposal", lf.PR, 0.5, 0.2), ("quotation", lf.NG, 0.3, 0.0)):
        d, ts0 = first_entry(stage)
        day = ts0 // DAY + rng.integers(0, 5, size=d.size)
        for version, p in ((1, 1.0), (2, p2), (3, p3)):
            if version > 1:
                keep = rng.random(d.size) < p
                d, day = d[keep], day[keep] + rng.integers(3, 15, size=int(keep.sum()))
            ts = day * DAY + business_seconds(rng, d.size)
            parts.append(
                (
                    DOC_TYPES.index(doc),
                    d,
                    np.full(d.size, -1),
                    version,
                    ts,
                    org.owner_at(deals.owner0[d], day),
                )
            )
    n = c_deal.size
    parts.append((DOC_TYPES.index("contract"), c_deal, np.full(n, -1), 1, lc.signed_ts[c_deal], c_owner))
    st = np.flatnonzero(started)
    parts.append(
        (
            DOC_TYPES.index("other"),
            np.full(st.size, -1),
            st,
            1,
            actual_start[st] * DAY + rng.integers(0, 10, size=st.size) * DAY + business_seconds(rng, st.size),
            np.where(pm[st] >= 0, pm[st], c_owner[st]),
        )
    )
    fin = np.flatnonzero(finished)
    parts.append(
        (
            DOC_TYPES.index("acceptance_report"),
            np.full(fin.size, -1),
            fin,
            1,
            actual_end[fin] * DAY + rng.integers(0, 8, size=fin.size) * DAY + business_seconds(rng, fin.size),
            np.where(pm[fin] >= 0, pm[fin], c_owner[fin]),
        )
    )

    doc_type = np.concatenate([np.full(p[1].size, p[0]) for p in parts])
    opp = np.concatenate([p[1] for p in parts])
    proj = np.concatenate([p[2] for p in parts])
    version = np.concatenate([np.full(p[1].size, p[3]) for p in parts])
    ts = np.concatenate([p[4] for p in parts])
    by = np.concatenate([p[5] for p in parts])
    keep = np.flatnonzero(ts < tl.cutoff_ts)
    order = keep[np.lexsort((keep, ts[keep]))]
    doc_type, opp, proj, version, ts, by = (x[order] for x in (doc_type, opp, proj, version, ts, by))
    m = ts.size
    by = np.where(rng.random(m) < 0.03, -1, by)
    ref = np.where(
        opp >= 0,
        deals.opp_id.take(pa.array(np.maximum(opp, 0))).to_numpy(zero_copy_only=False),
        project_id.take(pa.array(np.maximum(proj, 0))).to_numpy(zero_copy_only=False),
    )
    zh = {
        "contract": "合同",
        "proposal": "技术方案",
        "quotation": "报价单",
        "acceptance_report": "验收报告",
        "other": "项目启动计划",
    }
    ext = {
        "contract": "pdf",
        "proposal": "docx",
        "quotation": "xlsx",
        "acceptance_report": "pdf",
        "other": "docx",
    }
    file_names = [
        f"{zh[DOC_TYPES[t]]}_{r}_v{v}.{ext[DOC_TYPES[t]]}"
        for t, r, v in zip(doc_type, ref, version, strict=True)
    ]
    return tables.build(
        "documents",
        {
            "document_id": tables.seq_ids("documents", m),
            "project_id": tables.take_ids(project_id, proj),
            "opportunity_id": tables.take_ids(deals.opp_id, opp),
            "doc_type": tables.codes(DOC_TYPES, doc_type),
            "version": tables.ints(version),
            "file_name": tables.strings(file_names),
            "uploaded_at": tables.timestamps(ts),
            "uploaded_by": tables.take_ids(org.user_id, by),
        },
    )
