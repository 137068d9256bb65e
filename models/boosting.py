"""Shared LightGBM plumbing: feature matrices, constrained training with early stopping, SHAP."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
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


def explained_frame(
    head: Mapping[str, np.ndarray],
    contrib: np.ndarray,
    features: Sequence[str],
    index: pd.Index,
    base_output: Callable[[np.ndarray], np.ndarray] | None = None,
) -> pd.DataFrame:
    """`head` columns, `shap_base`, `shap__<feature>` (from `tree_contributions`), `base_output`.

    Built as one float64 block: a model's contract frame for one request's row costs a tenth
    of what assembling it column by column with pandas does.
    """
    base = contrib[:, -1]
    columns = [*head, SHAP_BASE, *(f"{SHAP_PREFIX}{f}" for f in features)]
    parts = [*(np.asarray(v, dtype=np.float64) for v in head.values()), base, contrib[:, :-1]]
    if base_output is not None:
        columns.append(BASE_OUTPUT)
        parts.append(np.asarray(base_output(base), dtype=np.float64))
    matrix = np.column_stack(parts).astype(np.float64, copy=False)
    return pd.DataFrame(matrix, columns=columns, index=index)


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


# From this many rows on, contributions are computed tree by tree over the distinct rows of each
# tree (`tree_contributions`); below it one LightGBM call is cheaper than a call per tree.
GROUPED_SHAP_MIN_ROWS = 20_000
# Grouping pays off for trees whose TreeSHAP costs more per row (leaves x depth^2, on average)
# than a call and a pass over every row per tree: the value and litigation boosters (about 3,000),
# not the severity one (stumps of depth 2, about 20).
GROUPED_SHAP_MIN_COST = 256
# LightGBM's zero (`kZeroThreshold`, the float 1e-35f): it reads |x| <= this as 0.0.
_ZERO_THRESHOLD = float(np.float32(1e-35))
_MAX_KEY = 2**62


@dataclass(frozen=True)
class _FeatureCodes:
    """One feature's rows as codes that keep every split of the booster on it apart.

    Numerical: the number of the booster's thresholds on the feature below the value, with
    NaN and LightGBM's zero as two codes of their own; categorical: one code per distinct value.
    """

    codes: np.ndarray
    thresholds: np.ndarray | None  # sorted union of the numerical thresholds; None: categorical
    size: int

    def local(self, thresholds: np.ndarray) -> tuple[np.ndarray, int]:
        """Codes of one tree's splits (a subset of the thresholds) and how many there are."""
        if self.thresholds is None:
            return self.codes, self.size
        t = self.thresholds
        # interval i of the union holds t[i-1] < x <= t[i]: below x are the tree's <= t[i-1]
        below = np.concatenate([[0], np.searchsorted(thresholds, t, side="right")])
        n = len(thresholds) + 1
        table = np.concatenate([below, [n, n + 1]]).astype(np.int64)
        return table[self.codes], n + 2


def _feature_codes(x: np.ndarray, thresholds: list[float], categorical: bool) -> _FeatureCodes:
    """`_FeatureCodes` of one feature column `x` over the thresholds the booster splits it at."""
    nan = np.isnan(x)
    if categorical:
        values, inverse = np.unique(np.where(nan, 0.0, x), return_inverse=True)
        codes = np.where(nan, len(values), inverse.reshape(-1)).astype(np.int64)
        return _FeatureCodes(codes, None, len(values) + 1)
    t = np.unique(np.asarray(thresholds, dtype=np.float64))
    codes = np.searchsorted(t, x, side="left").astype(np.int64)
    codes[np.abs(x) <= _ZERO_THRESHOLD] = len(t) + 2
    codes[nan] = len(t) + 1
    return _FeatureCodes(codes, t, len(t) + 3)


def _tree_splits(node: Mapping[str, Any], out: dict[int, list[float]], cats: set[int]) -> None:
    """Collect a dumped tree's split thresholds per feature (categorical features in `cats`)."""
    if "split_feature" not in node:
        return
    feature = int(node["split_feature"])
    if node["decision_type"] == "==":
        cats.add(feature)
        out.setdefault(feature, [])
    else:
        out.setdefault(feature, []).append(float(node["threshold"]))
    _tree_splits(node["left_child"], out, cats)
    _tree_splits(node["right_child"], out, cats)


