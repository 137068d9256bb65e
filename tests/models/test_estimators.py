from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from models.calibration import ScoreCalibrator
from models.classifier import RiskClassifier
from models.explain import AdditivityError, check_additivity
from models.persistence import load_estimator
from models.severity import SeverityRegressor
from models.value import ValueQuantileModel


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "ltv": rng.uniform(0, 1, n),
        "noise": rng.normal(size=n),
        "kind": rng.integers(-1, 3, n).astype(float),
    })
    X.loc[::37, "noise"] = np.nan
    logit = -3.0 + 3.0 * X["ltv"] + 0.4 * (X["kind"] == 2)
    return X, 1.0 / (1.0 + np.exp(-logit.to_numpy()))


@pytest.fixture(scope="module")
def classifier_data() -> dict[str, object]:
    X, p = _frame(6000, 0)
    y = (np.random.default_rng(1).random(len(X)) < p).astype(float)
    model = RiskClassifier(
        monotone={"ltv": 1, "kind": 1}, categorical=["kind"], n_estimators=200
    ).fit(X[:4000], y[:4000], X[4000:5000], y[4000:5000])
    return {"X": X, "y": y, "p": p, "model": model}


def test_classifier_learns_and_follows_the_contract(classifier_data: dict) -> None:
    model, X, y, p = (classifier_data[k] for k in ("model", "X", "y", "p"))
    out = model.score_frame(X[5000:])
    assert list(out.columns[:3]) == ["probability", "raw_score", "shap_base"]
    assert [c for c in out.columns if c.startswith("shap__")] == [
        "shap__ltv", "shap__noise", "shap__kind"]
    check_additivity(out)
    # The answer at the base value, for explanations in probability units.
    np.testing.assert_allclose(out["base_output"], model.calibrator_.predict(out["shap_base"]))
    auc = roc_auc_score(y[5000:], out["probability"])
    assert auc >= 0.95 * roc_auc_score(y[5000:], p[5000:])
    assert model.calibrator_.method_ in ("isotonic", "platt")
    np.testing.assert_allclose(model.predict_proba(X[5000:])[:, 1], out["probability"])
    assert model.monotone_constraints_ == [1, 0, 0]  # categorical never constrained


def test_higher_ltv_never_lowers_the_probability(classifier_data: dict) -> None:
    model = classifier_data["model"]
    grid = pd.DataFrame({"ltv": np.linspace(0, 1, 50), "noise": 0.3, "kind": 1.0})
    assert (np.diff(model.predict_proba(grid)[:, 1]) >= -1e-12).all()


def test_saved_classifier_gives_identical_output(classifier_data: dict, tmp_path) -> None:
    model, X = classifier_data["model"], classifier_data["X"]
    loaded = load_estimator(model.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.score_frame(X[5000:]), model.score_frame(X[5000:]))
    assert not list(tmp_path.glob("m/*.pkl"))
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["booster.txt", "meta.json"]


def test_classifier_refuses_missing_columns_by_name(classifier_data: dict) -> None:
    with pytest.raises(KeyError, match="noise"):
        classifier_data["model"].score_frame(classifier_data["X"].drop(columns=["noise"]))


def test_classifier_refuses_single_class_labels() -> None:
    X, _ = _frame(500, 2)
    with pytest.raises(ValueError, match="both classes"):
        RiskClassifier().fit(X, np.zeros(len(X)))


def test_additivity_check_catches_a_broken_frame(classifier_data: dict) -> None:
    out = classifier_data["model"].score_frame(classifier_data["X"][5000:5010])
    out.loc[out.index[3], "raw_score"] += 0.1
    with pytest.raises(AdditivityError, match="row 3"):
        check_additivity(out)


def test_calibrator_round_trips_through_json_and_fixes_a_biased_score() -> None:
    rng = np.random.default_rng(3)
    raw = rng.normal(-2, 1, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(raw + 1.0)))).astype(float)  # raw is 1 too low
    cal = ScoreCalibrator().fit(raw, y)
    assert set(cal.cv_brier_) == {"isotonic", "platt"}
    again = ScoreCalibrator.from_dict(cal.to_dict())
    np.testing.assert_allclose(again.predict(raw), cal.predict(raw))
    assert abs(cal.predict(raw).mean() - y.mean()) < 0.01
    assert abs(1 / (1 + np.exp(-raw)).mean() - y.mean()) > 0.05


