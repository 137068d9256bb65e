from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.tasks import task_spec
from training.evaluation import (
    at_least_as_good,
    classification_metrics,
    expected_calibration_error,
    oracle_classification_metrics,
    task_metrics,
    value_metrics,
)


def test_ece_is_zero_when_each_bin_matches_and_exact_otherwise() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    p = np.array([0.05, 0.05, 0.05, 0.05, 0.95, 0.95, 0.95, 0.95])
    # bin [0, .1): mean p .05, rate .25 -> .2; bin [.9, 1]: mean p .95, rate .75 -> .2
    assert expected_calibration_error(y, p) == pytest.approx(0.2)
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0])) == 0.0


def test_classification_metrics_have_the_stable_names() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 0.3, 4000)
    y = (rng.random(4000) < truth).astype(float)
    noisy = np.clip(truth + rng.normal(0, 0.05, 4000), 0.001, 0.999)
    m = {**classification_metrics(y, noisy), **oracle_classification_metrics(y, noisy, truth)}
    for name in ("test_roc_auc", "test_pr_auc", "test_brier", "test_ece", "test_log_loss",
                 "test_ks", "oracle_test_roc_auc", "oracle_test_brier",
                 "test_roc_auc_vs_oracle"):
        assert name in m
    assert m["test_roc_auc_vs_oracle"] == pytest.approx(
        m["test_roc_auc"] / m["oracle_test_roc_auc"])
    assert m["test_roc_auc_vs_oracle"] < 1.0
    assert oracle_classification_metrics(y, noisy, np.full(4000, np.nan)) == {}


def test_value_metrics_coverage_and_pinball() -> None:
    y = np.array([1.0, 10.0, 100.0, 1000.0])
    q = pd.DataFrame({"p10": [2.0, 5.0, 50.0, 500.0], "p50": [4.0, 10.0, 100.0, 1000.0],
                      "p90": [8.0, 20.0, 200.0, 900.0]})
    m = value_metrics(y, q)
    assert m["test_coverage_p10_p90"] == 0.5
    assert m["test_pinball_p50"] == pytest.approx(0.5 * np.log(4.0) / 4)
    assert m["test_pinball_mean"] == pytest.approx(
        np.mean([m["test_pinball_p10"], m["test_pinball_p50"], m["test_pinball_p90"]]))


def test_primary_metric_direction_per_task() -> None:
    assert at_least_as_good(task_spec("litigation"), 0.8, 0.8)
    assert not at_least_as_good(task_spec("default"), 0.79, 0.8)
    assert at_least_as_good(task_spec("severity"), 0.2, 0.3)
    assert not at_least_as_good(task_spec("value"), 0.31, 0.3)
    frame = pd.DataFrame({"expected_cost": [1.0, 2.0]})
    m = task_metrics(task_spec("severity"), np.array([1.0, 2.0]), frame)
    assert m["test_deviance"] == pytest.approx(0.0)
    assert m["test_cost_ratio"] == pytest.approx(1.0)


def test_auc_standard_error_matches_hanley_mcneil() -> None:
    from training.evaluation import auc_standard_error

    # AUC 0.8, 50/50: Q1 = 0.8/1.2 = 0.6667, Q2 = 1.28/1.8 = 0.7111,
    # var = (0.16 + 49 * 0.02667 + 49 * 0.07111) / 2500 = 0.0019804 -> SE 0.0445
    assert auc_standard_error(0.8, 50, 50) == pytest.approx(0.0445, abs=2e-4)
    assert auc_standard_error(0.8, 500, 500) < auc_standard_error(0.8, 50, 50)
    assert auc_standard_error(0.8, 0, 10) == float("inf")


def test_tuned_auc_must_beat_defaults_beyond_noise() -> None:
    import numpy as np

    from models.tasks import task_spec
    from training.evaluation import beats_beyond_noise

    few = np.array([1] * 50 + [0] * 2000)
    many = np.array([1] * 5000 + [0] * 50000)
    spec = task_spec("default")
    assert not beats_beyond_noise(spec, 0.72, 0.70, few)  # SE ~0.038: a 0.02 gain is noise
    assert beats_beyond_noise(spec, 0.72, 0.70, many)  # SE ~0.004
    severity = task_spec("severity")  # lower is better, no closed-form noise
    assert beats_beyond_noise(severity, 0.39, 0.40, few)
    assert not beats_beyond_noise(severity, 0.41, 0.40, few)
