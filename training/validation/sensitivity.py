"""Sensitivity: the feature registry's directional checks run on the fitted model.

For every feature the registry gives a direction for the task (+1 raises risk or value, -1
lowers it), each sampled row is scored again with that feature raised by a step (its
interquartile range, at least 1), and the output must not move against the direction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

TOLERANCE = 1e-9


@dataclass(frozen=True)
class DirectionalCheck:
    """One feature's check: its direction, the step, rows checked and rows moving the wrong way."""

    feature: str
    direction: int
    step: float
    rows: int
    violations: int
    mean_change: float

    @property
    def passed(self) -> bool:
        """Whether no row moved against the registry's direction."""
        return self.violations == 0


def directional_checks(
    predict: Callable[[pd.DataFrame], np.ndarray],
    X: pd.DataFrame,
    directions: Mapping[str, int],
    categorical: set[str],
) -> list[DirectionalCheck]:
    """Run each registry direction of a non-categorical feature on the rows of `X`."""
    base = predict(X)
    out = []
    for name, d in directions.items():
        if d == 0 or name in categorical or name not in X.columns:
            continue
        x = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
        present = x[~np.isnan(x)]
        if len(present) == 0:
            continue
        q1, q3 = np.percentile(present, [25, 75])
        step = float(max(q3 - q1, 1.0)) if present.max() > 1.0 else float(max(q3 - q1, 0.1))
        bumped = X.copy()
        bumped[name] = np.where(np.isnan(x), np.nan, x + step)
        rows = ~np.isnan(x)
        change = predict(bumped) - base
        wrong = (d * change < -TOLERANCE * np.maximum(1.0, np.abs(base))) & rows
        out.append(DirectionalCheck(name, d, step, int(rows.sum()), int(wrong.sum()),
                                    float(np.mean(change[rows])) if rows.any() else 0.0))
    return out
