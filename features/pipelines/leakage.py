"""The leakage guard: recompute a sample with every fact after T removed and compare."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import pandas as pd

from features.pipelines.relations import TableRelations
from features.registry import FEATURES

log = logging.getLogger(__name__)

# Recompute(relations cut at T, rows of the frame as of T) -> features of those rows, same order.
Recompute = Callable[[TableRelations, pd.DataFrame], pd.DataFrame]


class LeakageError(RuntimeError):
    """A feature as of T changed when facts dated after T were removed: it used the future."""

    def __init__(self, feature: str, entity_id: str, as_of: date, full: float, cut: float) -> None:
        self.feature = feature
        self.entity_id = entity_id
        self.as_of = as_of
        super().__init__(
            f"feature {feature} of {entity_id} as of {as_of} uses facts dated after it: "
            f"{full!r} with all data, {cut!r} with only facts known on {as_of}"
        )


def check_dates(as_of: pd.Series, max_dates: int) -> list[pd.Timestamp]:
    """Up to `max_dates` as-of dates spread over those present (latest first)."""
    uniq = np.sort(pd.to_datetime(as_of.unique()))[::-1]
    if len(uniq) <= max_dates:
        return [pd.Timestamp(d) for d in uniq]
    idx = np.linspace(0, len(uniq) - 1, max_dates).round().astype(int)
    return [pd.Timestamp(uniq[i]) for i in sorted(set(idx))]


def unguarded_features(features: Sequence[str]) -> list[str]:
    """The features among `features` the registry flags static (they read undated columns)."""
    names = {f.name for f in FEATURES if f.is_static}
    return [n for n in features if n in names]


def assert_point_in_time(
    frame: pd.DataFrame,
    keys: Sequence[str],
    features: Sequence[str],
    relations: TableRelations,
    recompute: Recompute,
    *,
    max_dates: int = 3,
    sample: int = 500,
    seed: int = 0,
) -> int:
    """Raise `LeakageError` unless a sample of `frame` is unchanged with post-T facts removed.

    Returns the number of rows checked. Cutting dated facts cannot reveal a feature that reads
    an undated column (the registry's static features): the guard names those it checked in
    its log, since passing says nothing about them.
    """
    static = unguarded_features(features)
    if static:
        log.warning("leakage guard cannot check static features (undated source columns): %s",
                    ", ".join(static), extra={"static_features": static})
    checked = 0
    for ts in check_dates(frame["as_of"], max_dates):
        rows = frame[frame["as_of"] == ts]
        if len(rows) > sample:
            rows = rows.sample(sample, random_state=seed)
        rows = rows.sort_values(list(keys), kind="stable").reset_index(drop=True)
        cut = recompute(relations.cut(ts.date()), rows)
        both = rows[list(keys) + list(features)].merge(
            cut[list(keys) + list(features)], on=list(keys), how="left", suffixes=("", "__cut")
        )
        for name in features:
            a = both[name].to_numpy(dtype="float64")
            b = both[f"{name}__cut"].to_numpy(dtype="float64")
            same = np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
            if not same.all():
                i = int(np.flatnonzero(~same)[0])
                entity = str(both[keys[0]].iloc[i])
                raise LeakageError(name, entity, ts.date(), float(a[i]), float(b[i]))
        checked += len(rows)
    log.info("leakage check passed", extra={"rows": checked})
    return checked
