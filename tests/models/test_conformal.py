from __future__ import annotations

import numpy as np
import pytest

from models.value import conformal_offset


def test_offsets_take_the_finite_sample_rank() -> None:
    r = np.arange(1.0, 20.0)  # 19 residuals 1..19
    assert conformal_offset(r, 0.9) == 18.0  # ceil(20 * 0.9) = 18th smallest
    assert conformal_offset(r, 0.1) == 2.0  # floor(20 * 0.1) = 2nd smallest
    assert conformal_offset(np.arange(1.0, 6.0), 0.9) == 5.0  # too few: the largest
    with pytest.raises(ValueError, match="at least one"):
        conformal_offset(np.array([]), 0.9)


def test_small_calibration_sets_keep_the_promised_coverage() -> None:
    # exchangeable residuals: the upper offset must cover a new draw with probability >= 90 %
    # and the P10-P90 band at least 80 %; the plain empirical quantile falls short by ~1/n
    rng = np.random.default_rng(0)
    n, reps = 19, 4000
    upper, band = 0, 0
    for _ in range(reps):
        cal, new = rng.normal(size=n), rng.normal()
        hi, lo = conformal_offset(cal, 0.9), conformal_offset(cal, 0.1)
        upper += new <= hi
        band += lo <= new <= hi
    assert upper / reps >= 0.89
    assert band / reps >= 0.79
