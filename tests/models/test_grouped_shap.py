"""Grouped TreeSHAP (`tree_contributions`) equals LightGBM's own `pred_contrib`, row by row."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.boosting import tree_contributions


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        rng.normal(size=n),
        rng.integers(0, 6, n).astype(float),  # counts: many ties, exact zeros
        rng.integers(0, 8, n).astype(float),  # categorical
        rng.uniform(-1, 1, n).round(2),
    ])
    X[::11, 0] = np.nan
    X[::13, 2] = np.nan
    X[::17, 1] = 0.0
    y = (np.sin(2 * X[:, 3]) + 0.3 * np.nan_to_num(X[:, 0]) + 0.2 * X[:, 1]
         + 0.5 * (X[:, 2] % 3 == 0) + rng.normal(scale=0.1, size=n))
    return X, y


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_grouped_contributions_equal_pred_contrib(zero_as_missing: bool) -> None:
    X, y = _data(4000, 0)
    booster = lgb.train(
        {"objective": "regression", "num_leaves": 63, "min_data_in_leaf": 5, "verbosity": -1,
         "zero_as_missing": zero_as_missing, "seed": 0, "deterministic": True,
         "num_threads": 1},
        lgb.Dataset(X, y, categorical_feature=[2]), num_boost_round=40,
    )
    # Rows exactly at every threshold the booster splits at, and LightGBM's edge cases of zero.
    thresholds = sorted({float(t) for t in booster.trees_to_dataframe()["threshold"].dropna()
                         if isinstance(t, float)})
    edges = np.repeat(X[:1], len(thresholds) + 4, axis=0)
    for j in (0, 1, 3):
        rows = edges.copy()
        rows[:len(thresholds), j] = thresholds
        rows[-4:, j] = [0.0, -0.0, 1e-40, np.nan]
        rows[:2, j] = [1e-35, -float(np.float32(1e-35))]
        X = np.vstack([X, rows])
    expected = np.asarray(booster.predict(X, pred_contrib=True))
    got = tree_contributions(booster, X, min_rows=0, min_cost=0)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(X, raw_score=True),
                               rtol=0, atol=1e-9)


def test_grouped_contributions_follow_the_best_iteration() -> None:
    X, y = _data(3000, 1)
    train = lgb.Dataset(X[:2000], y[:2000], categorical_feature=[2])
    booster = lgb.train(
        {"objective": "regression", "num_leaves": 31, "learning_rate": 0.3, "verbosity": -1,
         "num_threads": 1},
        train, num_boost_round=300, keep_training_booster=True,
        valid_sets=[lgb.Dataset(X[2000:], y[2000:], reference=train)],
        callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    assert 0 < booster.best_iteration < booster.current_iteration()
    expected = np.asarray(booster.predict(X, pred_contrib=True))
    np.testing.assert_allclose(tree_contributions(booster, X, min_rows=0, min_cost=0), expected,
                               rtol=0, atol=1e-12)


def test_a_value_model_explains_a_large_book_as_row_by_row() -> None:
    from models.boosting import GROUPED_SHAP_MIN_COST, GROUPED_SHAP_MIN_ROWS, _shap_cost
    from models.value import ValueQuantileModel

    X, y = _data(GROUPED_SHAP_MIN_ROWS + 500, 2)
    frame = pd.DataFrame(X, columns=["a", "count", "kind", "b"])
    model = ValueQuantileModel(categorical=["kind"], monotone={"count": 1}, n_estimators=60,
                               num_leaves=31, min_child_samples=10, n_jobs=1)
    model.fit(frame[:3000], np.exp(y[:3000]), frame[3000:4000], np.exp(y[3000:4000]))
    trees = model.boosters_["p50"].dump_model()["tree_info"]
    assert sum(_shap_cost(t["tree_structure"]) for t in trees) >= GROUPED_SHAP_MIN_COST * len(
        trees)  # the book below is explained tree by tree over distinct rows
    book = model.score_frame(frame)
    pieces = pd.concat([model.score_frame(frame.iloc[i:i + 5000])
                        for i in range(0, len(frame), 5000)])
    assert list(book.columns) == list(pieces.columns)
    np.testing.assert_allclose(book.to_numpy(), pieces.to_numpy(), rtol=1e-12, atol=1e-12)