def _shap_cost(node: Mapping[str, Any]) -> int:
    """Leaves times the squared depth of a dumped tree: what TreeSHAP costs per row."""
    def walk(n: Mapping[str, Any], d: int) -> tuple[int, int]:
        if "split_feature" not in n:
            return 1, d
        left, right = walk(n["left_child"], d + 1), walk(n["right_child"], d + 1)
        return left[0] + right[0], max(left[1], right[1])

    leaves, deepest = walk(node, 0)
    return leaves * deepest * deepest


def tree_contributions(
    booster: lgb.Booster, matrix: np.ndarray, min_rows: int = GROUPED_SHAP_MIN_ROWS,
    min_cost: int = GROUPED_SHAP_MIN_COST,
) -> np.ndarray:
    """TreeSHAP contributions (features then the base) of `booster` for each row of `matrix`.

    A tree's SHAP values of a row depend only on the way the row goes at each of the tree's
    splits, so rows that agree on all of them share their values. From `min_rows` rows on, for
    trees costing `min_cost` or more on average, each tree is explained once per distinct
    combination (LightGBM's own TreeSHAP, restricted to that tree) and the values are added up
    over the trees: the same sums as one `pred_contrib` call up to rounding (the order of the
    additions differs), at a fraction of the cost on large books (on a million-patent world's
    in-force patents a value tree has about a quarter as many distinct rows as rows). The next
    tree's grouping is prepared in a thread while LightGBM explains the current one.
    """
    n_rows = len(matrix)
    dump = booster.dump_model() if n_rows >= min_rows else None
    if dump is None or int(dump.get("num_tree_per_iteration", 1)) != 1:
        return np.asarray(booster.predict(matrix, pred_contrib=True))
    n_iter = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    trees = dump["tree_info"][:n_iter]
    if not trees or sum(_shap_cost(t["tree_structure"]) for t in trees) < (
            min_cost * len(trees)):
        return np.asarray(booster.predict(matrix, pred_contrib=True))
    splits: list[dict[int, list[float]]] = []
    cats: set[int] = set()
    for tree in trees:
        found: dict[int, list[float]] = {}
        _tree_splits(tree["tree_structure"], found, cats)
        splits.append(found)
    used = sorted({f for found in splits for f in found})
    columns = np.asfortranarray(matrix[:, used]) if used else matrix[:, :0]
    union: dict[int, list[float]] = {}
    for found in splits:
        for f, thresholds in found.items():
            union.setdefault(f, []).extend(thresholds)
    codes = {f: _feature_codes(columns[:, i], union[f], f in cats) for i, f in enumerate(used)}

    def groups(found: dict[int, list[float]]) -> tuple[np.ndarray, np.ndarray]:
        # first row of each distinct combination of the tree's split outcomes, and each row's one
        local = [codes[f].local(np.unique(np.asarray(t, dtype=np.float64)))
                 for f, t in sorted(found.items())]
        if not local:
            return np.zeros(1, np.int64), np.zeros(n_rows, np.int64)
        span = 1
        for _, size in local:
            span *= size
        if span < _MAX_KEY:
            key = np.zeros(n_rows, np.int64)
            for code, size in local:
                key *= size
                key += code
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        else:
            _, first, inverse = np.unique(np.stack([c for c, _ in local], axis=1), axis=0,
                                          return_index=True, return_inverse=True)
        return first, inverse.reshape(-1)

    out = np.zeros((n_rows, matrix.shape[1] + 1), order="F")
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[tuple[np.ndarray, np.ndarray]] = pool.submit(groups, splits[0])
        for i in range(len(trees)):
            first, inverse = pending.result()
            if i + 1 < len(trees):
                pending = pool.submit(groups, splits[i + 1])
            part = np.asarray(booster.predict(matrix[first], pred_contrib=True,
                                              start_iteration=i, num_iteration=1))
            cols = [*sorted(splits[i]), matrix.shape[1]]
            for col, values in zip(cols, part[:, cols].T.copy(), strict=True):
                out[:, col] += values[inverse]
    return np.ascontiguousarray(out)
