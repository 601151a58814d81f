"""ML assets: deal scores, customer LTV, next best actions (ml.* tables; registry under Settings.models_dir).

They read the marts through the single warehouse connection, in pool 'warehouse'. A missing mart or too
little data skips the step with a log message; ML never blocks publishing the marts. A locked warehouse
retries the step (orchestration.retries).
"""

import time

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from models_ml import deal_scoring, features
from models_ml.customer_ltv import customer_ltv
from models_ml.deal_scoring import write_table
from models_ml.forecast import FAST_FORECAST, FULL_FORECAST, bookings_forecast, ml_weighted_forecast
from models_ml.next_actions import next_actions, practice_rates
from models_ml.registry import ModelRegistry
from orchestration import run_context
from orchestration.pools import WAREHOUSE_POOL
from orchestration.resources import SalescopeResource
from orchestration.retries import retry_on_lock
from salescope.failpoints import failpoint

# what a run that trained the deal model wrote beside the scores; a run that only scores keeps them
TRAINING_TABLES = ("ml.feature_importance", "ml.calibration", "ml.model_metrics")


def _train_config(salescope: SalescopeResource) -> deal_scoring.TrainConfig | None:
    return deal_scoring.FAST_TRAINING if salescope.settings.ml_fast_training else None


def _reusable_champion(salescope: SalescopeResource, as_of, outcomes) -> tuple[str | None, str]:
    """The deal model to score with this run without training (None: train), and why (SALESCOPE_ML_RETRAIN_DAYS)."""
    s = salescope.settings
    return deal_scoring.reusable_champion(
        s.models_dir, as_of, outcomes, s.ml_retrain_days, _train_config(salescope)
    )


def _marts(*names: str) -> list[AssetKey]:
    return [AssetKey(["marts", n]) for n in names]


def _missing(con, *tables: str) -> list[str]:
    return [t for t in tables if not features.table_exists(con, t)]


def _skipped(context: AssetExecutionContext, why: str) -> MaterializeResult:
    context.log.warning(f"skipped: {why}")
    return MaterializeResult(metadata={"status": "skipped", "why": why})


def _failed(context: AssetExecutionContext, err: Exception) -> MaterializeResult:
    context.log.error(f"ML step failed, publishing goes on without it: {type(err).__name__}: {err}")
    return MaterializeResult(metadata={"status": "failed", "error": f"{type(err).__name__}: {err}"})


