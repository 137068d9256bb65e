"""Calibration per rating grade: observed against predicted rate, binomial and Jeffreys tests.

Basel IRB backtesting practice (BCBS Working Paper 14, 2005; the ECB's 2019 instructions for IRB
validation) tests each grade's mean probability against its observed event count. The Jeffreys
test uses the posterior Beta(d + 1/2, n - d + 1/2) of the grade's event rate under a Jeffreys
prior: its p-value is the posterior probability that the rate is at most the predicted one, so a
small value says the grade is under-predicted. The exact binomial test is two-sided.

A significant test alone does not flag a grade. With tens of thousands of rows in a grade
either test rejects a difference too small to move a rate by a grade, and with no event at all
the Jeffreys prior alone puts the posterior above a tiny predicted rate (a grade of 413 loans
predicted at 0.0001 % with no default came out "under-predicted"). So a grade is flagged only
when the test is significant, the observed rate lies on the flagged side of the prediction, and
the difference is material: observed and predicted rates differ by more than `MATERIALITY` of
the predicted rate (a grade of the master scale spans a factor of about two, so a quarter is
well inside half a grade) and by more than `MATERIAL_POINTS` in absolute terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, binomtest

SIGNIFICANCE = 0.05
MATERIALITY = 0.25  # relative difference of observed and predicted rate that matters
MATERIAL_POINTS = 0.0005  # and absolute: 5 basis points, the smallest grade width of the policy


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
    def ratio(self) -> float:
        """Observed over predicted rate (the effect size; NaN when nothing is predicted)."""
        return self.observed / self.predicted if self.predicted > 0 else float("nan")

    @property
    def material(self) -> bool:
        """Whether observed and predicted rates differ by more than the materiality thresholds."""
        gap = abs(self.observed - self.predicted)
        return gap > MATERIALITY * self.predicted and gap > MATERIAL_POINTS

    @property
    def verdict(self) -> str:
        """`ok`, `under-predicted` or `over-predicted`: Jeffreys at 5 %, same side, material."""
        if not self.material:
            return "ok"
        if self.jeffreys_p < SIGNIFICANCE / 2 and self.observed > self.predicted:
            return "under-predicted"
        if self.jeffreys_p > 1 - SIGNIFICANCE / 2 and self.observed < self.predicted:
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
