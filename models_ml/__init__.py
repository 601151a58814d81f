"""models_ml: deal scoring, customer LTV / retention, next best actions, the bookings forecast.

A plain library (no Dagster): functions take frames or a DuckDB connection and return results.

| module | job |
|---|---|
| `features.py` | training / scoring rows from `marts.fct_pipeline_snapshots` + outcomes, no leakage |
| `models.py` | stage default, Odoo-style naive Bayes, calibrated gradient boosting (Pipeline) |
| `deal_scoring.py` | time-based backtest, champion/challenger, scores 1–99 with reasons, ml.* writers |
| `reasons.py` | per-deal reasons (zh + en) from counterfactual contributions |
| `registry.py` | model registry on disk (versions, metadata, champion) |
| `metrics.py` | ROC/PR AUC, Brier, log-loss, calibration deciles, ECE, lift |
| `ltv.py` | BG/NBD + Gamma-Gamma in log space with scipy; RFM summary; simulation |
| `customer_ltv.py` | ml.customer_ltv with tier and lifecycle (METRICS.md) |
| `next_actions.py` | next best actions with evidence from won deals and stall reasons |
| `forecast.py` | the forecast tables of a run: ml.forecast_weighted, and the bookings forecast with its backtest |
| `bookings_forecast.py` | the open-pipeline part: discrete-time hazard model on the weekly snapshots |
| `run_rate.py` | the deals-not-yet-created part: Holt-Winters / seasonal naive per horizon |
| `forecast_assembly.py` | ml.forecast: components per period, level and group, simulated 80% interval |
| `forecast_backtest.py` | ml.forecast_accuracy: rolling-origin backtest against three baselines, bootstrap |
| `reference_frames.py` | the ML inputs built from a generated drop's CSVs (tests and bench only) |
"""
