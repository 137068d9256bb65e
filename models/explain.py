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
    """One principal reason: the feature, its value, raw contribution, effect on the answer, texts.

    `effect` is in the units of the answer the user reads (calibrated probability, currency):
    see `output_effects`; None when the reason was ranked by raw contributions only.
    """

    feature: str
    value: float
    contribution: float
    text_en: str
    text_zh: str
    effect: float | None = None


class AdditivityError(AssertionError):
    """SHAP contributions do not add up to the raw score."""


def output_effects(
    contributions: Mapping[str, float], output: float, base_output: float
) -> dict[str, float]:
    """Each feature's effect on the answer in the answer's own units (probability, cost, value).

    The booster's contributions are in raw space (log-odds, log cost), while the answer goes
    through a monotone map (the calibrator, exp). Scaling every contribution by
    (output - base_output) / sum(contributions) makes the effects add up exactly to
    output - base_output, where base_output is the answer at the base value; a monotone
    non-decreasing map gives a non-negative scale, so no effect has the opposite sign of its
    contribution. Where the map is flat (an isotonic step) every effect is zero: the features
    moved the score but not the answer.
    """
    raw = {str(k).removeprefix(SHAP_PREFIX): float(v) for k, v in contributions.items()
           if k != SHAP_BASE}
    gap = math.fsum(raw.values())
    scale = (output - base_output) / gap if gap != 0.0 else 0.0
    return {k: v * scale for k, v in raw.items()}


def top_reasons(
    task: str,
    row_contributions: Mapping[str, float] | pd.Series,
    feature_values: Mapping[str, float | None] | pd.Series,
    n: int = MAX_REASONS,
    effects: Mapping[str, float] | None = None,
) -> list[Reason]:
    """The `n` (at most 4) features that move the answer most, with EN/ZH texts.

    With `effects` (from `output_effects`) reasons rank by the absolute effect on the answer and
    say "raises"/"lowers" by its sign, and features without effect are no reason; without it
    they rank by the raw contribution.
    """
    if not 1 <= n <= MAX_REASONS:
        raise ValueError(f"n must be between 1 and {MAX_REASONS}, got {n}")
    contribs: dict[str, float] = {}
    for key, value in dict(row_contributions).items():
        if key == SHAP_BASE:
            continue
        name = str(key).removeprefix(SHAP_PREFIX)
        if value is not None and not math.isnan(float(value)) and float(value) != 0.0:
            contribs[name] = float(value)
    moved: dict[str, float] = {}
    if effects is not None:
        moved = {k: float(v) for k, v in effects.items()
                 if k in contribs and not math.isnan(float(v)) and float(v) != 0.0}
    rank = moved if effects is not None else contribs
    values = dict(feature_values)
    ranked = sorted(rank.items(), key=lambda item: (-abs(item[1]), item[0]))[:n]
    reasons = []
    for name, signed in ranked:
        if name not in values:
            raise KeyError(f"feature_values has no value for contributing feature {name!r}")
        value = float(values[name]) if values[name] is not None else float("nan")
        reasons.append(
            Reason(
                feature=name,
                value=value,
                contribution=contribs[name],
                text_en=format_reason(name, value, signed, "en", task=task),
                text_zh=format_reason(name, value, signed, "zh", task=task),
                effect=moved.get(name) if effects is not None else None,
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
    """One GB/T 42748-2023 value axis (legal, technical, economic) and its summed parts.

    `contribution` sums the raw (log P50) contributions of the axis's features; `effect` sums
    their effects on the P50 value in currency (`output_effects`), None without effects.
    """

    axis: str
    name_en: str
    name_zh: str
    contribution: float
    effect: float | None = None


def axis_subtotals(
    row_contributions: Mapping[str, float] | pd.Series,
    effects: Mapping[str, float] | None = None,
) -> list[AxisSubtotal]:
    """Value-model contributions (and effects) summed per GB/T value axis.

    Every value feature has one axis in the registry, so the three contribution subtotals add
    up to raw score minus base value, and the effect subtotals to output minus base output.
    """
    sums = dict.fromkeys(VALUE_AXES, 0.0)
    moved = dict.fromkeys(VALUE_AXES, 0.0)
    for key, value in dict(row_contributions).items():
        if key == SHAP_BASE:
            continue
        name = str(key).removeprefix(SHAP_PREFIX)
        axis = get(name).axis
        if axis is None:
            raise KeyError(f"feature {name!r} has no GB/T value axis in the registry")
        if value is not None and not math.isnan(float(value)):
            sums[axis] += float(value)
        effect = effects.get(name) if effects is not None else None
        if effect is not None and not math.isnan(float(effect)):
            moved[axis] += float(effect)
    return [
        AxisSubtotal(a, VALUE_AXES[a][0], VALUE_AXES[a][1], sums[a],
                     moved[a] if effects is not None else None)
        for a in VALUE_AXES
    ]
