"""Deal scoring: no leakage, determinism, small-data fallback, reasons in both languages, registry."""

from __future__ import annotations

import json
import re
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance

from models_ml import deal_scoring as D
from models_ml import features as F
from models_ml.next_actions import next_actions, practice_rates
from models_ml.reasons import contributions, contributions_encoded, explain, phrase
from models_ml.reference_frames import build_reference_marts
from models_ml.registry import ModelRegistry

AS_OF = date(2026, 6, 30)
FAST = D.FAST_TRAINING
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def frames(drop_factory):
    drop, _ = drop_factory(scale=0.05, seed=7, defect_rate=0.0)
    con = duckdb.connect()
    build_reference_marts(con, drop, AS_OF)
    snaps, outcomes = F.load_snapshots(con), F.load_outcomes(con)
    con.close()
    return snaps, outcomes, drop


@pytest.fixture(scope="module")
def trained(frames):
    snaps, outcomes, _ = frames
    return D.train(snaps, outcomes, AS_OF, FAST)


def _scores(res, snaps, outcomes, as_of=AS_OF):
    return D.score_frame(res.model, D.open_deal_features(snaps, outcomes, as_of))


def test_history_features_use_only_deals_closed_before_the_snapshot(frames):
    snaps, outcomes, _ = frames
    X = F.build_features(snaps, outcomes)
    closed = F.closed_deals(outcomes)
    row = X[X["owner_prior_closed"] > 3].iloc[len(X[X["owner_prior_closed"] > 3]) // 2]
    mine = closed[
        (closed["owner_user_id"] == row["owner_user_id"])
        & (closed["closed_on"] < pd.Timestamp(row["snapshot_date"]))
    ]
    assert row["owner_prior_closed"] == len(mine)


def test_no_leakage_permuting_the_future_changes_nothing(frames):
    """Scramble everything after a cut-off (outcomes, later snapshots): features and model are unchanged."""
    snaps, outcomes, _ = frames
    cut = date(2026, 2, 1)  # a Sunday: a snapshot date
    base = D.train(snaps, outcomes, cut, FAST)
    rng = np.random.default_rng(0)
    fut = outcomes.copy()
    won_d = pd.to_datetime(fut["won_at"]).dt.date
    lost_d = pd.to_datetime(fut["lost_at"]).dt.date
    later = ((won_d > cut) | (lost_d > cut)).fillna(False).to_numpy() | ~fut["is_closed"].to_numpy(bool)
    idx = np.flatnonzero(later)
    for col in ("won_at", "lost_at", "is_won", "is_closed", "current_stage"):
        fut.loc[fut.index[idx], col] = fut[col].to_numpy()[rng.permutation(idx)]
    fsnaps = snaps.copy()
    after = pd.to_datetime(fsnaps["snapshot_date"]).dt.date > cut
    for col in ("stage", "touchpoints_30d", "push_count", "has_visit"):
        fsnaps.loc[after, col] = fsnaps.loc[after, col].to_numpy()[rng.permutation(int(after.sum()))]
    perturbed = D.train(fsnaps, fut, cut, FAST)
    a = _scores(base, snaps, outcomes, cut)
    b = _scores(perturbed, fsnaps, fut, cut)
    assert len(a) > 20
    np.testing.assert_array_equal(a["win_probability"].to_numpy(), b["win_probability"].to_numpy())
    assert base.data_hash == perturbed.data_hash


def test_deterministic_by_seed_and_independent_of_row_order(frames, trained):
    snaps, outcomes, _ = frames
    again = D.train(
        snaps.sample(frac=1.0, random_state=3), outcomes.sample(frac=1.0, random_state=4), AS_OF, FAST
    )
    assert again.data_hash == trained.data_hash
    a, b = _scores(trained, snaps, outcomes), _scores(again, snaps, outcomes)
    np.testing.assert_array_equal(a["win_probability"].to_numpy(), b["win_probability"].to_numpy())
    assert (a["reasons"] == b["reasons"]).all()


def test_main_model_scores_open_deals_with_reasons_in_both_languages(frames, trained):
    snaps, outcomes, _ = frames
    assert not trained.fallback and trained.model.kind == "gradient_boosting_calibrated"
    for key in ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "lift_top_decile"):
        assert key in trained.backtest
    assert set(trained.baselines) == {"stage_default", "naive_bayes"}
    assert len(trained.calibration) == 10 and trained.importance is not None
    s = _scores(trained, snaps, outcomes)
    n_open = int((~outcomes["is_closed"].astype(bool)).sum())
    assert len(s) == n_open == s["opportunity_id"].nunique()
    assert s["win_probability"].between(0, 1).all() and s["score"].between(1, 99).all()
    with_reasons = 0
    for text in s["reasons"]:
        r = json.loads(text)
        assert len(r["positive"]) <= 3 and len(r["negative"]) <= 3
        for item in r["positive"] + r["negative"]:
            assert CJK.search(item["zh"]) and not CJK.search(item["en"]) and item["en"].isascii()
        assert all(i["effect"] > 0 for i in r["positive"]) and all(i["effect"] < 0 for i in r["negative"])
        with_reasons += bool(r["positive"] or r["negative"])
    assert with_reasons >= 0.9 * len(s)


