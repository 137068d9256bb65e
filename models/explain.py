"""Explanations: the principal reasons behind a score, from exact SHAP contributions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.registry import VALUE_AXES, format_reason, get
from models.boosting import SHAP_BASE, SHAP_PREFIX

MAX_REASONS = 4  # credit practice: more than four principal reasons are not meaningful


@dataclass(frozen=True)
class Reason:
    """One principal reason: the feature, its value, its raw-space contribution and texts."""

    feature: str
    value: float
    contribution: float
    text_en: str
    text_zh: str


class AdditivityError(AssertionError):
    """SHAP contributions do not add up to the raw score."""


def top_reasons(
    task: str,
    row_contributions: Mapping[str, float] | pd.Series,
    feature_values: Mapping[str, float | None] | pd.Series,
    n: int = MAX_REASONS,
) -> list[Reason]:
    """The `n` (at most 4) features with the largest absolute contribution, with EN/ZH texts."""
    if not 1 <= n <= MAX_REASONS:
        raise ValueError(f"n must be between 1 and {MAX_REASONS}, got {n}")
    contribs: dict[str, float] = {}
    for key, value in dict(row_contributions).items():
        if key == SHAP_BASE:
            continue
        name = str(key).removeprefix(SHAP_PREFIX)
        if value is not None and not math.isnan(float(value)) and float(value) != 0.0:
            contribs[name] = float(value)
    values = dict(feature_values)
    ranked = sorted(contribs.items(), key=lambda item: (-abs(item[1]), item[0]))[:n]
    reasons = []
    for name, contribution in ranked:
        if name not in values:
            raise KeyError(f"feature_values has no value for contributing feature {name!r}")
        value = float(values[name]) if values[name] is not None else float("nan")
        reasons.append(
            Reason(
                feature=name,
                value=value,
                contribution=contribution,
                text_en=format_reason(name, value, contribution, "en", task=task),
                text_zh=format_reason(name, value, contribution, "zh", task=task),
            )
        )
    return reasons


def check_additivity(frame: pd.DataFrame, atol: float = 1e-6) -> None:
    """Raise AdditivityError unless shap_base + sum(shap__*) == raw_score on every row."""
    shap_cols = [c for c in frame.columns if c.startswith(SHAP_PREFIX)]
    if SHAP_BASE not in frame.columns or "raw_score" not in frame.columns or not shap_cols:
        raise AdditivityError("frame must hold raw_score, shap_base and shap__<feature> columns")
    total = frame[SHAP_BASE].to_numpy() + frame[shap_cols].to_numpy().sum(axis=1)
    gap = np.abs(total - frame["raw_score"].to_numpy())
    if gap.size and float(gap.max()) > atol:
        row = int(gap.argmax())
        raise AdditivityError(
            f"shap_base + sum(shap__*) differs from raw_score by {gap[row]:.3g} at row {row}"
            f" (tolerance {atol})"
        )


@dataclass(frozen=True)
class AxisSubtotal:
    """The summed contribution of one GB/T 42748-2023 value axis (legal, technical, economic)."""

    axis: str
    name_en: str
    name_zh: str
    contribution: float


def axis_subtotals(row_contributions: Mapping[str, float] | pd.Series) -> list[AxisSubtotal]:
    """Value-model contributions summed per GB/T value axis (legal, technical, economic).

    Every value feature has one axis in the registry, so the three subtotals add up to the sum
    of the contributions (raw score minus base value).
    """
    sums = dict.fromkeys(VALUE_AXES, 0.0)
    for key, value in dict(row_contributions).items():
        if key == SHAP_BASE:
            continue
        name = str(key).removeprefix(SHAP_PREFIX)
        axis = get(name).axis
        if axis is None:
            raise KeyError(f"feature {name!r} has no GB/T value axis in the registry")
        if value is not None and not math.isnan(float(value)):
            sums[axis] += float(value)
    return [AxisSubtotal(a, VALUE_AXES[a][0], VALUE_AXES[a][1], sums[a]) for a in VALUE_AXES]