@asset(
    deps=_marts("fct_pipeline_snapshots", "fct_opportunities"),
    group_name="ml",
    pool=WAREHOUSE_POOL,
    kinds={"scikitlearn", "duckdb"},
)
def ml_deal_scores(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    """ml.deal_scores (win probability, score 1–99, reasons zh/en) for every open deal; ml.feature_importance,
    ml.calibration, ml.model_metrics, ml.model_registry."""
    with retry_on_lock(context), salescope.warehouse() as con:
        missing = _missing(con, features.SNAPSHOT_TABLE, features.OUTCOME_TABLE)
        if missing:
            return _skipped(context, f"{', '.join(missing)} not in the warehouse: no deal scores this run")
        try:
            t0 = time.perf_counter()
            as_of = run_context.as_of_for_run(con, context.run_id)
            outcomes = features.load_outcomes(con)
            settings = salescope.settings
            champion, why = _reusable_champion(salescope, as_of, outcomes)
            if champion and not _missing(con, *TRAINING_TABLES):
                snaps = features.load_snapshots(con, on=as_of)
                res = deal_scoring.score_with_champion(
                    champion, why, snaps, outcomes, as_of, settings.models_dir
                )
            else:
                context.log.info(f"training the deal model: {why}")
                snaps = features.load_snapshots(con, until=as_of)
                res = deal_scoring.run(snaps, outcomes, as_of, settings.models_dir, _train_config(salescope))
            failpoint("ml.trained")
            counts = deal_scoring.write_tables(con, res, settings.models_dir)
        except Exception as err:  # ML never blocks the marts from being published
            return _failed(context, err)
    context.log.info(f"{res.message}; scored with {res.model_version} ({res.promotion_reason})")
    bt = res.train.backtest if res.train else {}
    return MaterializeResult(
        metadata={
            "status": "fallback" if res.fallback else "scored",
            "message": res.message,
            "model_version": res.model_version,
            "promotion": res.promotion_reason,
            "open_deals": len(res.scores),
            "backtest_roc_auc": float(bt.get("roc_auc", float("nan"))),
            "backtest_brier": float(bt.get("brier", float("nan"))),
            "tables": MetadataValue.json(counts),
            "seconds": round(time.perf_counter() - t0, 1),
        }
    )


@asset(
    deps=_marts("fct_opportunities", "mart_customer_profile", "dim_accounts"),
    group_name="ml",
    pool=WAREHOUSE_POOL,
    kinds={"scipy", "duckdb"},
)
def ml_customer_ltv(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    """ml.customer_ltv: P(alive), expected purchases, predicted LTV 12/24/36 months, tier and lifecycle."""
    with retry_on_lock(context), salescope.warehouse() as con:
        missing = _missing(con, features.OUTCOME_TABLE)
        if missing:
            return _skipped(context, f"{', '.join(missing)} not in the warehouse: no customer LTV this run")
        try:
            as_of = run_context.as_of_for_run(con, context.run_id)
            res = customer_ltv(con, as_of)
            write_table(con, "ml.customer_ltv", res.table)
            if res.fit is not None:
                p = res.fit.params_dict()
                write_table(con, "ml.ltv_parameters", _params_frame(p, as_of))
        except Exception as err:
            return _failed(context, err)
    context.log.info(res.message)
    return MaterializeResult(
        metadata={
            "status": "fitted" if res.fit else "skipped",
            "message": res.message,
            "rows": len(res.table),
        }
    )


def _params_frame(p: dict, as_of):
    import pandas as pd

    rows = [{"model": "bgnbd", "parameter": k, "value": float(v)} for k, v in p["bgnbd"].items()]
    if p["gamma_gamma"]:
        rows += [
            {"model": "gamma_gamma", "parameter": k, "value": float(v)} for k, v in p["gamma_gamma"].items()
        ]
    return pd.DataFrame(rows).assign(time_unit=p["time_unit"], calibration_end=as_of)


@asset(
    deps=[
        *_marts("fct_pipeline_snapshots", "fct_opportunities", "mart_deal_risk"),
        AssetKey(["ml_deal_scores"]),
    ],
    group_name="ml",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
)
def ml_next_actions(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    """ml.next_actions: per open deal, ranked suggestions with the evidence from won deals and stall reasons;
    ml.practice_rates: that evidence, learnt again whenever the deal model is due for retraining."""
    with retry_on_lock(context), salescope.warehouse() as con:
        missing = _missing(con, features.SNAPSHOT_TABLE, features.OUTCOME_TABLE)
        if missing:
            return _skipped(context, f"{', '.join(missing)} not in the warehouse: no next actions this run")
        try:
            as_of = run_context.as_of_for_run(con, context.run_id)
            outcomes = features.load_outcomes(con)
            rates = _stored_practice_rates(con, salescope, as_of, outcomes)
            if rates is None:  # learnt again with the deal model (SALESCOPE_ML_RETRAIN_DAYS)
                X = features.build_features(features.load_snapshots(con, until=as_of), outcomes)
                y = features.label(X, outcomes, as_of)
                rates = practice_rates(X[y.notna()], y[y.notna()])
                champion = ModelRegistry(salescope.settings.models_dir).champion() or ""
                write_table(con, "ml.practice_rates", rates.assign(model_version=champion, as_of=as_of))
                open_x = X[X["snapshot_date"] == as_of]
            else:
                open_x = features.build_features(features.load_snapshots(con, on=as_of), outcomes)
            risk = None
            if features.table_exists(con, "marts.mart_deal_risk"):
                risk = con.execute("SELECT opportunity_id, stall_reasons FROM marts.mart_deal_risk").df()
            else:
                context.log.warning(
                    "marts.mart_deal_risk not in the warehouse: stall reasons derived from the snapshot"
                )
            actions = next_actions(open_x, rates, risk)
            write_table(con, "ml.next_actions", actions.assign(as_of=as_of))
        except Exception as err:
            return _failed(context, err)
    return MaterializeResult(
        metadata={
            "status": "done",
            "rows": len(actions),
            "deals_with_actions": int(actions["opportunity_id"].nunique()),
        }
    )


def _stored_practice_rates(con, salescope: SalescopeResource, as_of, outcomes):
    """ml.practice_rates as learnt with the champion, while the champion is not due for retraining; else None."""
    champion, _ = _reusable_champion(salescope, as_of, outcomes)
    if not champion or _missing(con, "ml.practice_rates"):
        return None
    rates = con.execute(
        "SELECT * EXCLUDE (model_version, as_of) FROM ml.practice_rates WHERE model_version = ?", [champion]
    ).df()
    return rates if len(rates) else None


@asset(
    deps=[*_marts("mart_forecast", "fct_pipeline_snapshots"), AssetKey(["ml_deal_scores"])],
    group_name="ml",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
)
def ml_forecast_weighted(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    """ml.forecast_weighted: mart_forecast's weighted pipeline and current forecast with the ML deal scores
    (stage default where a deal has none), for the rows looked at on the as-of date. Computed here, after the
    scores, so the dbt mart never reads ML output and a rerun on the same inputs builds the same marts."""
    with retry_on_lock(context), salescope.warehouse() as con:
        missing = _missing(con, "marts.mart_forecast", features.SNAPSHOT_TABLE)
        if missing:
            return _skipped(
                context, f"{', '.join(missing)} not in the warehouse: no ML-weighted forecast this run"
            )
        try:
            as_of = run_context.as_of_for_run(con, context.run_id)
            table = ml_weighted_forecast(con, as_of)
            write_table(con, "ml.forecast_weighted", table)
        except Exception as err:
            return _failed(context, err)
    return MaterializeResult(
        metadata={
            "status": "done",
            "rows": len(table),
            "scored_deals_company": int(table.loc[table["level"] == "company", "scored_deals"].max() or 0),
        }
    )


def _forecast_message(company_total, summary) -> str:
    """This month's company forecast with its interval, and the backtest's month-start WAPE when rerun."""
    if company_total.empty:
        return "no forecast rows"
    r = company_total.iloc[0]
    text = (
        f"{str(r['period'])[:7]}: CNY {r['forecast_cny'] / 1e6:,.1f}M "
        f"(80%: {r['low_cny'] / 1e6:,.1f}–{r['high_cny'] / 1e6:,.1f}M)"
    )
    if summary is None:
        return text + "; backtest kept"
    start = summary[(summary["origin_type"] == "month_start") & (summary["horizon"] == 0)].set_index("method")
    if "model" in start.index and "stage_default" in start.index:
        text += (
            f"; backtest WAPE {start.at['model', 'wape']:.0%} "
            f"(stage default {start.at['stage_default', 'wape']:.0%})"
        )
    return text


@asset(
    deps=_marts("fct_pipeline_snapshots", "fct_opportunities"),
    group_name="ml",
    pool=WAREHOUSE_POOL,
    kinds={"scikitlearn", "statsmodels", "duckdb"},
)
def ml_bookings_forecast(context: AssetExecutionContext, salescope: SalescopeResource) -> MaterializeResult:
    """ml.forecast: won to date + open pipeline (hazard model) + new pipeline (run rate) per month, quarter,
    company, region, team and rep, with an 80% interval; ml.forecast_accuracy(_summary): the rolling-origin
    backtest against three baselines, rerun on the ML retraining schedule (SALESCOPE_ML_RETRAIN_DAYS)."""
    with retry_on_lock(context), salescope.warehouse() as con:
        missing = _missing(con, features.SNAPSHOT_TABLE, features.OUTCOME_TABLE)
        if missing:
            return _skipped(
                context, f"{', '.join(missing)} not in the warehouse: no bookings forecast this run"
            )
        try:
            t0 = time.perf_counter()
            as_of = run_context.as_of_for_run(con, context.run_id)
            cfg = FAST_FORECAST if salescope.settings.ml_fast_training else FULL_FORECAST
            settings = salescope.settings
            fc = bookings_forecast(
                con,
                as_of,
                settings.ml_retrain_days,
                cfg=cfg,
                model_dir=settings.models_dir / "bookings_forecast",
            )
            write_table(con, "ml.forecast", fc.forecast)
            con.execute("DROP TABLE IF EXISTS ml.forecast_backtest")  # replaced by ml.forecast_accuracy
            if fc.accuracy is not None and fc.summary is not None:
                write_table(con, "ml.forecast_accuracy", fc.accuracy)
                write_table(con, "ml.forecast_accuracy_summary", fc.summary)
        except Exception as err:
            return _failed(context, err)
    company = fc.forecast[(fc.forecast["level"] == "company") & (fc.forecast["component"] == "total")]
    return MaterializeResult(
        metadata={
            "status": "done",
            "message": _forecast_message(company, fc.summary),
            "rows": len(fc.forecast),
            "training_rows": fc.training_rows,  # 0: the saved hazard model forecast (not due for a refit)
            "backtest": "rerun" if fc.accuracy is not None else "kept (recent enough)",
            "company_total_cny": MetadataValue.json(
                {
                    str(p): round(float(v), 2)
                    for p, v in zip(company["period"], company["forecast_cny"], strict=True)
                }
            ),
            "seconds": round(time.perf_counter() - t0, 1),
        }
    )


ML_ASSETS = [ml_deal_scores, ml_customer_ltv, ml_next_actions, ml_forecast_weighted, ml_bookings_forecast]