class _Stacked:
    """The main scorer without its tree walk (as with a scikit-learn that hides the trees)."""

    def __init__(self, main):
        self.encode, self.encoded_columns, self.predict_encoded = (
            main.encode,
            main.encoded_columns,
            main.predict_encoded,
        )


def test_reasons_equal_every_group_of_every_deal_predicted_again(frames, trained):
    """The reference: each group of each deal set to its typical value in the raw features, encoded again and
    predicted through the scorer's public predict. The fast path skips the deals already at the typical
    value and walks only the trees that split on the group: the same numbers, bit for bit."""
    snaps, outcomes, _ = frames
    X = D.open_deal_features(snaps, outcomes, AS_OF).reset_index(drop=True)
    model = trained.model
    expected = contributions(model.predict, X, model.reference)
    fast = contributions_encoded(model.main, X, model.reference)
    np.testing.assert_array_equal(fast.to_numpy(), expected.to_numpy())
    assert list(fast.columns) == list(expected.columns)
    zero = fast.to_numpy() == 0.0  # at the typical value already: not predicted again
    assert zero.any() and (~zero).mean() > 0.3 and np.abs(fast.to_numpy()).max() > 0.05
    stacked = contributions_encoded(_Stacked(model.main), X, model.reference)
    np.testing.assert_array_equal(stacked.to_numpy(), expected.to_numpy())
    s = D.score_frame(model, X)
    assert list(s["reasons"]) == [json.dumps(r, ensure_ascii=False) for r in explain(X, expected)]


