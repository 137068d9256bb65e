"""Discrimination per out-of-time period: ROC AUC, accuracy ratio and KS with confidence intervals.

The AUC interval is Hanley & McNeil's normal approximation (the same standard error the tuning
gate uses); the accuracy ratio (Gini) is 2 AUC - 1, so its interval follows from the AUC's. KS has
no simple closed-form error, so its interval is a seeded bootstrap percentile interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from training.evaluation import auc_standard_error, ks_statistic

Z_95 = 1.959963984540054
BOOTSTRAP_ROUNDS = 200


@dataclass(frozen=True)
class Discrimination:
    """Discrimination of one period's scores: AUC, accuracy ratio and KS with 95 % intervals."""

    period: str
    rows: int
    events: int
    auc: float
    auc_low: float
    auc_high: float
    accuracy_ratio: float
    ar_low: float
    ar_high: float
    ks: float
    ks_low: float
    ks_high: float
    oracle_auc: float | None = None


def discrimination(
    period: str, y: np.ndarray, p: np.ndarray, truth: np.ndarray | None = None, seed: int = 0
) -> Discrimination | None:
    """AUC, AR and KS of scores `p` for labels `y` with 95 % intervals (None with one class)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    events = int(y.sum())
    if events == 0 or events == len(y):
        return None
    auc = float(roc_auc_score(y, p))
    se = auc_standard_error(auc, events, len(y) - events)
    lo, hi = max(0.0, auc - Z_95 * se), min(1.0, auc + Z_95 * se)
    ks = ks_statistic(y, p)
    ks_lo, ks_hi = _bootstrap_ks(y, p, seed)
    oracle = None
    if truth is not None and not np.isnan(truth).any():
        oracle = float(roc_auc_score(y, truth))
    return Discrimination(period, len(y), events, auc, lo, hi, 2 * auc - 1, 2 * lo - 1,
                          2 * hi - 1, ks, ks_lo, ks_hi, oracle)


def _bootstrap_ks(y: np.ndarray, p: np.ndarray, seed: int) -> tuple[float, float]:
    """2.5 % and 97.5 % bootstrap percentiles of KS (resamples with one class are skipped)."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(BOOTSTRAP_ROUNDS):
        idx = rng.integers(0, len(y), len(y))
        yb = y[idx]
        if 0 < yb.sum() < len(yb):
            values.append(ks_statistic(yb, p[idx]))
    if not values:
        return (float("nan"), float("nan"))
    return (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
