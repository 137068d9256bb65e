"""Severity and value backtests: actual against predicted by decile, interval coverage by period."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# The value model's P10-P90 interval should hold 80 % of prices; the tolerance is the issue's.
TARGET_COVERAGE = 0.80
COVERAGE_TOLERANCE = 0.03


@dataclass(frozen=True)
class DecileRow:
    """One decile of the prediction: rows, mean predicted and mean actual."""

    decile: int
    rows: int
    predicted: float
    actual: float

    @property
    def ratio(self) -> float:
        """Actual over predicted."""
        return self.actual / self.predicted if self.predicted else float("nan")


def deciles(y: np.ndarray, pred: np.ndarray) -> list[DecileRow]:
    """Mean predicted and actual in each decile of `pred` (1 = lowest)."""
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    order = np.argsort(pred, kind="stable")
    out = []
    for i, idx in enumerate(np.array_split(order, 10), start=1):
        if len(idx):
            out.append(DecileRow(i, len(idx), float(pred[idx].mean()), float(y[idx].mean())))
    return out


@dataclass(frozen=True)
class PeriodCoverage:
    """Share of one period's prices inside the P10-P90 interval, and below P10 / above P90."""

    period: str
    rows: int
    coverage: float
    below: float
    above: float

    @property
    def within_target(self) -> bool:
        """Whether coverage is within 80 % +- 3 points."""
        return abs(self.coverage - TARGET_COVERAGE) <= COVERAGE_TOLERANCE


def coverage_by_period(periods: pd.Series, y: np.ndarray, p10: np.ndarray, p90: np.ndarray
                       ) -> list[PeriodCoverage]:
    """P10-P90 coverage in each period label of `periods`."""
    y = np.asarray(y, dtype=np.float64)
    out = []
    labels = pd.Series(periods).reset_index(drop=True)
    for label in sorted(labels.unique()):
        m = (labels == label).to_numpy()
        below = float(np.mean(y[m] < p10[m]))
        above = float(np.mean(y[m] > p90[m]))
        out.append(PeriodCoverage(str(label), int(m.sum()), 1 - below - above, below, above))
    return out
