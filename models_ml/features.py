"""Training and scoring rows from ``marts.fct_pipeline_snapshots`` and ``marts.fct_opportunities``.

Every feature of a row is known on its snapshot date: the snapshot columns are as of that date, and the
owner's and the account's win history counts only deals closed strictly before it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

SNAPSHOT_TABLE = "marts.fct_pipeline_snapshots"
OUTCOME_TABLE = "marts.fct_opportunities"

CATEGORICAL = ["stage", "lead_source", "industry", "product_line", "region"]
TOUCH = [
    "touchpoints_7d",
    "touchpoints_30d",
    "tp30_wechat",
    "tp30_phone",
    "tp30_email",
    "tp30_social",
    "tp30_visit",
    "tp30_meeting",
    "tp30_demo",
]
FLAGS = ["has_decision_maker_contact", "has_visit", "has_demo", "has_proposal_doc"]
NUMERIC = [
    "days_in_stage",
    "deal_age_days",
    "log_amount",
    "amount_change_count",
    "days_to_expected_close",
    "push_count",
    "regression_count",
    *TOUCH,
    "days_since_last_touch",
    "never_touched",
    *FLAGS,
    "owner_prior_closed",
    "owner_win_rate",
    "account_prior_wins",
    "account_prior_losses",
    "account_win_rate",
]
FEATURES = CATEGORICAL + NUMERIC
PRIOR_WEIGHT = 5.0  # pseudo-deals behind the smoothed trailing win rates


def table_exists(con, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def load_snapshots(con, until: date | None = None, on: date | None = None) -> pd.DataFrame:
    """Snapshot rows up to ``until`` (training) or of the one day ``on`` (scoring the open deals)."""
    sql = f"SELECT * FROM {SNAPSHOT_TABLE}"
    params: list = []
    if until is not None:
        sql += " WHERE snapshot_date <= ?"
        params.append(until)
    elif on is not None:
        sql += " WHERE snapshot_date = ?"
        params.append(on)
    sql += " ORDER BY snapshot_date, opportunity_id"
    return con.execute(sql, params).df()


def load_outcomes(con) -> pd.DataFrame:
    return con.execute(
        f"""SELECT opportunity_id, account_id, owner_user_id, created_at, won_at, lost_at, is_won, is_closed,
                   current_stage, CAST(amount_cny AS DOUBLE) AS amount_cny
            FROM {OUTCOME_TABLE} ORDER BY opportunity_id"""
    ).df()


def closed_deals(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per closed deal: its close date (won_at, else lost_at) and whether it was won."""
    o = outcomes[outcomes["is_closed"].astype(bool)].copy()
    o["closed_on"] = pd.to_datetime(o["won_at"].where(o["won_at"].notna(), o["lost_at"])).dt.normalize()
    o["won"] = o["is_won"].astype(bool).astype(int)
    return o[["opportunity_id", "account_id", "owner_user_id", "closed_on", "won"]].dropna(
        subset=["closed_on"]
    )


def _trailing(rows: pd.DataFrame, closed: pd.DataFrame, key: str, prefix: str) -> pd.DataFrame:
    """Cumulative wins/closed per key over deals closed strictly before each row's snapshot date."""
    ev = closed.dropna(subset=[key]).groupby([key, "closed_on"], as_index=False)["won"].agg(["sum", "count"])
    ev = ev.sort_values([key, "closed_on"])
    ev[f"{prefix}_wins"] = ev.groupby(key)["sum"].cumsum()
    ev[f"{prefix}_closed"] = ev.groupby(key)["count"].cumsum()
    left = rows[["_row", key, "_snap"]].copy()
    left[key] = left[key].astype(object)
    ev[key] = ev[key].astype(object)
    left = left.dropna(subset=[key]).sort_values("_snap")
    merged = pd.merge_asof(
        left,
        ev[[key, "closed_on", f"{prefix}_wins", f"{prefix}_closed"]].sort_values("closed_on"),
        left_on="_snap",
        right_on="closed_on",
        by=key,
        allow_exact_matches=False,
        direction="backward",
    )
    return merged.set_index("_row")[[f"{prefix}_wins", f"{prefix}_closed"]]


