from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.splits import SplitError, TimeSplit, assert_out_of_time, out_of_time_split


def _yearly(counts: dict[int, int]) -> pd.Series:
    return pd.Series(pd.to_datetime(
        [f"{year}-12-31" for year, n in counts.items() for _ in range(n)]))


def test_yearly_snapshots_split_into_older_next_and_newest_years() -> None:
    as_of = _yearly({y: 100 + 10 * (y - 2010) for y in range(2010, 2020)})
    split = out_of_time_split(as_of.sample(frac=1.0, random_state=0))
    assert split.test_period == ("2018-12-31", "2019-12-31")
    assert split.valid_period == ("2017-12-31", "2017-12-31")
    assert split.train_period == ("2010-12-31", "2016-12-31")
    assert split.sizes() == {"train": 910, "valid": 170, "test": 370}


def test_three_dates_give_one_date_per_period() -> None:
    split = out_of_time_split(_yearly({2019: 50, 2020: 5, 2021: 500}))
    assert split.sizes() == {"train": 50, "valid": 5, "test": 500}


def test_too_few_dates_are_refused() -> None:
    with pytest.raises(SplitError, match="at least 3 distinct dates"):
        out_of_time_split(_yearly({2019: 10, 2020: 10}))


def test_a_random_split_fails_the_out_of_time_assertion() -> None:
    as_of = _yearly({y: 50 for y in range(2010, 2020)})
    idx = np.random.default_rng(0).permutation(len(as_of))
    random = TimeSplit(idx[:300], idx[300:400], idx[400:], ("", ""), ("", ""), ("", ""))
    with pytest.raises(SplitError, match="before every"):
        assert_out_of_time(as_of, random)


def test_event_rows_whose_label_matures_in_a_later_period_are_purged() -> None:
    # one loan a month over ten years, each maturing 12 months after drawdown
    as_of = pd.Series(pd.date_range("2010-01-31", periods=120, freq="ME"))
    label_date = as_of + pd.DateOffset(months=12)
    split = out_of_time_split(as_of, label_date=label_date)
    valid_start = as_of.iloc[split.valid].min()
    test_start = as_of.iloc[split.test].min()
    assert (label_date.iloc[split.train] <= valid_start).all()
    assert (label_date.iloc[split.valid] <= test_start).all()
    # without the purge the last 24 training months would have learnt validation outcomes
    unpurged = out_of_time_split(as_of)
    assert (label_date.iloc[unpurged.train] > valid_start).sum() == 11
    assert split.purged == (11, 11)
    assert split.sizes()["train"] == unpurged.sizes()["train"] - 11


def test_yearly_labels_maturing_on_the_next_snapshot_are_kept() -> None:
    as_of = _yearly({y: 10 for y in range(2010, 2020)})
    split = out_of_time_split(as_of, label_date=as_of + pd.DateOffset(months=12))
    assert split.purged == (0, 0)
    assert split.sizes() == out_of_time_split(as_of).sizes()


def test_a_split_that_kept_maturing_rows_fails_the_assertion() -> None:
    as_of = pd.Series(pd.date_range("2010-01-31", periods=120, freq="ME"))
    label_date = as_of + pd.DateOffset(months=12)
    with pytest.raises(SplitError, match="training label must be known"):
        assert_out_of_time(as_of, out_of_time_split(as_of), label_date)
