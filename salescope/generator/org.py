"""The sales organisation: users with roles, teams in regions, managers, hires, leavers, rep skill."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from contract import VOCABULARIES, codes
from salescope.generator import names, tables
from salescope.generator.rng import stream
from salescope.generator.timeline import Timeline

REGIONS = codes("region")  # east, north, south, central, west
REGION_ZH = {t.code: t.zh for t in VOCABULARIES["region"]}
ACTIVE_FOREVER = 10**9


@dataclass
class Org:
    user_id: pa.Array
    role: np.ndarray  # role code per user (object)
    team: np.ndarray  # team index or -1
    region: np.ndarray  # region index or -1
    manager: np.ndarray  # manager user index or -1
    hire_day: np.ndarray
    leave_day: np.ndarray  # ACTIVE_FOREVER when still employed
    skill: np.ndarray  # latent rep skill (logit of win odds), 0 for non-reps
    successor: np.ndarray  # who takes over a leaver's accounts and deals (-1)
    team_region: np.ndarray
    team_manager: np.ndarray
    table: pa.Table

    @property
    def reps(self) -> np.ndarray:
        return np.flatnonzero(self.role == "sales_rep")

    def owner_at(self, owners: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The rep owning a book at ``day``: a leaver's book passes to the successor."""
        o = np.asarray(owners, dtype=np.int64).copy()
        day = np.broadcast_to(np.asarray(day, dtype=np.int64), o.shape)
        for _ in range(20):
            gone = (o >= 0) & (self.leave_day[np.maximum(o, 0)] <= day)
            if not gone.any():
                break
            o[gone] = self.successor[o[gone]]
        return o

    def assign_rep(self, rng: np.random.Generator, region: np.ndarray, day: np.ndarray) -> np.ndarray:
        """A rep of the region (through the team) employed at ``day``, uniformly among those hired."""
        region = np.asarray(region)
        day = np.asarray(day, dtype=np.int64)
        out = np.full(region.shape[0], -1, dtype=np.int64)
        reps = self.reps
        rep_region = self.team_region[self.team[reps]]
        for g in np.unique(region):
            pool = reps[rep_region == g]
            if pool.size == 0:
                pool = reps
            pool = pool[np.argsort(self.hire_day[pool], kind="stable")]
            sel = np.flatnonzero(region == g)
            cnt = np.searchsorted(self.hire_day[pool], day[sel], side="right")
            cnt = np.maximum(cnt, 1)
            out[sel] = pool[np.floor(rng.random(sel.size) * cnt).astype(np.int64)]
        return self.owner_at(out, day)


def build_org(tl: Timeline, scale: float, seed: int) -> Org:
    rng = stream(seed, "org")
    s_day, a_day = tl.start_day, tl.as_of_day
    n_teams = max(2, round(20 * scale))
    n_exec = max(1, round(5 * scale))
    n_fin = max(1, round(8 * scale))
    n_stew = max(1, round(4 * scale))
    n_admin = max(1, round(3 * scale))
    n_reps = max(2 * n_teams, round(200 * scale) - n_exec - n_fin - n_stew - n_admin - n_teams)

    roles = (
        ["executive"] * n_exec
        + ["sales_manager"] * n_teams
        + ["sales_rep"] * n_reps
        + ["finance"] * n_fin
        + ["data_steward"] * n_stew
        + ["admin"] * n_admin
    )
    role = np.array(roles, dtype=object)
    n = role.size
    team = np.full(n, -1, dtype=np.int64)
    mgr_idx = np.arange(n_exec, n_exec + n_teams)
    rep_idx = np.arange(n_exec + n_teams, n_exec + n_teams + n_reps)
    team[mgr_idx] = np.arange(n_teams)
    team[rep_idx] = np.arange(n_reps) % n_teams
    team_region = np.arange(n_teams) % len(REGIONS)
    region = np.where(team >= 0, team_region[np.maximum(team, 0)], -1)

    manager = np.full(n, -1, dtype=np.int64)
    manager[1:n_exec] = 0
    manager[mgr_idx] = 0
    manager[rep_idx] = mgr_idx[team[rep_idx]]
    for r in ("finance", "data_steward", "admin"):
        members = np.flatnonzero(role == r)
        manager[members[0]] = 0
        manager[members[1:]] = members[0]

    # hires: staff before the window; a quarter of reps join during it (the first rep of a team never)
    hire = s_day - rng.integers(30, 4 * 365, size=n)
    first_of_team = rep_idx[:n_teams]
    new_hire = np.zeros(n, dtype=bool)
    new_hire[rep_idx] = rng.random(n_reps) < 0.25
    new_hire[first_of_team] = False
    hire[new_hire] = rng.integers(s_day + 30, max(s_day + 31, a_day - 45), size=int(new_hire.sum()))

    leave = np.full(n, ACTIVE_FOREVER, dtype=np.int64)
    may_leave = np.zeros(n, dtype=bool)
    may_leave[rep_idx] = rng.random(n_reps) < 0.10
    may_leave[first_of_team] = False
    lo = np.maximum(hire + 150, s_day + 90)
    hi = a_day - 20
    may_leave &= lo < hi
    idx = np.flatnonzero(may_leave)
    leave[idx] = lo[idx] + np.floor(rng.random(idx.size) * (hi - lo[idx])).astype(np.int64)

    successor = np.full(n, -1, dtype=np.int64)
    for r in idx:
        pool = rep_idx[
            (team[rep_idx] == team[r])
            & (rep_idx != r)
            & (hire[rep_idx] <= leave[r] - 30)
            & (leave[rep_idx] > leave[r])
        ]
        successor[r] = pool[rng.integers(0, pool.size)]

    skill = np.zeros(n)
    skill[rep_idx] = rng.normal(0.0, 0.45, size=n_reps)

    zh, py = names.person_names(rng, n)
    user_id = tables.seq_ids("users", n)
    team_no = np.zeros(n_teams, dtype=np.int64)
    team_names = []
    for t in range(n_teams):
        k = int((team_region[:t] == team_region[t]).sum())
        team_no[t] = k
        ordinal = names.ORDINALS[k] if k < len(names.ORDINALS) else str(k + 1)
        team_names.append(f"{REGION_ZH[REGIONS[team_region[t]]]}{ordinal}组")
    has_team = team >= 0
    t_safe = np.maximum(team, 0)
    emails = [f"{p}.{i + 1}@salescope.cn" for i, p in enumerate(py)]
    table = tables.build(
        "users",
        {
            "user_id": user_id,
            "name": tables.strings(zh),
            "email": tables.strings(emails, mask=rng.random(n) < 0.05),
            "role": tables.strings(role),
            "team_id": tables.strings([f"T{t + 1:02d}" for t in t_safe], mask=~has_team),
            "team_name": tables.strings([team_names[t] for t in t_safe], mask=~has_team),
            "region": tables.codes(REGIONS, np.maximum(region, 0), mask=region < 0),
            "manager_id": tables.take_ids(user_id, manager),
            "hire_date": tables.dates(hire),
            "is_active": tables.bools(leave > a_day),
        },
    )
    return Org(
        user_id=user_id,
        role=role,
        team=team,
        region=region,
        manager=manager,
        hire_day=hire,
        leave_day=leave,
        skill=skill,
        successor=successor,
        team_region=team_region,
        team_manager=mgr_idx,
        table=table,
    )
