"""Score feature frames with a served pyfunc and explain each row from its SHAP contributions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from models.base import BoostedModel
from models.boosting import BASE_OUTPUT, SHAP_BASE, SHAP_PREFIX
from models.explain import axis_subtotals, output_effects, top_reasons
from models.loading import predict_frame
from serving.crud import json_safe
from serving.modelset import ServedModel
from serving.online.view import OnlineView

# The answer each task's explanation is expressed in.
ANSWER_COLUMN = {"litigation": "probability", "liability": "probability", "default": "probability",
                 "severity": "expected_cost", "value": "p50"}


def model_features(served: ServedModel) -> list[str]:
    """The input columns of a served model, from its signature."""
    return list(served.model.feature_names)


def predict(served: ServedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's contract frame for `frame` (its rows in order, index kept)."""
    X = frame.reindex(columns=model_features(served)).astype("float64").reset_index(drop=True)
    out = predict_frame(served.model.pyfunc, X)
    out.index = frame.index
    return out


def scored_rows(
    served: ServedModel,
    frame: pd.DataFrame,
    online: OnlineView | None = None,
    namespace: str | None = None,
    stored_ids: Sequence[str] = (),
) -> pd.DataFrame:
    """The contract frame of `frame`'s rows: stored outputs where the online store holds them.

    Rows whose id is in `stored_ids` (entities named by id, not described by facts) are read
    from `online` when it was materialized by exactly `served`; the others are predicted.
    """
    parts = []
    rest = frame
    if online is not None and namespace and stored_ids and online.serves(served.task, served):
        wanted = [i for i in dict.fromkeys(stored_ids) if i in frame.index]
        found = online.task_rows(namespace, served.task, wanted)
        if len(found) == len(frame) and list(found.index) == list(frame.index):
            return found  # every row stored: the common case, no reshuffling
        if len(found):
            parts.append(found)
            rest = frame.loc[~frame.index.isin(found.index)]
    if len(rest):
        parts.append(predict(served, rest))
    combined = pd.concat(parts) if len(parts) > 1 else parts[0]
    combined = combined.loc[~combined.index.duplicated(keep="first")]
    return combined.loc[frame.index]


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


def explanation(task: str, scored: pd.Series | Mapping[str, Any],
                features: pd.Series | Mapping[str, Any]) -> dict[str, Any]:
    """The explanation of one scored row: the answer, its base, effects and top reasons.

    Contributions are the booster's (raw space, adding up to the raw score); `effects` are the
    same contributions in the answer's units (calibrated probability, currency), adding up to
    `output - base_output`, and the reasons rank and read by them (`models.explain`).
    """
    # Plain dicts: one conversion each instead of a pandas lookup per feature.
    scored_row = _plain(scored)
    feature_row = _plain(features)
    contribs = {
        str(k).removeprefix(SHAP_PREFIX): float(v)
        for k, v in scored_row.items()
        if str(k).startswith(SHAP_PREFIX)
    }
    values = {k: _value(feature_row.get(k)) for k in contribs}
    answer = ANSWER_COLUMN.get(task)
    effects = None
    output = base_output = None
    if answer is not None and answer in scored_row and BASE_OUTPUT in scored_row:
        output, base_output = float(scored_row[answer]), float(scored_row[BASE_OUTPUT])
        effects = output_effects(contribs, output, base_output)
    reasons = top_reasons(task, contribs, values, effects=effects)
    axes = None
    if task == "value":
        # GB/T 42748-2023: the value explanation grouped into legal, technical, economic value.
        axes = [
            {"axis": a.axis, "name_en": a.name_en, "name_zh": a.name_zh,
             "contribution": a.contribution, "effect": a.effect}
            for a in axis_subtotals(contribs, effects)
        ]
    return {
        "task": task,
        "base_value": float(scored_row[SHAP_BASE]),
        "raw_score": float(scored_row["raw_score"]),
        "output": output,
        "base_output": base_output,
        "contributions": contribs,
        "effects": effects,
        "reasons": [
            {"feature": r.feature, "value": json_safe(r.value), "contribution": r.contribution,
             "effect": r.effect, "text_en": r.text_en, "text_zh": r.text_zh}
            for r in reasons
        ],
        "axes": axes,
    }


def converted_explanation(expl: dict[str, Any], rate: float) -> dict[str, Any]:
    """An amount's explanation with its answer-unit figures multiplied by an exchange rate.

    The answer, its base and the effects scale together (effects add up to `output -
    base_output` in either currency); the booster's raw contributions do not change.
    """
    if rate == 1 or expl["output"] is None:
        return expl

    def times(value: float | None) -> float | None:
        return None if value is None else value * rate

    effects = expl["effects"]
    return {
        **expl,
        "output": times(expl["output"]),
        "base_output": times(expl["base_output"]),
        "effects": None if effects is None else {k: v * rate for k, v in effects.items()},
        "reasons": [{**r, "effect": times(r["effect"])} for r in expl["reasons"]],
    }


def feature_record(features: pd.Series | Mapping[str, Any]) -> dict[str, float | None]:
    """A feature row as stored: name to value, missing as null."""
    return {str(k): _value(v) for k, v in _plain(features).items()}


def _plain(row: pd.Series | Mapping[str, Any]) -> Mapping[Any, Any]:
    """A row as a mapping of Python values (a Series converted once)."""
    return row.to_dict() if isinstance(row, pd.Series) else row


def _value(value: Any) -> float | None:
    """A feature value as a float, or None when missing."""
    if value is None:
        return None
    f = float(value)
    return None if math.isnan(f) else f
