"""BG/NBD and Gamma-Gamma in log space with scipy (no lifetimes or pymc).

Conventions (Fader, Hardie & Lee 2005; Fader & Hardie 2013):
- a customer's purchases are counted per distinct day; ``frequency`` x = repeat purchase days (all days
  after the first), ``recency`` t_x = time from the first to the last purchase day, ``T`` = time from the
  first purchase to the calibration end, all in one unit (day, week or month).
- Gamma-Gamma is fitted on customers with x > 0, on the mean value of their repeat purchase days.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, expit, gammaln, hyp2f1

UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}


def unit_days(unit: str) -> float:
    if unit not in UNIT_DAYS:
        raise ValueError(f"time unit {unit!r} is not supported: use one of {', '.join(UNIT_DAYS)}")
    return UNIT_DAYS[unit]


def months_to_units(months: float, unit: str) -> float:
    return months * UNIT_DAYS["month"] / unit_days(unit)


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int


def rfm_summary(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    calibration_end,
    unit: str = "week",
) -> pd.DataFrame:
    """One row per customer with a purchase on or before calibration_end: frequency, recency, T, monetary.

    monetary is the mean value of the repeat purchase days (0 when there is none).
    """
    days = unit_days(unit)
    end = pd.Timestamp(calibration_end).normalize()
    cols = [customer_col, date_col] + ([amount_col] if amount_col else [])
    df = transactions[cols].copy()
    df["_day"] = pd.to_datetime(df[date_col]).dt.tz_localize(None).dt.normalize()
    df = df[df["_day"].notna() & (df["_day"] <= end) & df[customer_col].notna()]
    df["_amount"] = pd.to_numeric(df[amount_col], errors="coerce").fillna(0.0) if amount_col else 0.0
    per_day = df.groupby([customer_col, "_day"], as_index=False)["_amount"].sum()
    per_day = per_day.sort_values([customer_col, "_day"])
    g = per_day.groupby(customer_col)
    first = g["_day"].transform("min")
    per_day["_repeat"] = per_day["_day"] > first
    out = pd.DataFrame(
        {
            "first_purchase": g["_day"].min(),
            "last_purchase": g["_day"].max(),
            "frequency": g["_day"].count() - 1,
            "first_value": g["_amount"].first(),
        }
    )
    rep = per_day[per_day["_repeat"]].groupby(customer_col)["_amount"].mean()
    out["monetary"] = rep.reindex(out.index).fillna(0.0)
    out["recency"] = (out["last_purchase"] - out["first_purchase"]).dt.days / days
    out["T"] = (end - out["first_purchase"]).dt.days / days
    out.index.name = "customer_id"
    return out.reset_index()


# ---------------------------------------------------------------- BG/NBD


def _bgnbd_terms(r, alpha, a, b, x, tx, T):
    """Log of the two likelihood terms (A2 for 'still alive', A3 for 'dropped after last purchase')."""
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a3 = np.where(
            x > 0,
            betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - betaln(a, b) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return a1, a2, a3


def bgnbd_log_likelihood(params, x, tx, T, weights=None) -> float:
    r, alpha, a, b = params
    a1, a2, a3 = _bgnbd_terms(r, alpha, a, b, x, tx, T)
    ll = a1 + np.logaddexp(a2, a3)
    w = np.ones_like(ll) if weights is None else weights
    return float(np.sum(w * ll))


def _grouped(*cols):
    frame = pd.DataFrame({f"c{i}": np.asarray(c, dtype=float) for i, c in enumerate(cols)})
    grouped = frame.groupby(list(frame.columns), as_index=False).size()
    return [grouped[f"c{i}"].to_numpy() for i in range(len(cols))], grouped["size"].to_numpy(dtype=float)


def fit_bgnbd(frequency, recency, T, penalizer: float = 0.0) -> BGNBDParams:
    """Maximum likelihood over log-parameters (L-BFGS-B, then Nelder-Mead polish)."""
    (x, tx, TT), w = _grouped(frequency, recency, T)
    if len(x) == 0:
        raise ValueError(
            "no customers to fit: the transaction table has no purchase before the calibration end"
        )
    scale = max(float(np.average(TT, weights=w)), 1e-6)

    def nll(logp):
        p = np.exp(logp)
        val = -bgnbd_log_likelihood(p, x, tx, TT, w) / w.sum()
        val += penalizer * float(np.sum(p**2))
        return val if np.isfinite(val) else 1e12

    start = np.log([1.0, scale, 1.0, 3.0])
    res = minimize(nll, start, method="L-BFGS-B", bounds=[(-12, 12)] * 4)
    res = minimize(nll, res.x, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000})
    r, alpha, a, b = np.exp(res.x)
    return BGNBDParams(
        float(r),
        float(alpha),
        float(a),
        float(b),
        log_likelihood=bgnbd_log_likelihood((r, alpha, a, b), x, tx, TT, w),
        n_customers=int(w.sum()),
    )


def p_alive(params: BGNBDParams, frequency, recency, T) -> np.ndarray:
    x, tx, TT = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-12))
            + (r + x) * (np.log(alpha + TT) - np.log(alpha + tx))
        )
    return np.where(x > 0, expit(-z), 1.0)


def expected_purchases(params: BGNBDParams, t, frequency, recency, T) -> np.ndarray:
    """E[X(t) | x, t_x, T]: expected repeat purchase days in the next t units."""
    x, tx, TT = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if a <= 1:
        a = 1.0 + 1e-6  # the closed form needs a > 1; the limit is well behaved
    z = t / (alpha + TT + t)
    log_ratio = (r + x) * (np.log(alpha + TT) - np.log(alpha + TT + t))
    h = hyp2f1(r + x, b + x, a + b + x - 1, z)
    num = (a + b + x - 1) / (a - 1) * (1 - np.exp(log_ratio) * h)
    return np.maximum(num * p_alive(params, x, tx, TT), 0.0)


# ---------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood(params, x, m, weights=None) -> float:
    p, q, g = params
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + m * x)
    )
    w = np.ones_like(ll) if weights is None else weights
    return float(np.sum(w * ll))


def fit_gamma_gamma(frequency, monetary) -> GammaGammaParams:
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < 3:
        raise ValueError("Gamma-Gamma needs at least 3 customers with a repeat purchase of positive value")
    scale = float(np.mean(m))
    mn = m / scale  # fit on a unit scale, then rescale gamma

    def nll(logp):
        val = -gamma_gamma_log_likelihood(np.exp(logp), x, mn) / len(x)
        return val if np.isfinite(val) else 1e12

    res = minimize(nll, np.log([2.0, 3.0, 2.0]), method="L-BFGS-B", bounds=[(-10, 10)] * 3)
    res = minimize(nll, res.x, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000})
    p, q, g = np.exp(res.x)
    g *= scale
    return GammaGammaParams(
        float(p), float(q), float(g), gamma_gamma_log_likelihood((p, q, g), x, m), int(len(x))
    )


def expected_value(params: GammaGammaParams, frequency, monetary) -> np.ndarray:
    """E[M | x, m_x]; the population mean p·γ/(q−1) for customers without a repeat purchase."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    p, q, g = params.p, params.q, params.gamma
    pop = p * g / (q - 1) if q > 1 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = p * (g + x * m) / (p * x + q - 1)
    return np.where(x > 0, cond, pop)


