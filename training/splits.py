"""Out-of-time splits: train on older as-of dates, validate on the next period, test on the newest.

Rows are never split at random across time: boundaries fall between distinct as-of dates, so
every training row is dated strictly before every validation row, and validation before test.

Event tasks (default, severity, value) take T from each event, but their label is known only
later: a loan's default at the end of its term, a case's cost when it closes. A training row
whose label matures after the validation period starts has seen an outcome from that period, so
rows are purged (the "purging" of de Prado, *Advances in Financial Machine Learning*, 2018, 7.4)
when their `label_date` falls after the start of the next period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


class SplitError(ValueError):
    """The data cannot be split out of time, or a split is not out of time."""


@dataclass(frozen=True)
class TimeSplit:
    """Positional row indices of the three periods and the as-of range each covers."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    train_period: tuple[str, str]
    valid_period: tuple[str, str]
    test_period: tuple[str, str]
    purged: tuple[int, int] = (0, 0)  # training and validation rows dropped by the purge

    def sizes(self) -> dict[str, int]:
        """Number of rows in each period."""
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def out_of_time_split(
    as_of: pd.Series,
    test_fraction: float = 0.15,
    valid_fraction: float = 0.15,
    label_date: pd.Series | None = None,
) -> TimeSplit:
    """Split by as-of date: newest dates (>= test_fraction of rows) test, the next ones validate.

    With `label_date` (when each row's label became known), training rows whose label is known
    only after the validation period starts, and validation rows whose label is known only after
    the test period starts, are purged.
    """
    if not 0 < test_fraction < 0.5 or not 0 < valid_fraction < 0.5:
        raise SplitError("test_fraction and valid_fraction must each be in (0, 0.5)")
    dates = pd.to_datetime(pd.Series(as_of).reset_index(drop=True))
    if dates.isna().any():
        raise SplitError("as_of must not be missing on any row")
    counts = dates.value_counts().sort_index(ascending=False)
    if len(counts) < 3:
        raise SplitError(f"as_of must hold at least 3 distinct dates to split, got {len(counts)}")
    n = len(dates)
    cumulative = counts.cumsum().to_numpy()
    # positions in the newest-first list of dates: [0, last_test] test, (last_test, last_valid]
    # validation, the rest training; at least one date is left for each period
    last_test = int(np.searchsorted(cumulative, test_fraction * n))
    last_valid = int(np.searchsorted(cumulative, (test_fraction + valid_fraction) * n))
    last_valid = min(max(last_valid, last_test + 1), len(counts) - 2)
    last_test = min(last_test, last_valid - 1)
    test_start, valid_start = counts.index[last_test], counts.index[last_valid]
    test = np.flatnonzero((dates >= test_start).to_numpy())
    valid = np.flatnonzero(((dates >= valid_start) & (dates < test_start)).to_numpy())
    train = np.flatnonzero((dates < valid_start).to_numpy())
    purged = (0, 0)
    if label_date is not None:
        known = pd.to_datetime(pd.Series(label_date).reset_index(drop=True))
        if known.isna().any():
            raise SplitError("label_date must not be missing on any row")
        kept_train = train[(known.iloc[train] <= valid_start).to_numpy()]
        kept_valid = valid[(known.iloc[valid] <= test_start).to_numpy()]
        purged = (len(train) - len(kept_train), len(valid) - len(kept_valid))
        train, valid = kept_train, kept_valid
    split = TimeSplit(
        train, valid, test, _period(dates, train), _period(dates, valid), _period(dates, test),
        purged,
    )
    assert_out_of_time(dates, split, label_date)
    return split


def task_split(frame: pd.DataFrame) -> TimeSplit:
    """The out-of-time split of a task's snapshot frame, purged by `label_date` when it has one."""
    label_date = frame["label_date"] if "label_date" in frame.columns else None
    return out_of_time_split(frame["as_of"], label_date=label_date)


def assert_out_of_time(
    as_of: pd.Series, split: TimeSplit, label_date: pd.Series | None = None
) -> None:
    """Raise SplitError unless max(train) < min(valid) <= max(valid) < min(test), no overlap.

    With `label_date`, also unless every training label is known by the first validation
    as-of date and every validation label by the first test as-of date.
    """
    dates = pd.to_datetime(pd.Series(as_of).reset_index(drop=True))
    parts = {"train": split.train, "valid": split.valid, "test": split.test}
    for name, idx in parts.items():
        if len(idx) == 0:
            raise SplitError(f"split.{name} must not be empty")
    pairs = ((split.train, split.valid), (split.valid, split.test), (split.train, split.test))
    if any(len(np.intersect1d(a, b)) for a, b in pairs):
        raise SplitError("split periods must not share rows")
    if dates.iloc[split.train].max() >= dates.iloc[split.valid].min():
        raise SplitError("every training as_of must be before every validation as_of")
    if dates.iloc[split.valid].max() >= dates.iloc[split.test].min():
        raise SplitError("every validation as_of must be before every test as_of")
    if label_date is not None:
        known = pd.to_datetime(pd.Series(label_date).reset_index(drop=True))
        if known.iloc[split.train].max() > dates.iloc[split.valid].min():
            raise SplitError("every training label must be known by the first validation as_of")
        if known.iloc[split.valid].max() > dates.iloc[split.test].min():
            raise SplitError("every validation label must be known by the first test as_of")


def _period(dates: pd.Series, idx: np.ndarray) -> tuple[str, str]:
    """First and last as-of date of the rows, as ISO strings."""
    if len(idx) == 0:
        return ("", "")
    part = dates.iloc[idx]
    return (part.min().date().isoformat(), part.max().date().isoformat())
