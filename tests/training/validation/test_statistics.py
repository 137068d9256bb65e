from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.drift import ReferenceProfile, build_profile, fit_bins, psi, psi_status
from training.validation.amounts import coverage_by_period, deciles
from training.validation.benchmark import MonotoneLinearBenchmark
from training.validation.calibration import calibration_by_grade, jeffreys_test
from training.validation.discrimination import discrimination
from training.validation.sensitivity import directional_checks


def test_psi_is_zero_for_the_same_shares_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=20_000)
    bins = fit_bins("x", ref, categorical=False)
    assert psi(bins.expected, bins.counts(rng.normal(size=20_000))) < 0.01
    assert psi(bins.expected, bins.counts(rng.normal(1.0, 1.0, size=20_000))) > 0.25
    assert psi_status(0.05) == "stable"
    assert psi_status(0.15) == "watch"
    assert psi_status(0.30) == "drift"
    assert psi_status(0.30, rows=20) == "insufficient"


def test_missing_values_and_rare_categories_get_their_own_bins() -> None:
    codes = np.array([0.0] * 500 + [1.0] * 480 + [7.0] * 10 + [np.nan] * 10)
    bins = fit_bins("kind", codes, categorical=True)
    assert bins.categories == (0.0, 1.0)  # code 7 holds 1 % of rows: merged into "other"
    assert bins.counts(np.array([0.0, 7.0, 9.0, np.nan])).tolist() == [1, 0, 2, 1]
    assert bins.labels() == ["=0", "=1", "other", "missing"]


def test_reference_profile_round_trips_through_json() -> None:
    X = pd.DataFrame({"a": np.arange(100.0), "kind": np.tile([0.0, 1.0], 50)})
    profile = build_profile("litigation", X, np.linspace(-3, 0, 100), ["kind"], ("x", "y"))
    back = ReferenceProfile.from_json(profile.to_json())
    assert back.variables == profile.variables
    assert back.period == ("x", "y")
    assert back.psi_of_frame(X.assign(score=np.linspace(-3, 0, 100)))["score"] < 1e-9


def test_jeffreys_flags_a_grade_with_too_many_events() -> None:
    lo, hi, p = jeffreys_test(10, 1000, 0.01)
    assert lo < 0.01 < hi
    assert 0.3 < p < 0.7
    assert jeffreys_test(40, 1000, 0.01)[2] < 0.001  # 4 % observed against 1 % predicted
    y = np.array([1] * 40 + [0] * 960 + [1] * 10 + [0] * 990)
    p_hat = np.array([0.01] * 1000 + [0.2] * 1000)
    rows = calibration_by_grade(y, p_hat, lambda v: "A" if v < 0.1 else "B", ["A", "B"])
    assert [(r.grade, r.rows, r.events, r.verdict) for r in rows] == [
        ("A", 1000, 40, "under-predicted"), ("B", 1000, 10, "over-predicted")]


def test_a_grade_is_flagged_only_for_a_material_difference_on_the_observed_side() -> None:
    # no event among 413 loans predicted at 1e-6: the Jeffreys prior alone gives p ~ 0.02
    none = calibration_by_grade(np.zeros(413), np.full(413, 1e-6), lambda v: "AAA", ["AAA"])[0]
    assert none.jeffreys_p < 0.025
    assert none.verdict == "ok"
    # 2 million rows: 0.105 % observed against 0.1 % predicted is significant but immaterial
    n, d = 2_000_000, 2_100
    y = np.zeros(n)
    y[:d] = 1
    big = calibration_by_grade(y, np.full(n, 0.001), lambda v: "AA", ["AA"])[0]
    assert big.jeffreys_p < 0.025
    assert big.ratio == pytest.approx(1.05)
    assert big.verdict == "ok"
    # twice the predicted rate is material and flagged
    y[:4_000] = 1
    assert calibration_by_grade(y, np.full(n, 0.001), lambda v: "AA", ["AA"])[0].verdict == (
        "under-predicted")


def test_discrimination_intervals_cover_chance_for_noise_and_one_for_perfect() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(4000) < 0.1).astype(float)
    noise = discrimination("2020", y, rng.random(4000))
    assert noise is not None
    assert noise.auc_low < 0.5 < noise.auc_high
    assert noise.accuracy_ratio == pytest.approx(2 * noise.auc - 1)
    perfect = discrimination("2021", y, y + 0.01 * rng.random(4000))
    assert perfect is not None
    assert perfect.auc == 1.0
    assert perfect.ks == pytest.approx(1.0)
    assert discrimination("2022", np.zeros(10), np.ones(10)) is None


def test_benchmark_keeps_the_registry_sign_even_when_the_data_disagrees() -> None:
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"up": rng.normal(size=5000), "free": rng.normal(size=5000)})
    z = -1.0 * X["up"] + 1.5 * X["free"] - 2
    y = (rng.random(5000) < 1 / (1 + np.exp(-z))).astype(float)
    free = MonotoneLinearBenchmark("classifier", {"up": 0}).fit(X, y)
    bound = MonotoneLinearBenchmark("classifier", {"up": 1}).fit(X, y)
    assert free.coef_[1] < -0.5  # unconstrained, the data's negative effect shows
    assert bound.coef_[1] == pytest.approx(0.0, abs=1e-8)  # constrained to >= 0
    p = bound.score_frame(X)["probability"]
    assert p.between(0, 1).all()


def test_directional_checks_catch_a_model_that_moves_the_wrong_way() -> None:
    X = pd.DataFrame({"claims": np.arange(1.0, 101.0), "age": np.arange(100.0)})

    def model(frame: pd.DataFrame) -> np.ndarray:
        return 0.01 * frame["claims"].to_numpy() - 0.001 * frame["age"].to_numpy()

    checks = {c.feature: c for c in directional_checks(
        model, X, {"claims": 1, "age": 1}, set())}
    assert checks["claims"].passed
    assert not checks["age"].passed
    assert checks["age"].violations == 100


def test_deciles_and_coverage_by_period() -> None:
    pred = np.arange(1.0, 101.0)
    rows = deciles(pred * 2, pred)
    assert len(rows) == 10
    assert all(r.ratio == pytest.approx(2.0) for r in rows)
    y = np.array([1.0, 5.0, 5.0, 9.0, 5.0])
    cov = coverage_by_period(pd.Series(["a", "a", "a", "a", "b"]), y, np.full(5, 2.0),
                             np.full(5, 8.0))
    assert [(c.period, c.rows, c.coverage, c.below, c.above) for c in cov] == [
        ("a", 4, 0.5, 0.25, 0.25), ("b", 1, 1.0, 0.0, 0.0)]