def build_features(snapshots: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Feature frame (index aligned with ``snapshots``) for every snapshot row."""
    s = snapshots.reset_index(drop=True)
    rows = pd.DataFrame(
        {
            "_row": np.arange(len(s)),
            "_snap": pd.to_datetime(s["snapshot_date"]).astype("datetime64[ns]"),
            "owner_user_id": s["owner_user_id"],
            "account_id": s["account_id"],
        }
    )
    closed = closed_deals(outcomes)
    closed["closed_on"] = closed["closed_on"].astype("datetime64[ns]")
    # the prior of the smoothed rates: the company's win rate over deals closed before the snapshot
    glob = (
        _trailing(rows.assign(_all="all"), closed.assign(_all="all"), "_all", "all")
        .reindex(rows["_row"])
        .fillna(0.0)
    )
    base_rate = ((glob["all_wins"] + 1.0) / (glob["all_closed"] + 3.0)).to_numpy()
    own = _trailing(rows, closed, "owner_user_id", "owner").reindex(rows["_row"]).fillna(0.0)
    acc = _trailing(rows, closed, "account_id", "account").reindex(rows["_row"]).fillna(0.0)
    f = pd.DataFrame(index=s.index)
    for c in CATEGORICAL:
        f[c] = s[c].astype("string").fillna("unknown").astype(object)
    f["days_in_stage"] = s["days_in_stage"].astype(float)
    f["deal_age_days"] = s["deal_age_days"].astype(float)
    f["log_amount"] = np.log1p(pd.to_numeric(s["amount_cny"], errors="coerce").astype(float).clip(lower=0))
    for c in ("amount_change_count", "days_to_expected_close", "push_count", "regression_count", *TOUCH):
        f[c] = pd.to_numeric(s[c], errors="coerce").astype(float)
    dslt = pd.to_numeric(s["days_since_last_touch"], errors="coerce").astype(float)
    f["never_touched"] = dslt.isna().astype(float)
    f["days_since_last_touch"] = dslt.fillna(f["deal_age_days"])
    for c in FLAGS:
        f[c] = s[c].astype("boolean").fillna(False).astype(float)
    ow, oc = own["owner_wins"].to_numpy(), own["owner_closed"].to_numpy()
    aw, ac = acc["account_wins"].to_numpy(), acc["account_closed"].to_numpy()
    f["owner_prior_closed"] = oc
    f["owner_win_rate"] = (ow + PRIOR_WEIGHT * base_rate) / (oc + PRIOR_WEIGHT)
    f["account_prior_wins"] = aw
    f["account_prior_losses"] = ac - aw
    f["account_win_rate"] = (aw + PRIOR_WEIGHT * base_rate) / (ac + PRIOR_WEIGHT)
    # identifiers kept beside the features (not model inputs) for the baseline and the outputs
    f["team_id"] = s["team_id"].astype("string").fillna("unknown").astype(object)
    f["owner_user_id"] = s["owner_user_id"].astype("string").fillna("unknown").astype(object)
    f["opportunity_id"] = s["opportunity_id"].astype(object)
    f["snapshot_date"] = pd.to_datetime(s["snapshot_date"]).dt.date
    f["amount_cny"] = pd.to_numeric(s["amount_cny"], errors="coerce").astype(float)
    f["expected_close_date"] = pd.to_datetime(s["expected_close_date"]).dt.date
    return f


def label(features: pd.DataFrame, outcomes: pd.DataFrame, known_by: date) -> pd.Series:
    """1 won / 0 lost for rows whose deal closed on or before ``known_by``; NaN otherwise."""
    closed = closed_deals(outcomes)
    closed = closed[closed["closed_on"].dt.date <= known_by]
    lab = closed.set_index("opportunity_id")["won"]
    return features["opportunity_id"].map(lab).astype(float)
