"""Score feature frames with a served pyfunc and explain each row from its SHAP contributions."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from models.base import BoostedModel
from models.boosting import SHAP_BASE, SHAP_PREFIX
from models.explain import axis_subtotals, top_reasons
from models.loading import predict_frame
from serving.crud import json_safe
from serving.modelset import ServedModel


def model_features(served: ServedModel) -> list[str]:
    """The input columns of a served model, from its signature."""
    return list(served.model.feature_names)


def predict(served: ServedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's contract frame for `frame` (its rows in order, index kept)."""
    X = frame.reindex(columns=model_features(served)).astype("float64").reset_index(drop=True)
    out = predict_frame(served.model.pyfunc, X)
    out.index = frame.index
    return out


def predict_unexplained(served: ServedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The served model's predictions for `frame` without the SHAP columns (index kept).

    Same loaded artifact and contract as `predict`, minus the contributions: reports score
    whole books, where tree SHAP would cost a hundred times the scoring itself.
    """
    X = frame.reindex(columns=model_features(served)).astype("float64").reset_index(drop=True)
    wrapper = served.model.pyfunc.unwrap_python_model()  # type: ignore[no-untyped-call]
    estimator: BoostedModel = wrapper.estimator
    out = estimator.score_frame(X, explain=False)
    out.index = frame.index
    return out


def explanation(task: str, scored: pd.Series, features: pd.Series) -> dict[str, Any]:
    """The explanation of one scored row: base value, raw score, contributions, top reasons."""
    contribs = {
        str(k).removeprefix(SHAP_PREFIX): float(v)
        for k, v in scored.items()
        if str(k).startswith(SHAP_PREFIX)
    }
    values = {k: _value(features.get(k)) for k in contribs}
    reasons = top_reasons(task, contribs, values)
    axes = None
    if task == "value":
        # GB/T 42748-2023: the value explanation grouped into legal, technical, economic value.
        axes = [
            {"axis": a.axis, "name_en": a.name_en, "name_zh": a.name_zh,
             "contribution": a.contribution}
            for a in axis_subtotals(contribs)
        ]
    return {
        "task": task,
        "base_value": float(scored[SHAP_BASE]),
        "raw_score": float(scored["raw_score"]),
        "contributions": contribs,
        "reasons": [
            {"feature": r.feature, "value": json_safe(r.value), "contribution": r.contribution,
             "text_en": r.text_en, "text_zh": r.text_zh}
            for r in reasons
        ],
        "axes": axes,
    }


def feature_record(features: pd.Series) -> dict[str, float | None]:
    """A feature row as stored: name to value, missing as null."""
    return {str(k): _value(v) for k, v in features.items()}


def _value(value: Any) -> float | None:
    """A feature value as a float, or None when missing."""
    if value is None:
        return None
    f = float(value)
    return None if math.isnan(f) else f
