"""The feature matrix a booster scores: the named columns in order, float64, NaN for missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.boosting import feature_matrix


def test_feature_matrix_takes_the_named_columns_in_order() -> None:
    X = pd.DataFrame({"a": [1.0, np.nan], "b": [2, 3], "c": [None, 5.0]})
    want = np.array([[1.0, 2.0, np.nan], [np.nan, 3.0, 5.0]])
    # Columns already in order (serving's frames) and in any other order give the same matrix.
    np.testing.assert_array_equal(feature_matrix(X, ["a", "b", "c"]), want)
    np.testing.assert_array_equal(feature_matrix(X[["c", "a", "b"]], ["a", "b", "c"]), want)
    np.testing.assert_array_equal(feature_matrix(X, ["b", "a"]), want[:, [1, 0]])
    assert feature_matrix(X, ["a", "b", "c"]).dtype == np.float64
    with pytest.raises(KeyError, match=r"missing feature columns \['d'\]"):
        feature_matrix(X, ["a", "d"])
