"""The bottleneck simulator (瓶颈模拟): what +x points of passing conversion at a stage, or y fewer days in
it, would have brought over the last 12 months and would bring over the next two quarters.

Pure pandas/numpy (no Streamlit, no SQL), so the funnel page and ``salescope whatif`` share it. Inputs: the
stage-transition rows of the deals in scope (``marts.fct_stage_transitions``: opportunity_id, stage,
stage_order, entered_at, days_in_stage, next_stage ...), one row per deal with its outcome
(``marts.fct_opportunities``: opportunity_id, is_won, won_at, amount_cny, cycle_days) and the as-of date.

Per open stage s (initial_contact, needs_confirmed, proposal, negotiation), over the deals that *reached* s in
the window (the 12 months up to the as-of date):

- reached (n_s): deals whose first arrival at s or a later stage falls in the window. As in METRICS.md
  ("stage reached"), a deal that skipped s counts as having reached and passed it; its arrival is its first
  entry into a later stage.
- p_s: passing conversion, the share of them that reached any later stage by the as-of date. Deals still
  open in s count as not passed, as on the funnel page.
- w_s: downstream win rate, the share of the passed deals that were won (by the as-of date).
- a_s: mean amount (CNY) of those won deals; d_s: mean days a passed deal spent in s.

Change "conversion +x points at s": x is capped so p_s + x <= 100 %. The replay rescues each deal that did
not pass s with probability x / (100 (1 - p_s)); a rescued deal then follows the downstream history of a
passed deal drawn at random (won with probability w_s, at that deal's amount). Its expected value is

    Δbookings(last 12 months) = n_s · x/100 · w_s · a_s

which is the point estimate reported. Next two quarters: the run rate, n_s / 4 entries a quarter × 2,
with the same arithmetic. The interval (80 %: 10th to 90th percentile) comes from a bootstrap over deals
(``DRAWS`` resamples of the reached deals, fixed seed) plus the binomial draw of the rescued deals and, for
the next two quarters, Poisson arrivals.

Change "days in stage −y at s": every deal won in the window that spent time in s closes y days sooner (not
below 0 days in s); the result is the mean sales cycle (won_at − created_at, METRICS.md) of the deals won
in the window, before and after. Only the cycle is reported: deals that would move their won date from after
the as-of date into the window are open today and their bookings are out of scope here.

Assumptions: a rescued deal converts like the deals that passed s did (same win rate and amounts), the
bookings of rescued deals land inside the period, and passed deals still open downstream count as not won
(so w_s, and the gains, are lower for recent arrivals: a conservative estimate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

# the stage order of fct_stage_transitions.stage_order (1..6); the open stages are the ones before won
STAGES = ("initial_contact", "needs_confirmed", "proposal", "negotiation", "won", "contract_signed")
OPEN_STAGES = STAGES[:4]
STAGE_ORDER = {s: i for i, s in enumerate(STAGES, start=1)}
WINDOW_MONTHS = 12
FUTURE_QUARTERS = 2
DRAWS = 200  # bootstrap resamples for the interval
SEED = 13
INTERVAL = (0.10, 0.90)  # the 80 % interval

TRANSITION_COLUMNS = ("opportunity_id", "stage", "stage_order", "entered_at", "days_in_stage", "next_stage")
DEAL_COLUMNS = ("opportunity_id", "is_won", "won_at", "amount_cny", "cycle_days")


@dataclass(frozen=True)
class Change:
    """The change to simulate at one stage: passing conversion +``points`` (percentage points), and/or
    ``days`` fewer days in the stage."""

    stage: str
    points: float = 0.0
    days: float = 0.0

    def __post_init__(self) -> None:
        if self.stage not in OPEN_STAGES:
            raise ValueError(f"unknown stage {self.stage!r}: pick one of {', '.join(OPEN_STAGES)}")
        if self.points < 0 or self.days < 0:
            raise ValueError("the conversion points and the days must be 0 or more")


@dataclass(frozen=True)
class Window:
    """The 12 months up to the as-of date: [start, end) on timestamps, end = the day after the as-of date."""

    as_of: date

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.as_of + timedelta(days=1))

    @property
    def start(self) -> pd.Timestamp:
        return self.end - pd.DateOffset(months=WINDOW_MONTHS)


@dataclass(frozen=True)
class StageStats:
    stage: str
    reached: int  # n_s
    passed: int
    passing_conversion: float | None  # p_s
    won: int  # passed deals that were won
    downstream_win_rate: float | None  # w_s
    mean_won_amount: float | None  # a_s (CNY)
    mean_days: float | None  # d_s: mean days in s of the passed deals that spent time in it

    @property
    def value_per_pass(self) -> float:
        """w_s · a_s: the expected bookings one more passing deal brings (0 without any passed deal)."""
        return 0.0 if not self.passed else self.won / self.passed * (self.mean_won_amount or 0.0)

    def applied_points(self, points: float) -> float:
        """x capped so that p_s + x <= 100 % (0 when nobody reached s)."""
        if not self.reached:
            return 0.0
        return float(min(points, 100.0 * (1.0 - (self.passing_conversion or 0.0))))

    def gain(self, points: float, entries: float | None = None) -> float:
        """n · x/100 · w_s · a_s, n = the deals reached (or ``entries``), x capped."""
        n = self.reached if entries is None else entries
        return n * self.applied_points(points) / 100.0 * self.value_per_pass


@dataclass(frozen=True)
class Result:
    change: Change
    window: Window
    stats: StageStats
    points_applied: float
    gain_12m: float  # Δbookings over the last 12 months (CNY), the formula
    gain_12m_interval: tuple[float, float]
    gain_next: float  # Δbookings over the next two quarters (CNY)
    gain_next_interval: tuple[float, float]
    won_count: int  # deals won in the window (the cycle's deals)
    cycle_before: float | None  # mean sales cycle days of the deals won in the window
    cycle_after: float | None


# ---- per deal and stage --------------------------------------------------------------------------------


def _frames(transitions: pd.DataFrame, deals: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    t = transitions.loc[:, list(TRANSITION_COLUMNS)].copy()
    t["entered_at"] = pd.to_datetime(t["entered_at"])
    t["stage_order"] = pd.to_numeric(t["stage_order"], errors="coerce")  # lost has none
    t["days_in_stage"] = pd.to_numeric(t["days_in_stage"], errors="coerce").astype(float)
    d = deals.loc[:, list(DEAL_COLUMNS)].drop_duplicates("opportunity_id").copy()
    d["is_won"] = d["is_won"].fillna(False).astype(bool)
    d["won_at"] = pd.to_datetime(d["won_at"])
    d["amount_cny"] = pd.to_numeric(d["amount_cny"], errors="coerce").astype(float).fillna(0.0)
    d["cycle_days"] = pd.to_numeric(d["cycle_days"], errors="coerce").astype(float)
    return t, d


def reached_deals(transitions: pd.DataFrame, deals: pd.DataFrame, as_of: date, stage: str) -> pd.DataFrame:
    """One row per deal that reached ``stage`` in the window: opportunity_id, reached_at, passed, is_won,
    amount_cny, days (total days in the stage; 0 for a deal that skipped it). Entries after the as-of date
    (none in a published snapshot) are ignored."""
    t, d = _frames(transitions, deals)
    w = Window(as_of)
    k = STAGE_ORDER[stage]
    t = t[t["entered_at"] < w.end]
    staged = t[t["stage_order"].notna()]
    furthest = staged.groupby("opportunity_id")["stage_order"].max()
    reached_at = staged[staged["stage_order"] >= k].groupby("opportunity_id")["entered_at"].min()
    reached_at = reached_at[(reached_at >= w.start) & (reached_at < w.end)]
    days = t[t["stage"] == stage].groupby("opportunity_id")["days_in_stage"].sum(min_count=1)
    out = pd.DataFrame({"reached_at": reached_at})
    out["passed"] = furthest.reindex(out.index) > k
    out["days"] = days.reindex(out.index).fillna(0.0)
    out = out.join(d.set_index("opportunity_id")[["is_won", "amount_cny"]], how="inner")
    out["is_won"] = out["is_won"] & out["passed"]  # won implies passed; guard against odd histories
    return out.reset_index(names="opportunity_id").sort_values("opportunity_id", ignore_index=True)


def _stats_of(stage: str, r: pd.DataFrame) -> StageStats:
    n, passed = len(r), int(r["passed"].sum())
    won = r[r["passed"] & r["is_won"]]
    left = r[r["passed"] & (r["days"] > 0)]
    return StageStats(
        stage=stage,
        reached=n,
        passed=passed,
        passing_conversion=passed / n if n else None,
        won=len(won),
        downstream_win_rate=len(won) / passed if passed else None,
        mean_won_amount=float(won["amount_cny"].mean()) if len(won) else None,
        mean_days=float(left["days"].mean()) if len(left) else None,
    )


def stage_stats(transitions: pd.DataFrame, deals: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """n_s, p_s, w_s, a_s, d_s of every open stage (one row each, in stage order)."""
    rows = [_stats_of(s, reached_deals(transitions, deals, as_of, s)) for s in OPEN_STAGES]
    return pd.DataFrame([vars(r) for r in rows])


# ---- the replay -----------------------------------------------------------------------------------------


def _replay_once(
    rng: np.random.Generator, passed: np.ndarray, values: np.ndarray, points: float, future: float | None
) -> float:
    """One replay of the history ``passed`` / ``values`` (won amount or 0 per deal): the extra bookings of
    +``points`` at the stage. ``future``: instead of re-running these deals, this many expected arrivals
    (Poisson), each passing ``points``/100 more often."""
    n = len(passed)
    pool = values[passed]
    if not n or not len(pool):
        return 0.0
    p = len(pool) / n
    x = min(points, 100.0 * (1.0 - p)) / 100.0
    if x <= 0:
        return 0.0
    if future is None:
        rescued = rng.binomial(n - len(pool), x / (1.0 - p))  # each deal that did not pass, rescued
    else:
        rescued = rng.binomial(rng.poisson(future), x)  # each future arrival: one more pass with chance x
    return float(pool[rng.integers(0, len(pool), rescued)].sum()) if rescued else 0.0


def replay(
    reached: pd.DataFrame,
    points: float,
    draws: int = DRAWS,
    seed: int = SEED,
    *,
    bootstrap: bool = True,
    future_entries: float | None = None,
) -> np.ndarray:
    """``draws`` replays of +``points`` at the stage over the deals of ``reached_deals``: Δbookings each.

    ``bootstrap``: each replay first resamples the deals (with replacement), so the spread includes the
    uncertainty of p_s, w_s and a_s; without it the history is fixed and only the rescues are random (their
    mean converges to ``StageStats.gain``). ``future_entries``: replay that many expected new arrivals
    instead of the window's deals (the next two quarters)."""
    rng = np.random.default_rng(seed)
    passed = reached["passed"].to_numpy(bool)
    values = np.where(reached["is_won"].to_numpy(bool), reached["amount_cny"].to_numpy(float), 0.0)
    out = np.empty(draws)
    for i in range(draws):
        if bootstrap and len(passed):
            idx = rng.integers(0, len(passed), len(passed))
            out[i] = _replay_once(rng, passed[idx], values[idx], points, future_entries)
        else:
            out[i] = _replay_once(rng, passed, values, points, future_entries)
    return out


