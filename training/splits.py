"""Out-of-time splits: train on older as-of dates, validate on the next period, test on the newest.

Rows are never split at random across time: boundaries fall between distinct as-of dates, so
every training row is dated strictly before every validation row, and validation before test.

Event tasks (default, severity, value) take T from each event, but their label is known only
later: a loan's default at the end of its term, a case's cost when it closes. A training row
whose label matures after the validation period starts has seen an outcome from that period, so
rows are purged (the "purging" of de Prado, *Advances in Financial Machine Learning*, 2018, 7.4)
when their `label_date` falls after the start of the next period.

Purging empties a validation period that is short next to the label lag (cases close up to
four years after filing, validation spans two), so the validation period is sized after the
purge: its start moves back, one as-of date at a time, until the rows whose label is known
before the test period starts reach the validation share (the same cumulative rule as without
a purge) and at least `MIN_VALID_ROWS`. Training pays for it: its rows whose labels mature inside
the longer validation period are purged. The walk stops before training would hold fewer rows
than validation; then validation is as large as that allows and a warning says so. The test
period is chosen before and independently of the purge (test labels are all known by the
data's end), so every model of a task is compared on the same test rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

# Fewest validation rows, after the purge, that a split aims for: the validation period drives
# early stopping, the calibration of the classifiers, the conformal offsets of the value model
# and the tuning trials, and with fewer rows those are decided by a handful of outcomes.
MIN_VALID_ROWS = 100


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
    min_valid_rows: int = MIN_VALID_ROWS,
) -> TimeSplit:
    """Split by as-of date: newest dates (>= test_fraction of rows) test, the next ones validate.

    With `label_date` (when each row's label became known), training rows whose label is known
    only after the validation period starts, and validation rows whose label is known only after
    the test period starts, are purged; the validation period then reaches back until the rows
    it keeps meet the validation share and `min_valid_rows` (see the module's docstring).
    """
    if not 0 < test_fraction < 0.5 or not 0 < valid_fraction < 0.5:
        raise SplitError("test_fraction and valid_fraction must each be in (0, 0.5)")
    if min_valid_rows < 0:
        raise SplitError(f"min_valid_rows must be >= 0, got {min_valid_rows}")
    dates = pd.to_datetime(pd.Series(as_of).reset_index(drop=True))
    if dates.isna().any():
        raise SplitError("as_of must not be missing on any row")
    counts = dates.value_counts().sort_index(ascending=False)
    if len(counts) < 3:
        raise SplitError(f"as_of must hold at least 3 distinct dates to split, got {len(counts)}")
    known = dates
    if label_date is not None:
        known = pd.to_datetime(pd.Series(label_date).reset_index(drop=True))
        if len(known) != len(dates):
            raise SplitError(f"label_date must have one value per as_of ({len(dates)}), "
                             f"got {len(known)}")
        if known.isna().any():
            raise SplitError("label_date must not be missing on any row")
    n = len(dates)
    cumulative = counts.cumsum().to_numpy()
    # positions in the newest-first list of dates: [0, last_test] test, (last_test, last_valid]
    # validation, the rest training; at least one date is left for each period
    last_test = min(int(np.searchsorted(cumulative, test_fraction * n)), len(counts) - 3)
    test_start = counts.index[last_test]
    target = max(float(min_valid_rows),
                 (test_fraction + valid_fraction) * n - float(cumulative[last_test]))
    last_valid = _valid_start(dates, known, counts.index, last_test, target)
    valid_start = counts.index[last_valid]
    test = np.flatnonzero((dates >= test_start).to_numpy())
    in_valid = ((dates >= valid_start) & (dates < test_start)).to_numpy()
    in_train = (dates < valid_start).to_numpy()
    valid = np.flatnonzero(in_valid & (known <= test_start).to_numpy())
    train = np.flatnonzero(in_train & (known <= valid_start).to_numpy())
    purged = (int(in_train.sum()) - len(train), int(in_valid.sum()) - len(valid))
    if len(valid) < target:
        log.warning("validation keeps %d rows after the purge, fewer than the %d aimed for: "
                    "a longer validation period would leave training fewer rows than it",
                    len(valid), int(np.ceil(target)))
    split = TimeSplit(
        train, valid, test, _period(dates, train), _period(dates, valid), _period(dates, test),
        purged,
    )
    assert_out_of_time(dates, split, label_date)
    return split


def _valid_start(dates: pd.Series, known: pd.Series, newest_first: pd.Index, last_test: int,
                 target: float) -> int:
    """Position (in `newest_first`) of the validation period's first date, sized after the purge.

    The newest start whose kept validation rows reach `target`, but no further back than the
    last start at which training keeps at least as many rows as validation.
    """
    test_start = newest_first[last_test]
    a = dates.to_numpy()
    k = known.to_numpy()
    # kept validation rows per candidate start: rows dated in [start, test_start) known by then
    eligible = pd.Series((a < test_start.to_datetime64()) & (k <= test_start.to_datetime64()))
    per_date = eligible.groupby(a).sum().reindex(newest_first, fill_value=0).to_numpy()
    kept_valid = np.cumsum(per_date)
    chosen = last_test + 1
    for pos in range(last_test + 1, len(newest_first) - 1):
        start = newest_first[pos].to_datetime64()
        kept_train = int(((a < start) & (k <= start)).sum())
        if pos > last_test + 1 and kept_train < kept_valid[pos]:
            break
        chosen = pos
        if kept_valid[pos] >= target:
            break
    return chosen


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
