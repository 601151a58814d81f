"""Global filters (region, team, rep) bound to URL query parameters so links can be shared.

The URL holds ids (``?region=east&team=T01&rep=USR-0007``), not labels. The choices offered are only those
inside the user's scope, a value from the URL that is not among them is dropped, and the query layer ANDs
the filter with the scope anyway: a filter can narrow what a user sees, never widen it.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboards.i18n import label, t
from dashboards.queries import DealFilter

FILTER_PARAMS = ("region", "team", "rep")


def _url_select(label: str, options: list[str], key: str, fmt: Callable[[str], str], lang: str) -> str | None:
    state_key = f"flt_{key}"
    if state_key not in st.session_state:
        requested = st.query_params.get(key)
        st.session_state[state_key] = requested if requested in options else None
    elif st.session_state[state_key] not in options:
        st.session_state[state_key] = None
    value = st.selectbox(label, options, key=state_key, format_func=fmt, index=None,
                         placeholder=t("filter.all", lang))
    if value is None:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != value:
        st.query_params[key] = value
    return value


def global_filters(options: pd.DataFrame, lang: str) -> DealFilter:
    """Region, team and rep pickers in one row (they wrap on a phone)."""
    regions = sorted(options["region"].dropna().unique().tolist())
    with st.container(horizontal=True):
        region = _url_select(t("filter.region", lang), regions, "region", lambda r: label(f"region.{r}", lang, r), lang)
        sub = options if region is None else options[options["region"] == region]
        teams = dict(zip(sub["team_id"], sub["team_name"], strict=False))
        team = _url_select(t("filter.team", lang), sorted(k for k in teams if k), "team",
                           lambda k: str(teams.get(k, k)), lang)
        sub = sub if team is None else sub[sub["team_id"] == team]
        reps = dict(zip(sub["owner_user_id"], sub["owner_name"], strict=False))
        rep = _url_select(t("filter.rep", lang), sorted(k for k in reps if k), "rep",
                          lambda k: str(reps.get(k, k)), lang)
    return DealFilter(region=region, team_id=team, owner_user_id=rep)