def test_severity_predicts_positive_costs_with_total_close_to_actual(tmp_path) -> None:
    X, _ = _frame(4000, 4)
    rng = np.random.default_rng(5)
    cost = np.exp(9 + 1.5 * X["ltv"].to_numpy()) * rng.gamma(2.0, 0.5, len(X))
    model = SeverityRegressor(monotone={"ltv": 1}, n_estimators=200).fit(
        X[:2500], cost[:2500], X[2500:3200], cost[2500:3200])
    out = model.score_frame(X[3200:])
    check_additivity(out)
    np.testing.assert_allclose(out["expected_cost"], np.exp(out["raw_score"]))
    assert 0.85 < out["expected_cost"].sum() / cost[3200:].sum() < 1.15
    with pytest.raises(ValueError, match="must be > 0"):
        SeverityRegressor().fit(X[:100], np.r_[0.0, cost[1:100]])


def test_value_quantiles_are_ordered_and_cover_about_80_percent(tmp_path) -> None:
    X, _ = _frame(6000, 6)
    rng = np.random.default_rng(7)
    price = np.exp(12 + 2 * X["ltv"].to_numpy() + rng.normal(0, 0.6, len(X)))
    model = ValueQuantileModel(n_estimators=200).fit(
        X[:3500], price[:3500], X[3500:4500], price[3500:4500])
    out = model.score_frame(X[4500:])
    assert (out["p10"] <= out["p50"]).all()
    assert (out["p50"] <= out["p90"]).all()
    np.testing.assert_allclose(np.log(out["p50"]), out["raw_score"])
    check_additivity(out)
    inside = ((price[4500:] >= out["p10"]) & (price[4500:] <= out["p90"])).mean()
    assert 0.75 <= inside <= 0.85
    loaded = load_estimator(model.save(tmp_path / "v"))
    pd.testing.assert_frame_equal(loaded.score_frame(X[4500:]), out)


def test_value_quantiles_follow_the_monotone_constraints(tmp_path) -> None:
    # a price that rises with ltv; noise has no effect, so any trend in it is overfitting
    X, _ = _frame(4000, 8)
    rng = np.random.default_rng(9)
    price = np.exp(12 + 2 * X["ltv"].to_numpy() + rng.normal(0, 0.6, len(X)))
    model = ValueQuantileModel(monotone={"ltv": 1, "noise": -1, "kind": 1}, categorical=["kind"],
                               n_estimators=200, min_child_samples=10).fit(
        X[:2500], price[:2500], X[2500:3200], price[2500:3200])
    assert model.monotone_constraints_ == [1, -1, 0]  # categorical never constrained
    for kind in (-1.0, 0.0, 2.0):
        for noise in (-1.5, 0.0, 1.5):
            grid = pd.DataFrame({"ltv": np.linspace(0, 1, 60), "noise": noise, "kind": kind})
            q = model.score_frame(grid)
            assert (np.diff(q[["p10", "p50", "p90"]].to_numpy(), axis=0) >= -1e-9).all()
        grid = pd.DataFrame({"ltv": 0.5, "noise": np.linspace(-3, 3, 60), "kind": kind})
        q = model.score_frame(grid)
        assert (np.diff(q[["p10", "p50", "p90"]].to_numpy(), axis=0) <= 1e-9).all()
    loaded = load_estimator(model.save(tmp_path / "v"))
    assert loaded.monotone_constraints_ == [1, -1, 0]
    pd.testing.assert_frame_equal(loaded.score_frame(X[3200:]), model.score_frame(X[3200:]))


def _assembled(model: RiskClassifier | SeverityRegressor, X: pd.DataFrame) -> pd.DataFrame:
    """The contract frame put together column by column from the model's public parts."""
    raw = model.raw_score(X)
    if isinstance(model, RiskClassifier):
        head = pd.DataFrame({"probability": model.calibrator_.predict(raw), "raw_score": raw},
                            index=X.index)
        link = model.calibrator_.predict
    else:
        head = pd.DataFrame({"expected_cost": np.exp(raw), "raw_score": raw}, index=X.index)
        link = np.exp
    frame = pd.concat([head, model.contributions(X)], axis=1)
    frame["base_output"] = link(frame["shap_base"].to_numpy())
    return frame


def test_contract_frame_equals_its_parts_for_one_row_and_for_many(
    classifier_data: dict,
) -> None:
    # The frame is built as one block (a request's single row is the hot path); it must hold
    # exactly the parts the model reports on their own, in the contract's order, index kept.
    X = classifier_data["X"]
    classifier = classifier_data["model"]
    severity = SeverityRegressor(monotone={"ltv": 1}, n_estimators=50).fit(
        X[:2500], np.exp(9 + X["ltv"].to_numpy()[:2500]), X[2500:3200],
        np.exp(9 + X["ltv"].to_numpy()[2500:3200]))
    for model in (classifier, severity):
        for rows in (X[5000:5001], X.iloc[[5003, 5001]], X[5000:5400]):
            pd.testing.assert_frame_equal(model.score_frame(rows), _assembled(model, rows),
                                          check_exact=True)
