"""Shared LightGBM plumbing: feature matrices, constrained training with early stopping, SHAP."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

SHAP_PREFIX = "shap__"
SHAP_BASE = "shap_base"
# The model's answer (probability, expected cost, P50 value) at the SHAP base value.
BASE_OUTPUT = "base_output"


def feature_matrix(X: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """The float64 matrix of `features` from `X`, or KeyError naming the missing columns."""
    if list(X.columns) == list(features):  # already in order (serving): no column selection
        return X.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = [f for f in features if f not in X.columns]
    if missing:
        raise KeyError(f"input is missing feature columns {missing}")
    return X.loc[:, list(features)].to_numpy(dtype=np.float64, na_value=np.nan)


def constraint_vector(
    features: Sequence[str], monotone: Mapping[str, int] | None, categorical: Sequence[str]
) -> list[int]:
    """Monotone constraint per feature (+1, -1, 0); categorical features are never constrained."""
    monotone = monotone or {}
    out = []
    for name in features:
        direction = int(monotone.get(name, 0))
        if direction not in (-1, 0, 1):
            raise ValueError(f"monotone[{name!r}] must be -1, 0 or +1, got {direction}")
        out.append(0 if name in categorical else direction)
    return out


def train_booster(
    params: Mapping[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    features: Sequence[str],
    categorical: Sequence[str],
    n_estimators: int,
    early_stopping_rounds: int,
) -> lgb.Booster:
    """Train a LightGBM booster on (X, y) with early stopping on the validation rows."""
    cats = [f for f in features if f in categorical]
    train = lgb.Dataset(
        X, label=y, feature_name=list(features), categorical_feature=cats or "auto",
        free_raw_data=True, params={"verbosity": -1},
    )
    valid = lgb.Dataset(X_valid, label=y_valid, reference=train, params={"verbosity": -1})
    booster = lgb.train(
        {**params, "verbosity": -1},
        train,
        num_boost_round=n_estimators,
        valid_sets=[valid],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    log.debug("booster stopped at iteration %s", booster.best_iteration)
    return booster


def contributions_frame(
    booster: lgb.Booster, matrix: np.ndarray, features: Sequence[str], index: pd.Index
) -> pd.DataFrame:
    """Exact TreeSHAP contributions in raw space: `shap__<feature>` columns and `shap_base`."""
    contrib = np.asarray(booster.predict(matrix, pred_contrib=True))
    frame = pd.DataFrame(
        contrib[:, :-1], columns=[f"{SHAP_PREFIX}{f}" for f in features], index=index
    )
    frame.insert(0, SHAP_BASE, contrib[:, -1])
    return frame


def raw_scores(booster: lgb.Booster, matrix: np.ndarray) -> np.ndarray:
    """The booster's raw (untransformed) score per row."""
    return np.asarray(booster.predict(matrix, raw_score=True), dtype=np.float64)


def base_params(
    objective: str,
    learning_rate: float,
    num_leaves: int,
    min_child_samples: int,
    feature_fraction: float,
    bagging_fraction: float,
    lambda_l2: float,
    constraints: Sequence[int],
    seed: int,
    n_jobs: int,
) -> dict[str, Any]:
    """LightGBM parameters shared by every task's booster."""
    params: dict[str, Any] = {
        "objective": objective,
        "learning_rate": learning_rate,
        "num_leaves": num_leaves,
        "min_child_samples": min_child_samples,
        "feature_fraction": feature_fraction,
        "bagging_fraction": bagging_fraction,
        "bagging_freq": 1 if bagging_fraction < 1.0 else 0,
        "lambda_l2": lambda_l2,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": n_jobs,
    }
    if any(constraints):
        params["monotone_constraints"] = list(constraints)
        params["monotone_constraints_method"] = "intermediate"
    return params
