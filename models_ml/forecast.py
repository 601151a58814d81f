"""The forecast tables of a run: mart_forecast re-weighted with the deal scores (``ml.forecast_weighted``), and
the bookings forecast (``ml.forecast``) with its backtested accuracy (``ml.forecast_accuracy``,
``ml.forecast_accuracy_summary``; models_ml.bookings_forecast, run_rate, forecast_assembly, forecast_backtest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import joblib
import pandas as pd

from models_ml import bookings_forecast as bf
from models_ml import forecast_assembly, forecast_backtest


def ml_weighted_forecast(con, as_of) -> pd.DataFrame:
    """The ML-weighted pipeline and current forecast of every mart_forecast row looked at on the as-of date.

    METRICS.md, weighted pipeline: Σ amount × win probability, the ML score where present (``ml.deal_scores``
    of this as-of date), else the stage default (the seed CSV). The deals and their state on the as-of date
    are those of ``marts.fct_pipeline_snapshots`` (the same deal-state definition mart_forecast uses), so a
    deal without a score weighs exactly as in ``marts.mart_forecast``. One row per (period_type, period_start,
    level, group_id) whose reference_date is the as-of date; periods that ended before it keep the mart's
    stage-default figures (no score existed then).
    """
    from models_ml.features import table_exists
    from models_ml.models import STAGE_DEFAULT

    # the stage defaults as a VALUES list of parameters (no registered frame: a registration fails while the
    # connection holds an unfinished result, as table_exists leaves one)
    params: dict[str, object] = {"as_of": as_of}
    rows = []
    for i, (stage, p) in enumerate(STAGE_DEFAULT.items()):
        params[f"s{i}"], params[f"p{i}"] = stage, float(p)
        rows.append(f"($s{i}, CAST($p{i} AS DOUBLE))")
    scores = (
        "SELECT opportunity_id, max(CAST(win_probability AS DOUBLE)) AS win_probability FROM ml.deal_scores "
        "WHERE win_probability BETWEEN 0 AND 1 AND CAST(as_of AS DATE) = $as_of GROUP BY opportunity_id"
        if table_exists(con, "ml.deal_scores")
        else "SELECT CAST(NULL AS VARCHAR) AS opportunity_id, CAST(NULL AS DOUBLE) AS win_probability LIMIT 0"
    )
    return con.execute(
        f"""
            WITH stage_defaults(stage, p) AS (VALUES {", ".join(rows)}),
            scores AS ({scores}),
            open_deals AS (
                SELECT s.opportunity_id, coalesce(s.team_id, 'unassigned') AS team_id,
                       coalesce(s.region, 'unassigned') AS region, s.amount_cny, s.expected_close_date,
                       CASE WHEN sc.win_probability IS NOT NULL THEN sc.win_probability ELSE d.p END AS win_probability,
                       sc.win_probability IS NOT NULL AS is_scored
                FROM marts.fct_pipeline_snapshots AS s
                LEFT JOIN scores AS sc ON sc.opportunity_id = s.opportunity_id
                LEFT JOIN stage_defaults AS d ON d.stage = s.stage
                WHERE s.snapshot_date = $as_of
            ),
            periods AS (
                SELECT period_type, period_start, period_end, level, group_id, bookings_to_date_cny
                FROM marts.mart_forecast WHERE reference_date = $as_of
            )
            SELECT p.period_type, p.period_start, p.level, p.group_id, CAST($as_of AS DATE) AS as_of,
                   coalesce(sum(o.amount_cny * o.win_probability), 0)::DOUBLE AS weighted_pipeline_cny,
                   (CAST(p.bookings_to_date_cny AS DOUBLE)
                    + coalesce(sum(o.amount_cny * o.win_probability), 0))::DOUBLE AS forecast_current_cny,
                   count(o.opportunity_id)::BIGINT AS deals_in_period,
                   count(o.opportunity_id) FILTER (WHERE o.is_scored)::BIGINT AS scored_deals
            FROM periods AS p
            LEFT JOIN open_deals AS o
              ON o.expected_close_date BETWEEN p.period_start AND p.period_end
             AND (p.level = 'company' OR (p.level = 'region' AND o.region = p.group_id)
                  OR (p.level = 'team' AND o.team_id = p.group_id))
            GROUP BY p.period_type, p.period_start, p.level, p.group_id, p.bookings_to_date_cny
            ORDER BY p.period_type, p.period_start, p.level, p.group_id""",
        params,
    ).df()


ACCURACY_TABLES = ("ml.forecast_accuracy", "ml.forecast_accuracy_summary")
HAZARD_FILE = "hazard.joblib"


@dataclass(frozen=True)
class BookingsForecast:
    forecast: pd.DataFrame  # ml.forecast
    accuracy: pd.DataFrame | None  # ml.forecast_accuracy (None: the stored backtest is recent enough)
    summary: pd.DataFrame | None  # ml.forecast_accuracy_summary
    training_rows: int


def stored_accuracy_as_of(con) -> date | None:
    """The as-of date of the stored backtest, if any."""
    from models_ml.features import table_exists

    if not all(table_exists(con, t) for t in ACCURACY_TABLES):
        return None
    (d,) = con.execute("SELECT max(CAST(as_of AS DATE)) FROM ml.forecast_accuracy_summary").fetchone()
    return d


@dataclass(frozen=True)
class ForecastConfig:
    backtest_months: int = 12
    refit_months: int = 3  # the backtest refits the hazard model and the run rate every this many months
    simulations: int = forecast_assembly.SIMULATIONS


FULL_FORECAST = ForecastConfig()
# SALESCOPE_ML_TRAINING=fast (tests, quick demos): a quarter of the backtest, one refit, fewer simulations
FAST_FORECAST = ForecastConfig(backtest_months=3, refit_months=6, simulations=200)


def bookings_forecast(
    con,
    as_of: date,
    retrain_days: int,
    seed: int = 0,
    cfg: ForecastConfig = FULL_FORECAST,
    model_dir: Path | None = None,
) -> BookingsForecast:
    """The forecast as of ``as_of``. The hazard model is refitted, and the backtest rerun, when the stored
    backtest is ``retrain_days`` or more older than the as-of date (0: every run) or from the future; in
    between, the hazard model saved in ``model_dir`` at that refit forecasts (a daily run only predicts)."""
    history = bf.load_history(con)
    stored = stored_accuracy_as_of(con)
    fresh = stored is not None and 0 <= (as_of - stored).days < max(retrain_days, 0)
    model = _saved_hazard(model_dir, stored) if fresh else None
    train_rows = 0
    if model is None:
        train = bf.training_rows(history, as_of + timedelta(days=1))
        model, train_rows = bf.fit_hazard(train, seed=seed), len(train)
    forecast = forecast_assembly.build_forecast(history, model, as_of, seed=seed, simulations=cfg.simulations)
    if fresh:
        return BookingsForecast(forecast, None, None, train_rows)
    rows = forecast_backtest.backtest(
        history, as_of, months=cfg.backtest_months, refit_months=cfg.refit_months, seed=seed
    )
    _save_hazard(model_dir, model, as_of)
    return BookingsForecast(forecast, rows, forecast_backtest.summarise(rows, as_of, seed=seed), train_rows)


def _saved_hazard(model_dir: Path | None, as_of: date | None) -> bf.HazardModel | None:
    """The hazard model saved by the run that wrote the stored backtest (same as-of date), if any."""
    if model_dir is None or as_of is None:
        return None
    path = model_dir / HAZARD_FILE
    if not path.exists():
        return None
    saved = joblib.load(path)
    return saved["model"] if saved.get("as_of") == as_of else None


def _save_hazard(model_dir: Path | None, model: bf.HazardModel, as_of: date) -> None:
    if model_dir is None:
        return
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / (HAZARD_FILE + ".tmp")
    joblib.dump({"as_of": as_of, "model": model}, tmp)
    tmp.replace(model_dir / HAZARD_FILE)  # a crash mid-write leaves the previous model