def _interval(draws: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(draws, INTERVAL)
    return float(lo), float(hi)


# ---- the cycle ------------------------------------------------------------------------------------------


def cycle_change(
    transitions: pd.DataFrame, deals: pd.DataFrame, as_of: date, stage: str, days: float
) -> tuple[int, float | None, float | None]:
    """(won deals in the window, mean cycle days before, after ``days`` fewer days in ``stage``): each deal won
    in the window loses min(days, its days in the stage before it was won)."""
    t, d = _frames(transitions, deals)
    w = Window(as_of)
    won = d[d["is_won"] & (d["won_at"] >= w.start) & (d["won_at"] < w.end) & d["cycle_days"].notna()]
    if won.empty:
        return 0, None, None
    in_stage = t[(t["stage"] == stage) & t["opportunity_id"].isin(won["opportunity_id"])]
    in_stage = in_stage.merge(won[["opportunity_id", "won_at"]], on="opportunity_id")
    spent = (
        in_stage[in_stage["entered_at"] < in_stage["won_at"]]
        .groupby("opportunity_id")["days_in_stage"]
        .sum()
        .reindex(won["opportunity_id"])
        .fillna(0.0)
        .to_numpy()
    )
    cycle = won["cycle_days"].to_numpy(float)
    after = np.maximum(cycle - np.minimum(days, spent), 0.0)
    return len(won), float(cycle.mean()), float(after.mean())


# ---- the simulator --------------------------------------------------------------------------------------


def simulate(
    transitions: pd.DataFrame,
    deals: pd.DataFrame,
    as_of: date,
    change: Change,
    draws: int = DRAWS,
    seed: int = SEED,
) -> Result:
    """The bookings the change would have brought over the last 12 months and would bring over the next two
    quarters (point estimate: the formula; interval: the bootstrap replay), and the mean cycle before/after."""
    r = reached_deals(transitions, deals, as_of, change.stage)
    stats = _stats_of(change.stage, r)
    future = stats.reached / (WINDOW_MONTHS / 3) * FUTURE_QUARTERS  # the run rate: entries a quarter × 2
    won_count, before, after = cycle_change(transitions, deals, as_of, change.stage, change.days)
    return Result(
        change=change,
        window=Window(as_of),
        stats=stats,
        points_applied=stats.applied_points(change.points),
        gain_12m=stats.gain(change.points),
        gain_12m_interval=_interval(replay(r, change.points, draws, seed)),
        gain_next=stats.gain(change.points, future),
        gain_next_interval=_interval(replay(r, change.points, draws, seed + 1, future_entries=future)),
        won_count=won_count,
        cycle_before=before,
        cycle_after=after,
    )


def ranking(transitions: pd.DataFrame, deals: pd.DataFrame, as_of: date, points: float = 1.0) -> pd.DataFrame:
    """The open stages ranked by the bookings +``points`` of passing conversion would have brought over the
    last 12 months, highest first: the bottleneck with the most money behind it (``is_money_bottleneck``),
    beside METRICS.md's bottleneck, the lowest passing conversion (``is_bottleneck``)."""
    rows = []
    for s in OPEN_STAGES:
        st_ = _stats_of(s, reached_deals(transitions, deals, as_of, s))
        future = st_.reached / (WINDOW_MONTHS / 3) * FUTURE_QUARTERS
        rows.append(
            {
                "stage": s,
                "reached": st_.reached,
                "passing_conversion": st_.passing_conversion,
                "downstream_win_rate": st_.downstream_win_rate,
                "mean_won_amount": st_.mean_won_amount,
                "mean_days": st_.mean_days,
                "gain_12m": st_.gain(points),
                "gain_next": st_.gain(points, future),
            }
        )
    df = pd.DataFrame(rows)
    conv = df["passing_conversion"]
    df["is_bottleneck"] = conv.notna() & (df.index == conv.idxmin() if conv.notna().any() else False)
    df = df.sort_values(["gain_12m", "reached"], ascending=False, kind="stable", ignore_index=True)
    df.insert(0, "rank", range(1, len(df) + 1))
    df["is_money_bottleneck"] = (df["rank"] == 1) & (df["gain_12m"] > 0)
    return df
