"""Test-period metrics with stable names, the oracle's metrics on the same rows, and the ratio.

Names are stable so runs can be compared in MLflow: `test_roc_auc`, `test_pr_auc`, `test_brier`,
`test_log_loss`, `test_ece`, `test_ks`, `oracle_test_*`, `test_roc_auc_vs_oracle`; severity
`test_deviance`, `test_cost_ratio`; value `test_pinball_p10|p50|p90`, `test_pinball_mean`,
`test_coverage_p10_p90`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_gamma_deviance,
    mean_pinball_loss,
    roc_auc_score,
    roc_curve,
)

from models.tasks import TaskSpec
from models.value import QUANTILES

ECE_BINS = 10


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """Row-weighted mean |mean prediction - event rate| over equal-width probability bins."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(p[mask].mean() - y[mask].mean())
    return float(total / len(y))


def ks_statistic(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov-Smirnov separation: max(TPR - FPR) over thresholds."""
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def classification_metrics(y: np.ndarray, p: np.ndarray, prefix: str = "test_") -> dict[str, float]:
    """ROC AUC, PR AUC, Brier, log loss, ECE and KS of probabilities `p` for labels `y`."""
    y = np.asarray(y, dtype=np.float64)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    if len(np.unique(y)) < 2:
        raise ValueError(f"{prefix}labels must hold both classes to compute ROC AUC")
    return {
        f"{prefix}roc_auc": float(roc_auc_score(y, p)),
        f"{prefix}pr_auc": float(average_precision_score(y, p)),
        f"{prefix}brier": float(brier_score_loss(y, p)),
        f"{prefix}log_loss": float(log_loss(y, p, labels=[0, 1])),
        f"{prefix}ece": expected_calibration_error(y, p),
        f"{prefix}ks": ks_statistic(y, p),
        f"{prefix}event_rate": float(y.mean()),
        f"{prefix}mean_probability": float(p.mean()),
    }


def oracle_classification_metrics(
    y: np.ndarray, p: np.ndarray, truth: np.ndarray
) -> dict[str, float]:
    """The oracle's metrics from the world's true probabilities, and the model/oracle ratios."""
    truth = np.asarray(truth, dtype=np.float64)
    if np.isnan(truth).all():
        return {}
    keep = ~np.isnan(truth)
    oracle = classification_metrics(np.asarray(y)[keep], truth[keep], prefix="oracle_test_")
    model = classification_metrics(np.asarray(y)[keep], np.asarray(p)[keep], prefix="test_")
    oracle["test_roc_auc_vs_oracle"] = model["test_roc_auc"] / oracle["oracle_test_roc_auc"]
    oracle["test_brier_vs_oracle"] = model["test_brier"] / oracle["oracle_test_brier"]
    oracle["oracle_test_coverage"] = float(keep.mean())
    return oracle


def severity_metrics(y: np.ndarray, expected_cost: np.ndarray) -> dict[str, float]:
    """Gamma deviance and the ratio of predicted to actual total cost."""
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(expected_cost, dtype=np.float64)
    return {
        "test_deviance": float(mean_gamma_deviance(y, pred)),
        "test_cost_ratio": float(pred.sum() / y.sum()),
        "test_mean_cost": float(y.mean()),
    }


def value_metrics(y: np.ndarray, quantiles: pd.DataFrame) -> dict[str, float]:
    """Pinball loss per quantile (in log value, scale-free) and the P10-P90 coverage."""
    log_y = np.log(np.asarray(y, dtype=np.float64))
    out: dict[str, float] = {}
    for name, alpha in QUANTILES.items():
        log_q = np.log(quantiles[name].to_numpy(dtype=np.float64))
        out[f"test_pinball_{name}"] = float(mean_pinball_loss(log_y, log_q, alpha=alpha))
    out["test_pinball_mean"] = float(np.mean([out[f"test_pinball_{n}"] for n in QUANTILES]))
    y_raw = np.asarray(y, dtype=np.float64)
    inside = (y_raw >= quantiles["p10"].to_numpy()) & (y_raw <= quantiles["p90"].to_numpy())
    out["test_coverage_p10_p90"] = float(inside.mean())
    return out


def task_metrics(
    spec: TaskSpec, y: np.ndarray, frame: pd.DataFrame, truth: np.ndarray | None = None
) -> dict[str, float]:
    """All test metrics of a contract output frame (plus the oracle's where truth is known)."""
    if spec.kind == "classifier":
        p = frame["probability"].to_numpy()
        metrics = classification_metrics(y, p)
        if truth is not None:
            metrics.update(oracle_classification_metrics(y, p, truth))
        return metrics
    if spec.kind == "severity":
        return severity_metrics(y, frame["expected_cost"].to_numpy())
    return value_metrics(y, frame)


def primary_score(spec: TaskSpec, y: np.ndarray, frame: pd.DataFrame) -> float:
    """The task's primary gate metric (named in `spec.primary_metric`) for an output frame."""
    return task_metrics(spec, y, frame)[spec.primary_metric]


def at_least_as_good(spec: TaskSpec, new: float, current: float) -> bool:
    """Whether `new` is at least as good as `current` under the task's primary metric."""
    return new >= current if spec.higher_is_better else new <= current


def auc_standard_error(auc: float, n_positive: int, n_negative: int) -> float:
    """Standard error of a ROC AUC estimate (Hanley & McNeil 1982, Radiology 143:29-36)."""
    if n_positive < 1 or n_negative < 1:
        return float("inf")
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    var = (auc * (1.0 - auc) + (n_positive - 1) * (q1 - auc * auc)
           + (n_negative - 1) * (q2 - auc * auc)) / (n_positive * n_negative)
    return float(np.sqrt(max(var, 0.0)))


def beats_beyond_noise(spec: TaskSpec, candidate: float, baseline: float, y: np.ndarray) -> bool:
    """Whether `candidate` beats `baseline` on labels `y` by more than the metric's noise.

    For ROC AUC the margin is one standard error of the baseline's AUC: with few events
    (a few dozen loan defaults in a validation year) a search otherwise picks noise, and the
    chosen parameters do worse on the test period than the defaults. Other metrics have no
    closed-form error here and need only be better.
    """
    if not spec.higher_is_better:
        return candidate < baseline
    if spec.primary_metric != "test_roc_auc":
        return candidate > baseline
    positives = int(np.sum(y == 1))
    margin = auc_standard_error(baseline, positives, len(y) - positives)
    return candidate - baseline > margin
