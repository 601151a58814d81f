"""`salescope whatif`: the bottleneck simulator on the published serving snapshot (the one the dashboards
read): what +x points of passing conversion, or y fewer days, at one stage would have brought over the last
12 months and would bring over the next two quarters, and the stages ranked by bookings per point.

The arithmetic lives in ``dashboards/whatif.py`` (shared with the funnel page); the rows come from
``dashboards.sales_queries.load_whatif_history``. The command reads the whole company, narrowed by
``--region``, ``--team`` and ``--rep``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from salescope.commands.common import fail

# results on stdout (100 columns when piped, so the ranking never wraps); errors on stderr (common.fail)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 100)


def _quiet_streamlit() -> None:
    """The dashboards' query modules decorate their functions with ``st.cache_data``, which warns "No runtime
    found" once per function when imported outside Streamlit; the command needs no cache, so not the noise."""
    import streamlit  # noqa: F401  (creates the logger the next line quiets)

    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)


def register(app: typer.Typer) -> None:
    app.command(name="whatif")(whatif)


def _cny(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _days(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def whatif(
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage",
            help="Stage to change: initial_contact, needs_confirmed, proposal or negotiation "
            "(omit to print only the ranking).",
        ),
    ] = None,
    conversion: Annotated[
        float,
        typer.Option("--conversion", help="Passing conversion at the stage + this many percentage points."),
    ] = 5.0,
    days: Annotated[
        float, typer.Option("--days", help="Won deals spend this many fewer days in the stage (not below 0).")
    ] = 0.0,
    team: Annotated[
        str | None, typer.Option("--team", help="Only this team's deals (team id, e.g. T01).")
    ] = None,
    rep: Annotated[
        str | None, typer.Option("--rep", help="Only this rep's deals (CRM user id, e.g. USR-0007).")
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Only this region's deals (e.g. east).")
    ] = None,
    draws: Annotated[
        int, typer.Option("--draws", help="Bootstrap replays for the 80% interval (fixed seed).", min=20)
    ] = 200,
    home: Annotated[
        Path | None, typer.Option("--home", help="Runtime folder (default: $SALESCOPE_HOME or ./.salescope).")
    ] = None,
) -> None:
    """Bottleneck simulator: bookings and cycle gained by better conversion or fewer days at one stage."""
    _quiet_streamlit()
    from dashboards import db
    from dashboards import whatif as wi
    from salescope.settings import Settings

    if stage is not None and stage not in wi.OPEN_STAGES:
        fail(f"unknown stage {stage!r}: --stage must be one of {', '.join(wi.OPEN_STAGES)}")
    if not 0 <= conversion <= 100:
        fail(f"--conversion {conversion:g} is outside 0..100 percentage points")
    if days < 0:
        fail(f"--days {days:g} must be 0 or more")
    path = Settings.from_env(home).serving_path
    snap = db.current_snapshot(path)
    if snap is None:
        fail(
            f"no serving snapshot at {path}: run `salescope run` first (or pass --home to the runtime folder)"
        )
    result, rank = _compute(snap, stage, conversion, days, team, rep, region, draws)
    _print(result, rank)


def _compute(snap, stage, conversion, days, team, rep, region, draws):
    from dashboards import sales_queries as sq
    from dashboards import whatif as wi
    from dashboards.queries import DealFilter, run_query
    from dashboards.scope import Scope

    as_of_df = run_query(snap, "SELECT max(as_of) AS as_of FROM meta.publish_log")
    as_of = as_of_df["as_of"].iloc[0] if not as_of_df.empty else None
    if as_of is None or as_of != as_of:  # None or NaT
        fail("the serving snapshot records no as-of date (meta.publish_log): run `salescope run` again")
    as_of = as_of.date() if hasattr(as_of, "date") else as_of
    flt = DealFilter(region=region, team_id=team, owner_user_id=rep)
    window = wi.Window(as_of)
    transitions, deals = sq.load_whatif_history(snap, Scope.everything(), flt, window.start.date())
    if deals.empty:
        _no_deals(snap, flt, as_of)
    rank = wi.ranking(transitions, deals, as_of)
    result = None
    if stage is not None:
        result = wi.simulate(transitions, deals, as_of, wi.Change(stage, conversion, days), draws=draws)
    out.print(
        f"as of {as_of}; window {window.start.date()} to {as_of}; "
        f"scope: {_scope_text(flt)}; {len(deals):,} deals with stage entries or wins in the window"
    )
    return result, rank


