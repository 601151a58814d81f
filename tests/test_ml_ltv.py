"""BG/NBD + Gamma-Gamma: parameter recovery on data simulated from known values, RFM rules, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models_ml.ltv import (
    expected_purchases,
    expected_value,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_ltv,
    p_alive,
    rfm_summary,
    simulate_bgnbd,
)

TRUE = {"r": 0.8, "alpha": 6.0, "a": 1.2, "b": 3.0}
TRUE_GG = {"p": 6.0, "q": 4.0, "gamma": 20.0}


@pytest.fixture(scope="module")
def simulated():
    T = np.random.default_rng(1).uniform(30, 90, 8000)
    return simulate_bgnbd(8000, **TRUE, T=T, seed=3, **TRUE_GG)


def test_bgnbd_recovers_known_parameters_within_10_percent(simulated):
    fit = fit_bgnbd(simulated["frequency"], simulated["recency"], simulated["T"])
    for name, true in TRUE.items():
        assert abs(getattr(fit, name) / true - 1) < 0.10, (name, getattr(fit, name), true)
    assert np.isfinite(fit.log_likelihood) and fit.n_customers == 8000


def test_gamma_gamma_recovers_known_parameters_within_10_percent(simulated):
    fit = fit_gamma_gamma(simulated["frequency"], simulated["monetary"])
    for name, true in TRUE_GG.items():
        assert abs(getattr(fit, name) / true - 1) < 0.10, (name, getattr(fit, name), true)
    # the population mean value p*gamma/(q-1) is what a customer without repeat purchases gets
    ev = expected_value(fit, [0, 3], [0.0, 10.0])
    assert ev[0] == pytest.approx(fit.p * fit.gamma / (fit.q - 1))


def test_predictions_behave(simulated):
    fit = fit_bgnbd(simulated["frequency"], simulated["recency"], simulated["T"])
    f, r, T = simulated["frequency"], simulated["recency"], simulated["T"]
    pa = p_alive(fit, f, r, T)
    assert np.all((pa >= 0) & (pa <= 1)) and np.all(pa[f == 0] == 1)
    e10, e20 = expected_purchases(fit, 10, f, r, T), expected_purchases(fit, 20, f, r, T)
    assert np.all(e20 >= e10 - 1e-12) and np.all(e10 >= 0)
    # a customer who bought often and recently is worth more than one who bought often long ago
    recent, stale = expected_purchases(fit, 10, [5, 5], [59, 10], [60, 60])
    assert recent > stale


def test_rfm_counts_repeat_purchases_per_distinct_day():
    tx = pd.DataFrame(
        {
            "c": ["A", "A", "A", "A", "B", "C"],
            "d": ["2025-01-01", "2025-01-01", "2025-01-15", "2025-01-29", "2025-01-08", "2025-03-01"],
            "v": [10.0, 5.0, 20.0, 40.0, 7.0, 1.0],
        }
    )
    rfm = rfm_summary(tx, "c", "d", "v", "2025-02-26", unit="week").set_index("customer_id")
    assert "C" not in rfm.index  # bought after the calibration end
    assert rfm.loc["A", "frequency"] == 2 and rfm.loc["A", "recency"] == pytest.approx(4.0)
    assert rfm.loc["A", "T"] == pytest.approx(8.0) and rfm.loc["A", "monetary"] == pytest.approx(30.0)
    assert rfm.loc["B", "frequency"] == 0 and rfm.loc["B", "monetary"] == 0


def _transactions(simulated, start="2024-01-01") -> pd.DataFrame:
    """Turn a few simulated customers into a dated transaction export (weeks)."""
    rng = np.random.default_rng(5)
    rows = []
    t0 = pd.Timestamp(start)
    for i, r in simulated.head(300).iterrows():
        first = t0 + pd.Timedelta(weeks=float(90 - r["T"]))
        rows.append((f"C{i:04d}", first, 100.0))
        if r["frequency"] > 0:
            times = sorted(rng.uniform(0, r["recency"], int(r["frequency"]) - 1)) + [r["recency"]]
            rows += [(f"C{i:04d}", first + pd.Timedelta(weeks=float(t)), float(r["monetary"])) for t in times]
    return pd.DataFrame(rows, columns=["客户", "日期", "金额"])


def test_cli_ltv_prints_parameters_and_customers(simulated, tmp_path):
    from salescope.cli import app

    tx = _transactions(simulated)
    path = tmp_path / "tx.csv"
    tx.assign(日期=tx["日期"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    end = (pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=90)).date().isoformat()
    res = CliRunner().invoke(
        app,
        [
            "ltv",
            "--transactions",
            str(path),
            "--customer-col",
            "客户",
            "--date-col",
            "日期",
            "--amount-col",
            "金额",
            "--time-unit",
            "week",
            "--calibration-end",
            end,
            "--json",
            "--customers",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out["bgnbd"]) >= {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(out["gamma_gamma"]) >= {"p", "q", "gamma"}
    assert all(np.isfinite(v) and v > 0 for k, v in out["bgnbd"].items() if k in TRUE)
    assert len(out["customers"]) == tx["客户"].nunique()
    row = out["customers"][0]
    assert {"p_alive", "expected_purchases_12m", "predicted_ltv_36m"} <= set(row)
    # same answer as the library
    lib = fit_ltv(tx, "客户", "日期", "金额", end, unit="week")
    assert out["bgnbd"]["r"] == pytest.approx(lib.bgnbd.r, rel=1e-6)


def test_cli_ltv_explains_a_wrong_column(tmp_path):
    from salescope.cli import app

    path = tmp_path / "tx.csv"
    pd.DataFrame({"c": ["A"], "d": ["2025-01-01"]}).to_csv(path, index=False)
    res = CliRunner().invoke(
        app,
        [
            "ltv",
            "--transactions",
            str(path),
            "--customer-col",
            "customer",
            "--date-col",
            "d",
            "--calibration-end",
            "2025-06-30",
        ],
    )
    assert res.exit_code != 0
    assert "customer" in res.output
