"""ml.customer_ltv: BG/NBD + Gamma-Gamma on the customers' won deals, with tier and lifecycle (METRICS.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models_ml.features import table_exists
from models_ml.ltv import LTVResult, fit_ltv

COLUMNS = [
    "account_id",
    "p_alive",
    "expected_purchases_12m",
    "predicted_ltv_12m_cny",
    "predicted_ltv_24m_cny",
    "predicted_ltv_36m_cny",
    "tier",
    "lifecycle",
]


@dataclass
class CustomerLTV:
    table: pd.DataFrame
    fit: LTVResult | None
    message: str


def won_deals(con) -> pd.DataFrame:
    return con.execute(
        """SELECT account_id, CAST(won_at AS DATE) AS won_date, CAST(amount_cny AS DOUBLE) AS amount_cny
           FROM marts.fct_opportunities WHERE is_won AND won_at IS NOT NULL ORDER BY account_id, won_at"""
    ).df()


def _accounts(con) -> pd.DataFrame:
    if table_exists(con, "marts.mart_customer_profile"):
        return con.execute(
            "SELECT account_id, is_churned, first_purchase_date FROM marts.mart_customer_profile ORDER BY account_id"
        ).df()
    if table_exists(con, "marts.dim_accounts"):
        return con.execute("SELECT account_id FROM marts.dim_accounts ORDER BY account_id").df()
    return pd.DataFrame({"account_id": pd.Series(dtype=str)})


def lifecycle_and_tier(df: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """lifecycle: prospect, churned, new, at_risk (P(alive) < 0.5), active; tier A–D by predicted 24-month
    LTV quartile among customers that are not churned (A = top quartile); none for prospects and churned."""
    out = df.copy()
    first = pd.to_datetime(out["first_purchase_date"])
    last = pd.to_datetime(out["last_purchase_date"])
    a = pd.Timestamp(as_of)
    churned = (
        out["is_churned"].astype("boolean") if "is_churned" in out else pd.Series(pd.NA, index=out.index)
    )
    churned = churned.fillna(last < a - pd.DateOffset(months=12)).astype(bool)
    life = np.select(
        [first.isna(), churned, first > a - pd.DateOffset(months=12), out["p_alive"] < 0.5],
        ["prospect", "churned", "new", "at_risk"],
        default="active",
    )
    out["lifecycle"] = life
    eligible = ~np.isin(life, ["prospect", "churned"])
    tier = pd.Series(pd.NA, index=out.index, dtype="string")
    if eligible.sum() >= 4:
        ranks = out.loc[eligible, "predicted_ltv_24m_cny"].rank(method="first", ascending=False, pct=True)
        tier.loc[eligible] = np.select(
            [ranks <= 0.25, ranks <= 0.5, ranks <= 0.75], ["A", "B", "C"], default="D"
        )
    elif eligible.any():
        tier.loc[eligible] = "B"
    out["tier"] = tier
    return out


def customer_ltv(con, as_of: date, unit: str = "week") -> CustomerLTV:
    tx = won_deals(con)
    accounts = _accounts(con)
    if tx["account_id"].nunique() < 20:
        return CustomerLTV(
            pd.DataFrame(columns=COLUMNS),
            None,
            f"only {tx['account_id'].nunique()} customers with a won deal: LTV not fitted (needs 20)",
        )
    res = fit_ltv(tx, "account_id", "won_date", "amount_cny", as_of, unit=unit)
    c = res.customers.rename(columns={"customer_id": "account_id"})
    c = c.rename(columns={"first_purchase": "first_purchase_date", "last_purchase": "last_purchase_date"})
    for h in (12, 24, 36):
        c[f"predicted_ltv_{h}m_cny"] = c[f"predicted_ltv_{h}m"]
    merged = accounts.merge(c, on="account_id", how="outer", suffixes=("_profile", ""))
    if "first_purchase_date_profile" in merged:
        merged = merged.drop(columns=["first_purchase_date_profile"])
    merged = lifecycle_and_tier(merged, as_of)
    table = merged[COLUMNS].sort_values("account_id", kind="stable").reset_index(drop=True)
    bg = res.bgnbd
    msg = (
        f"BG/NBD on {bg.n_customers} customers (r={bg.r:.3g}, alpha={bg.alpha:.3g}, a={bg.a:.3g}, b={bg.b:.3g})"
        + (f"; Gamma-Gamma on {res.gamma_gamma.n_customers} repeat customers" if res.gamma_gamma else "")
    )
    return CustomerLTV(table, res, msg)
