"""Calibration per rating grade: observed against predicted rate, binomial and Jeffreys tests.

Basel IRB backtesting practice (BCBS Working Paper 14, 2005; the ECB's 2019 instructions for IRB
validation) tests each grade's mean probability against its observed event count. The Jeffreys
test uses the posterior Beta(d + 1/2, n - d + 1/2) of the grade's event rate under a Jeffreys
prior: its p-value is the posterior probability that the rate is at most the predicted one, so a
small value says the grade is under-predicted. The exact binomial test is two-sided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, binomtest

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class GradeCalibration:
    """One grade's rows, events, mean predicted and observed rate, and both tests."""

    grade: str
    rows: int
    events: int
    predicted: float
    observed: float
    jeffreys_low: float
    jeffreys_high: float
    jeffreys_p: float
    binomial_p: float

    @property
    def verdict(self) -> str:
        """`ok`, `under-predicted` or `over-predicted` at the 5 % level of the Jeffreys test."""
        if self.jeffreys_p < SIGNIFICANCE / 2:
            return "under-predicted"
        if self.jeffreys_p > 1 - SIGNIFICANCE / 2:
            return "over-predicted"
        return "ok"


def jeffreys_test(events: int, rows: int, predicted: float) -> tuple[float, float, float]:
    """95 % Jeffreys interval of the event rate and the p-value P(rate <= predicted)."""
    a, b = events + 0.5, rows - events + 0.5
    return (float(beta.ppf(0.025, a, b)), float(beta.ppf(0.975, a, b)),
            float(beta.cdf(predicted, a, b)))


def calibration_by_grade(
    y: np.ndarray, p: np.ndarray, grade_of: Callable[[float], str], order: list[str]
) -> list[GradeCalibration]:
    """Per grade (in `order`) the calibration of probabilities `p` against labels `y`."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    grades = np.asarray([grade_of(float(v)) for v in p], dtype=object)
    out = []
    for g in order:
        mask = grades == g
        n = int(mask.sum())
        if n == 0:
            continue
        d = int(y[mask].sum())
        pd_mean = float(p[mask].mean())
        lo, hi, pj = jeffreys_test(d, n, pd_mean)
        pb = float(binomtest(d, n, min(max(pd_mean, 1e-12), 1 - 1e-12)).pvalue)
        out.append(GradeCalibration(g, n, d, pd_mean, d / n, lo, hi, pj, pb))
    return out
