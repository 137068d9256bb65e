"""Comparing the records two engines wrote: same rows, same columns, same values."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Where an engine computes a value with floating-point library calls or sums of doubles, DuckDB
# and Spark may round the last bits differently: log10 comes from the C library in DuckDB and from
# java.lang.Math in Spark, and the two engines add the terms of a sum in different orders (the
# firms' class suit intensity, a weighted mean). Patent records have neither and must be
# bit-identical; firm records may differ by a few units in the last place.
MAX_ULPS = {"patent": 0, "firm": 4}


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between `a` and `b` in units of the last place (0 where both are NaN)."""
    both_nan = np.isnan(a) & np.isnan(b)
    scale = np.spacing(np.maximum(np.abs(np.nan_to_num(a)), np.abs(np.nan_to_num(b))))
    out = np.abs(a - b) / scale
    out[both_nan] = 0.0
    out[np.isnan(out)] = np.inf  # one NaN, the other not
    return out


def assert_same_records(left: pd.DataFrame, right: pd.DataFrame, key: str,
                        max_ulps: int = 0) -> None:
    """Both engines' records: same ids and columns, strings equal, floats within `max_ulps`."""
    assert list(left.columns) == list(right.columns)
    assert left[key].tolist() == right[key].tolist()
    assert len(left) > 0
    for col in left.columns:
        a, b = left[col], right[col]
        if not pd.api.types.is_float_dtype(a):
            assert a.astype(str).tolist() == b.astype(str).tolist(), col
            continue
        d = ulps(a.to_numpy("float64"), b.to_numpy("float64"))
        bad = np.flatnonzero(d > max_ulps)
        assert bad.size == 0, (
            f"{col}: {bad.size} rows differ, e.g. {left[key].iloc[bad[0]]}: "
            f"{a.iloc[bad[0]]!r} vs {b.iloc[bad[0]]!r}"
        )
