from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.settings import Settings
from models.tasks import task_spec
from training.datasets import load_task_data
from training.splits import (
    MIN_VALID_ROWS,
    SplitError,
    TimeSplit,
    assert_out_of_time,
    out_of_time_split,
    task_split,
)


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


def test_the_validation_period_reaches_back_until_enough_rows_survive_the_purge() -> None:
    # ten loans a month over fifteen years, each maturing 30 months after drawdown: a
    # validation period sized before the purge (27 months) would lose every row
    as_of = pd.Series(pd.date_range("2010-01-31", periods=180, freq="ME").repeat(10))
    label_date = as_of + pd.DateOffset(months=30)
    split = out_of_time_split(as_of, label_date=label_date)
    unpurged = out_of_time_split(as_of)
    assert split.sizes()["valid"] >= max(MIN_VALID_ROWS, 0.3 * len(as_of) - len(split.test))
    # the test rows do not depend on the labels' dates, so every version meets the same rows
    np.testing.assert_array_equal(split.test, unpurged.test)
    valid_start = as_of.iloc[split.valid].min()
    assert (label_date.iloc[split.train] <= valid_start).all()
    assert (label_date.iloc[split.valid] <= as_of.iloc[split.test].min()).all()
    assert split.sizes()["train"] > split.sizes()["valid"]


def test_validation_never_outgrows_training_when_the_minimum_cannot_be_met() -> None:
    as_of = pd.Series(pd.date_range("2010-01-31", periods=60, freq="ME"))
    split = out_of_time_split(as_of, label_date=as_of + pd.DateOffset(months=6))
    # 60 monthly loans maturing in 6 months: one month more of validation (21 rows) would leave
    # training 25 - 5 purged = 20 rows, so validation stops at 20 and training keeps 21
    assert split.sizes() == {"train": 21, "valid": 20, "test": 9}
    assert split.purged == (5, 5)
    assert split.valid_period == ("2012-03-31", "2013-10-31")


@pytest.mark.parametrize("task", ["default", "severity", "value"])
def test_event_tasks_keep_enough_validation_rows_after_the_purge_without_a_leak(
    world_settings: Settings, task: str
) -> None:
    frame = load_task_data(world_settings, task_spec(task)).frame
    split = task_split(frame)
    as_of, label_date = frame["as_of"], frame["label_date"]
    # at least the minimum, or a quarter of the rows before the test period on a small world
    needed = min(MIN_VALID_ROWS, (len(frame) - len(split.test)) // 4)
    assert split.sizes()["valid"] >= needed, (split.sizes(), split.purged)
    valid_start, test_start = as_of.iloc[split.valid].min(), as_of.iloc[split.test].min()
    assert (label_date.iloc[split.train] <= valid_start).all()
    assert (label_date.iloc[split.valid] <= test_start).all()
    assert (as_of.iloc[split.train] < valid_start).all()
    # the test period is the unpurged split's, whatever the labels' dates
    np.testing.assert_array_equal(split.test, out_of_time_split(as_of).test)
    if task == "default":
        assert frame["label"].iloc[split.valid].sum() >= 5  # events to calibrate on