def _scope_text(flt) -> str:
    parts = [
        f"{k} {v}"
        for k, v in (("region", flt.region), ("team", flt.team_id), ("rep", flt.owner_user_id))
        if v
    ]
    return ", ".join(parts) or "whole company"


def _no_deals(snap, flt, as_of) -> None:
    from dashboards.queries import run_query

    known = run_query(
        snap,
        "SELECT string_agg(DISTINCT region, ', ' ORDER BY region) AS regions, "
        "string_agg(DISTINCT team_id, ', ' ORDER BY team_id) AS teams FROM marts.fct_opportunities",
    ).iloc[0]
    fail(
        f"no deals for {_scope_text(flt)} in the 12 months to {as_of}: check the ids "
        f"(regions: {known['regions']}; teams: {known['teams']}; --rep takes a CRM user id such as USR-0007) "
        "or drop a filter"
    )


def _print(result, rank) -> None:
    if result is not None:
        s = result.stats
        c = result.change
        t = Table(title=f"What if: {c.stage} +{c.points:g} points of passing conversion, −{c.days:g} days")
        t.add_column("measure")
        t.add_column("value", justify="right")
        lo, hi = result.gain_12m_interval
        nlo, nhi = result.gain_next_interval
        rows = (
            ("Deals reached the stage (n)", f"{s.reached:,}"),
            ("Passing conversion (p)", _pct(s.passing_conversion)),
            ("Downstream win rate (w)", _pct(s.downstream_win_rate)),
            ("Mean won amount, CNY (a)", _cny(s.mean_won_amount)),
            ("Mean days in stage (passed deals)", _days(s.mean_days)),
            ("Points applied (capped at 100%)", f"{result.points_applied:.1f}"),
            ("Bookings gained, last 12 months, CNY", _cny(result.gain_12m)),
            ("  80% interval", f"{_cny(lo)} – {_cny(hi)}"),
            ("Bookings gained, next 2 quarters, CNY", _cny(result.gain_next)),
            ("  80% interval", f"{_cny(nlo)} – {_cny(nhi)}"),
            (
                f"Mean cycle days ({result.won_count:,} deals won)",
                f"{_days(result.cycle_before)} → {_days(result.cycle_after)}",
            ),
        )
        for k, v in rows:
            t.add_row(k, v)
        out.print(t)
        out.print("Δbookings = n · x/100 · w · a; interval: bootstrap over deals plus the binomial rescues.")
    r = Table(title="Stages by bookings gained per +1 point of passing conversion (last 12 months)")
    for col, justify in (
        ("#", "right"),
        ("stage", "left"),
        ("n", "right"),
        ("p", "right"),
        ("w", "right"),
        ("a (CNY)", "right"),
        ("+1 pt 12 mo (CNY)", "right"),
        ("+1 pt 2 q (CNY)", "right"),
        ("note", "left"),
    ):
        r.add_column(col, justify=justify, no_wrap=col in ("stage", "note"))
    for row in rank.itertuples():
        note = ", ".join(
            n
            for n, flag in (("most money", row.is_money_bottleneck), ("lowest conversion", row.is_bottleneck))
            if flag
        )
        r.add_row(
            str(row.rank),
            row.stage,
            f"{row.reached:,}",
            _pct(_none(row.passing_conversion)),
            _pct(_none(row.downstream_win_rate)),
            _cny(_none(row.mean_won_amount)),
            _cny(row.gain_12m),
            _cny(row.gain_next),
            note,
        )
    out.print(r)


def _none(v):
    return None if v is None or v != v else float(v)