# ---------------------------------------------------------------- one call


@dataclass
class LTVResult:
    bgnbd: BGNBDParams
    gamma_gamma: GammaGammaParams | None
    unit: str
    calibration_end: str
    customers: pd.DataFrame  # customer_id, frequency, recency, T, monetary, p_alive, expected_*, ltv_*

    def params_dict(self) -> dict:
        return {
            "time_unit": self.unit,
            "calibration_end": self.calibration_end,
            "bgnbd": asdict(self.bgnbd),
            "gamma_gamma": asdict(self.gamma_gamma) if self.gamma_gamma else None,
        }


def fit_ltv(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    calibration_end,
    unit: str = "week",
    horizons_months: tuple[int, ...] = (12, 24, 36),
) -> LTVResult:
    """Fit BG/NBD (and Gamma-Gamma when amounts are given) and predict per customer."""
    rfm = rfm_summary(transactions, customer_col, date_col, amount_col, calibration_end, unit)
    bg = fit_bgnbd(rfm["frequency"], rfm["recency"], rfm["T"])
    gg = None
    if amount_col:
        try:
            gg = fit_gamma_gamma(rfm["frequency"], rfm["monetary"])
        except ValueError:
            gg = None
    out = rfm.copy()
    out["p_alive"] = p_alive(bg, out["frequency"], out["recency"], out["T"])
    if gg is not None:
        ev = expected_value(gg, out["frequency"], out["monetary"])
    else:
        # without Gamma-Gamma: the customer's own mean value (first purchase when there is no repeat)
        ev = np.where(out["frequency"] > 0, out["monetary"], out["first_value"])
    out["expected_value"] = ev
    for h in horizons_months:
        t = months_to_units(h, unit)
        out[f"expected_purchases_{h}m"] = expected_purchases(
            bg, t, out["frequency"], out["recency"], out["T"]
        )
        out[f"predicted_ltv_{h}m"] = out[f"expected_purchases_{h}m"] * out["expected_value"]
    return LTVResult(bg, gg, unit, str(pd.Timestamp(calibration_end).date()), out)


# ---------------------------------------------------------------- simulation (tests and bench)


def simulate_bgnbd(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | np.ndarray,
    seed: int = 0,
    p: float | None = None,
    q: float | None = None,
    gamma: float | None = None,
) -> pd.DataFrame:
    """Customers drawn from BG/NBD (and Gamma-Gamma values when p, q, gamma are given).

    Returns frequency, recency, T (and monetary) per customer, in the unit of the rates.
    """
    rng = np.random.default_rng(seed)
    TT = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    freq = np.zeros(n)
    rec = np.zeros(n)
    mon = np.zeros(n)
    nu = None
    if p is not None:
        assert q is not None and gamma is not None, "Gamma-Gamma values need p, q and gamma"
        nu = rng.gamma(q, 1.0 / gamma, n)
    for i in range(n):
        t = 0.0
        k = 0
        total = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > TT[i]:
                break
            k += 1
            rec[i] = t
            if p is not None and nu is not None:  # nu is drawn exactly when p is given
                total += rng.gamma(p, 1.0 / nu[i])
            if rng.random() < drop[i]:
                break
        freq[i] = k
        mon[i] = total / k if k else 0.0
    out = pd.DataFrame({"frequency": freq, "recency": rec, "T": TT})
    if nu is not None:
        out["monetary"] = mon
    return out
