"""Global filters (region, team, rep) bound to URL query parameters so links can be shared.

The URL holds ids (``?region=east&team=T01&rep=USR-0007``), not labels. The choices offered are only those
inside the user's scope, a value from the URL that is not among them is dropped, and the query layer ANDs
the filter with the scope anyway: a filter can narrow what a user sees, never widen it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from dashboards.i18n import t, vocab_label
from dashboards.queries import DealFilter


def state_key(param: str) -> str:
    """The session-state key of the widget bound to ``?param=`` (pages that set a filter use it too)."""
    return f"flt_{param}"


def url_choice(
    title: str,
    options: Sequence[str],
    param: str,
    format_func: Callable[[str], str] = str,
    *,
    default: str | None = None,
    optional: bool = False,
    segmented: bool = False,
    placeholder: str | None = None,
    help: str | None = None,
    width: int | str = "stretch",
) -> str | None:
    """A choice whose code (not its label) is kept in ``?param=`` so the link can be shared.

    A URL value not among ``options`` is dropped. The default (``default``, else the first option; none when
    ``optional``) keeps the URL clean. ``segmented`` shows buttons instead of a drop-down.
    """
    options = list(options)
    default = None if optional or not options else (default if default in options else options[0])
    key = state_key(param)
    current = st.session_state.get(key)
    if key not in st.session_state or current not in options and not (optional and current is None):
        requested = st.query_params.get(param)
        st.session_state[key] = requested if requested in options else default
    if segmented:
        value = st.segmented_control(
            title, options, key=key, format_func=format_func, required=not optional, help=help, width=width
        )
    else:
        value = st.selectbox(
            title,
            options,
            key=key,
            format_func=format_func,
            help=help,
            width=width,
            placeholder=placeholder,
            **({"index": None} if optional else {}),
        )
    value = value if value in options else default
    if value == default:
        st.query_params.pop(param, None)
    elif st.query_params.get(param) != value:
        st.query_params[param] = value
    return value


def month_picker(months: Sequence[str], lang: str) -> str | None:
    """One month (``YYYY-MM``, newest first; the newest is the default), bound to ``?month=``."""
    return url_choice(t("filter.month", lang), months, "month")


def global_filters(options: pd.DataFrame, lang: str) -> DealFilter:
    """Region, team and rep pickers in one row (they wrap on a phone)."""
    regions = sorted(options["region"].dropna().unique().tolist())
    with st.container(horizontal=True):
        everything = t("filter.all", lang)
        region = url_choice(
            t("filter.region", lang),
            regions,
            "region",
            lambda r: vocab_label("region", r, lang),
            optional=True,
            placeholder=everything,
        )
        sub = options if region is None else options[options["region"] == region]
        teams = dict(zip(sub["team_id"], sub["team_name"], strict=False))
        team = url_choice(
            t("filter.team", lang),
            sorted(k for k in teams if k),
            "team",
            lambda k: str(teams.get(k, k)),
            optional=True,
            placeholder=everything,
        )
        sub = sub if team is None else sub[sub["team_id"] == team]
        reps = dict(zip(sub["owner_user_id"], sub["owner_name"], strict=False))
        rep = url_choice(
            t("filter.rep", lang),
            sorted(k for k in reps if k),
            "rep",
            lambda k: str(reps.get(k, k)),
            optional=True,
            placeholder=everything,
        )
    return DealFilter(region=region, team_id=team, owner_user_id=rep)