def test_predict_replaced_equals_predicting_the_changed_rows(frames, trained):
    snaps, outcomes, _ = frames
    main = trained.model.main
    Z = main.encode(D.open_deal_features(snaps, outcomes, AS_OF))
    cols = main.encoded_columns()
    zref = Z[3]  # another deal's values, its stage (categorical) included
    rng = np.random.default_rng(5)
    n = len(Z)
    reps = [
        ([cols.index("stage")], np.flatnonzero(Z[:, 0] != zref[0])),
        ([cols.index("push_count"), cols.index("days_in_stage")], rng.choice(n, n // 2, replace=False)),
        (list(range(len(cols))), np.arange(n)[::-1]),  # every column: every tree walked again
        ([cols.index("regression_count")], np.array([], dtype=int)),
    ]
    out = main.predict_replaced(Z, zref, reps, chunk=7)  # chunks of 7 rows: the rows split across chunks
    assert out is not None  # the pinned scikit-learn exposes the trees
    base, replaced = out
    np.testing.assert_array_equal(base, main.predict_encoded(Z))
    for (c, rows), got in zip(reps, replaced, strict=True):
        changed = Z[rows].copy()
        changed[:, c] = zref[c]
        assert len(got) == len(rows)
        if len(rows):
            np.testing.assert_array_equal(got, main.predict_encoded(changed))
    assert not np.array_equal(replaced[0], base[reps[0][1]])  # the stage matters


def test_permutation_importance_on_encoded_columns_equals_the_raw_columns(frames, trained):
    snaps, outcomes, _ = frames
    X = F.build_features(snaps, outcomes)
    y = F.label(X, outcomes, AS_OF)
    rows = X[y.notna()].sample(300, random_state=0)
    yy = y[y.notna()].loc[rows.index].to_numpy().astype(int)
    main = trained.model.main
    cols = F.CATEGORICAL + F.NUMERIC
    kw = {"scoring": "roc_auc", "n_repeats": 3, "random_state": 0, "n_jobs": 1}
    raw = permutation_importance(main.model_, rows[cols], yy, **kw)
    enc = permutation_importance(main.encoded_classifier(), main.encode(rows), yy, **kw)
    assert main.encoded_columns() == cols
    np.testing.assert_array_equal(enc.importances, raw.importances)
    assert np.abs(raw.importances_mean).max() > 0.01


def test_reason_phrases():
    row = pd.Series(
        {
            "days_since_last_touch": 21.0,
            "never_touched": 0.0,
            "push_count": 2.0,
            "stage": "negotiation",
            "has_visit": 0.0,
            "lead_source": "referral",
        }
    )
    assert phrase("recency", row, positive=False) == ("21 天无跟进", "no touchpoint for 21 days")
    assert phrase("pushes", row, positive=False) == ("预计成交日期已推迟 2 次", "close date pushed twice")
    assert phrase("stage", row, positive=True) == ("处于谈判阶段", "in stage negotiation")
    assert phrase("visit", row, positive=False) == ("尚无现场拜访", "no on-site visit yet")
    assert phrase("lead_source", row, positive=True) == ("线索来源：推荐", "lead source: referral")


def test_fewer_than_200_closed_deals_the_baseline_alone_scores_and_says_so(frames, tmp_path):
    snaps, outcomes, _ = frames
    early = date(2023, 12, 31)  # a few months into the data: well under 200 closed deals
    run = D.run(snaps, outcomes, early, tmp_path / "models", FAST)
    assert run.fallback and run.train.n_closed_deals < 200
    assert "fewer than 200" in run.message and "naive Bayes" in run.message
    assert (run.scores["model_version"] == "naive_bayes_fallback").all()
    assert run.scores["win_probability"].between(0, 1).all() and len(run.scores) > 0
    assert all(json.loads(t)["positive"] or json.loads(t)["negative"] for t in run.scores["reasons"])
    assert ModelRegistry(tmp_path / "models").champion() is None


def test_registry_promotes_only_when_auc_and_brier_are_not_worse(tmp_path):
    reg = ModelRegistry(tmp_path)
    meta = {"data_hash": "a" * 64, "model_kind": "x", "training_window": ["2024-01-01", "2025-01-01"]}
    v1, p1, _ = reg.register({"m": 1}, meta | {"backtest": {"roc_auc": 0.80, "brier": 0.18}})
    v2, p2, why2 = reg.register(
        {"m": 2}, meta | {"data_hash": "b" * 64, "backtest": {"roc_auc": 0.82, "brier": 0.19}}
    )
    v3, p3, _ = reg.register(
        {"m": 3}, meta | {"data_hash": "c" * 64, "backtest": {"roc_auc": 0.80, "brier": 0.18}}
    )
    assert (p1, p2, p3) == (True, False, True) and "stays champion" in why2
    assert reg.champion() == v3 and reg.load(v3) == {"m": 3}
    t = reg.table()
    assert list(t["model_version"]) == [v1, v2, v3] and t["is_champion"].sum() == 1


def test_run_registers_once_and_writes_tables(frames, tmp_path):
    snaps, outcomes, _ = frames
    models = tmp_path / "models"
    first = D.run(snaps, outcomes, AS_OF, models, FAST)
    second = D.run(snaps, outcomes, AS_OF, models, FAST)
    assert first.model_version == second.model_version == ModelRegistry(models).champion()
    assert len(ModelRegistry(models).versions()) == 1  # same data and settings: no new version
    con = duckdb.connect()
    counts = D.write_tables(con, second, models)
    assert counts["ml.deal_scores"] == len(second.scores)
    cols = [r[0] for r in con.execute("DESCRIBE ml.deal_scores").fetchall()]
    assert cols == ["opportunity_id", "as_of", "win_probability", "score", "reasons", "model_version"]
    assert con.execute("SELECT count(*) FROM ml.model_registry WHERE is_champion").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM ml.calibration").fetchone()[0] == 10


def test_next_actions_cite_evidence_from_won_deals(frames):
    snaps, outcomes, _ = frames
    X = F.build_features(snaps, outcomes)
    y = F.label(X, outcomes, AS_OF)
    rates = practice_rates(X[y.notna()], y[y.notna()])
    open_x = X[X["snapshot_date"] == AS_OF]
    risk = pd.DataFrame(
        {
            "opportunity_id": open_x["opportunity_id"],
            "stall_reasons": np.where(open_x["days_since_last_touch"] >= 14, "no_touch_14d", ""),
        }
    )
    acts = next_actions(open_x, rates, risk)
    assert len(acts) and set(acts["opportunity_id"]) <= set(open_x["opportunity_id"])
    assert acts.groupby("opportunity_id")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()
    practice = acts[
        acts["action_code"].isin(["schedule_visit", "run_demo", "meet_decision_maker", "send_proposal"])
    ]
    for ev, oid, code in practice[["evidence", "opportunity_id", "action_code"]].itertuples(index=False):
        assert re.search(r"\d+% of deals won from", ev) and "this one has none" in ev and CJK.search(ev)
        flag = {
            "schedule_visit": "has_visit",
            "run_demo": "has_demo",
            "meet_decision_maker": "has_decision_maker_contact",
            "send_proposal": "has_proposal_doc",
        }[code]
        assert open_x.loc[open_x["opportunity_id"] == oid, flag].iloc[0] == 0
    stalled = set(risk.loc[risk["stall_reasons"] != "", "opportunity_id"])
    assert stalled <= set(acts.loc[acts["action_code"] == "follow_up_now", "opportunity_id"])


def test_a_daily_run_scores_with_a_recent_champion_and_retrains_when_due(frames, tmp_path):
    """SALESCOPE_ML_RETRAIN_DAYS: the champion trained 0–6 days before the as-of date scores without training;
    a week later, an earlier as-of date, other settings or drift in the closed deals retrain."""
    from datetime import timedelta

    snaps, outcomes, _ = frames
    models = tmp_path / "models"
    trained_at = date(2026, 2, 1)
    first = D.run(snaps, outcomes, trained_at, models, FAST)
    version = first.model_version
    closed = F.closed_deals(outcomes)

    def closed_by(day):  # independent of the code under test: count the closes by hand
        return int((closed["closed_on"].dt.date <= day).sum())

    def reuse(as_of, days=7, cfg=FAST):
        return D.reusable_champion(models, as_of, outcomes, days, cfg)[0]

    assert reuse(trained_at) == version
    quiet = trained_at + timedelta(days=6)
    assert abs(closed_by(quiet) - closed_by(trained_at)) / closed_by(trained_at) <= D.DRIFT_CLOSED_SHARE
    assert reuse(quiet) == version
    assert reuse(trained_at + timedelta(days=7)) is None  # a week old: retrain
    assert reuse(trained_at - timedelta(days=1)) is None  # trained on a later day than the run's
    assert reuse(trained_at, days=0) is None  # 0: retrain every run
    assert reuse(trained_at, cfg=D.TrainConfig()) is None  # other settings
    drifted = AS_OF  # five months on: many more deals closed since the champion's as-of date
    assert (closed_by(drifted) - closed_by(trained_at)) / closed_by(trained_at) > D.DRIFT_CLOSED_SHARE
    assert reuse(drifted, days=400) is None
    assert "drift" in D.reusable_champion(models, drifted, outcomes, 400, FAST)[1]


def test_scoring_with_the_champion_equals_the_run_that_trained_it_and_keeps_its_metrics(frames, tmp_path):
    snaps, outcomes, _ = frames
    models = tmp_path / "models"
    trained = D.run(snaps, outcomes, AS_OF, models, FAST)
    con = duckdb.connect()
    D.write_tables(con, trained, models)
    calibration = con.execute("SELECT * FROM ml.calibration ORDER BY decile").fetchall()
    metrics = con.execute("SELECT * FROM ml.model_metrics ORDER BY model").fetchall()
    today = snaps[pd.to_datetime(snaps["snapshot_date"]).dt.date == AS_OF]  # what load_snapshots(on=) reads
    reused = D.score_with_champion(trained.model_version, "test", today, outcomes, AS_OF, models)
    assert reused.train is None and len(reused.scores) == len(trained.scores) > 20
    pd.testing.assert_frame_equal(reused.scores, trained.scores)
    counts = D.write_tables(con, reused, models)
    assert set(counts) == {"ml.deal_scores", "ml.model_registry"}
    assert con.execute("SELECT * FROM ml.calibration ORDER BY decile").fetchall() == calibration
    assert con.execute("SELECT * FROM ml.model_metrics ORDER BY model").fetchall() == metrics
    assert len(calibration) == 10 and len(metrics) >= 3
    assert len(ModelRegistry(models).versions()) == 1


def test_the_retrain_setting_is_read_and_a_bad_value_is_named(monkeypatch, tmp_path):
    from salescope.settings import Settings

    monkeypatch.delenv("SALESCOPE_ML_RETRAIN_DAYS", raising=False)
    assert Settings.from_env(tmp_path).ml_retrain_days == 7
    monkeypatch.setenv("SALESCOPE_ML_RETRAIN_DAYS", "0")
    assert Settings.from_env(tmp_path).ml_retrain_days == 0
    monkeypatch.setenv("SALESCOPE_ML_RETRAIN_DAYS", "weekly")
    with pytest.raises(ValueError, match="SALESCOPE_ML_RETRAIN_DAYS='weekly' is not a whole number of days"):
        Settings.from_env(tmp_path)
