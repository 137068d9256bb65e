"""Population stability: a binned reference profile of a model's inputs and score, and PSI.

Training builds the profile from the rows the model was last tested on and logs it with the run;
the validation report compares periods with it and serving compares the rows it scores with it.
Both sides bin through the same `ReferenceProfile`, so a feature is never binned two ways.

PSI = sum over bins of (actual share - expected share) * ln(actual share / expected share). The
usual reading (Siddiqi, *Credit Risk Scorecards*, 2006): below 0.10 stable, 0.10 to 0.25 watch,
0.25 and above a shift that needs action.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

PSI_WATCH = 0.10
PSI_DRIFT = 0.25
# A share of 0 has no logarithm: empty bins count as this share on either side.
PSI_FLOOR = 1e-4
MAX_BINS = 10
# Fewer scored rows than this and PSI measures sampling noise more than drift.
MIN_ROWS = 100
SCORE_VARIABLE = "score"
PROFILE_ARTIFACT = "monitoring/reference.json"


def psi_status(value: float | None, rows: int | None = None) -> str:
    """`stable`, `watch` or `drift` for a PSI (0.10 / 0.25); `insufficient` with few rows."""
    if value is None or (rows is not None and rows < MIN_ROWS):
        return "insufficient"
    if value >= PSI_DRIFT:
        return "drift"
    return "watch" if value >= PSI_WATCH else "stable"


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray) -> float:
    """PSI between two count (or share) vectors over the same bins."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        raise ValueError(f"expected and actual must have the same bins, got {e.shape} {a.shape}")
    if e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("expected and actual must each hold at least one row")
    e = np.maximum(e / e.sum(), PSI_FLOOR)
    a = np.maximum(a / a.sum(), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class VariableBins:
    """How one variable is binned: numeric edges or kept category codes, plus a missing bin.

    Numeric bins are (-inf, e0], (e0, e1], ..., (e_k, inf); categorical bins are one per kept
    code and one for every other code. The last bin always holds missing values.
    """

    name: str
    edges: tuple[float, ...] = ()
    categories: tuple[float, ...] = ()
    categorical: bool = False
    expected: tuple[float, ...] = ()

    @cached_property  # read for every served row's every variable (`bin_of`, monitoring)
    def n_bins(self) -> int:
        """Number of bins including the missing bin."""
        body = len(self.categories) + 1 if self.categorical else len(self.edges) + 1
        return body + 1

    def assign(self, values: Iterable[float]) -> np.ndarray:
        """Bin index of each value (the last index for missing)."""
        x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values,
                       dtype=np.float64)
        missing = np.isnan(x)
        if self.categorical:
            cats = np.asarray(self.categories, dtype=np.float64)
            match = x[:, None] == cats[None, :] if len(cats) else np.zeros((len(x), 0), bool)
            idx = np.where(match.any(axis=1), match.argmax(axis=1) if len(cats) else 0, len(cats))
        else:
            idx = np.searchsorted(np.asarray(self.edges, dtype=np.float64), x, side="left")
        return np.where(missing, self.n_bins - 1, idx).astype(np.int64)

    def counts(self, values: Iterable[float]) -> np.ndarray:
        """Rows per bin."""
        x = values if isinstance(values, np.ndarray) else np.asarray(list(values), np.float64)
        if x.shape == (1,):
            # One served row: the same bin as `assign`, without a dozen numpy calls for it.
            out = np.zeros(self.n_bins, dtype=np.int64)
            out[self.bin_of(float(x[0]))] = 1
            return out
        return np.bincount(self.assign(x), minlength=self.n_bins)

    def bin_of(self, value: float) -> int:
        """Bin index of one value, as `assign` gives it (the last index when missing)."""
        if math.isnan(value):
            return self.n_bins - 1
        if self.categorical:
            return self.categories.index(value) if value in self.categories \
                else len(self.categories)
        return bisect.bisect_left(self.edges, value)

    def labels(self) -> list[str]:
        """A readable label per bin."""
        if self.categorical:
            return [f"={c:g}" for c in self.categories] + ["other", "missing"]
        if not self.edges:
            return ["all", "missing"]
        out = [f"<={self.edges[0]:.4g}"]
        out += [f"({lo:.4g}, {hi:.4g}]" for lo, hi in zip(self.edges[:-1], self.edges[1:],
                                                            strict=True)]
        return [*out, f">{self.edges[-1]:.4g}", "missing"]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "edges": list(self.edges), "categories": list(self.categories),
                "categorical": self.categorical, "expected": list(self.expected)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariableBins:
        """Rebuild from `to_dict` output."""
        return cls(str(data["name"]), tuple(float(e) for e in data["edges"]),
                   tuple(float(c) for c in data["categories"]), bool(data["categorical"]),
                   tuple(float(e) for e in data["expected"]))


def fit_bins(name: str, values: np.ndarray, categorical: bool, max_bins: int = MAX_BINS
             ) -> VariableBins:
    """Bins of one variable from reference values: deciles, or the most frequent categories."""
    x = np.asarray(values, dtype=np.float64)
    present = x[~np.isnan(x)]
    if categorical:
        codes, n = np.unique(present, return_counts=True)
        order = np.argsort(-n, kind="stable")
        # categories holding at least 2 % of rows, at most max_bins - 1 of them; the rest "other"
        keep = [float(codes[i]) for i in order[: max_bins - 1] if n[i] >= 0.02 * len(x)]
        bins = VariableBins(name, categories=tuple(sorted(keep)), categorical=True)
    else:
        if len(present):
            qs = np.quantile(present, np.linspace(0, 1, max_bins + 1)[1:-1], method="lower")
            edges = tuple(float(e) for e in np.unique(qs))
        else:
            edges = ()
        bins = VariableBins(name, edges=edges)
    counts = bins.counts(x)
    return VariableBins(bins.name, bins.edges, bins.categories, bins.categorical,
                        tuple(float(c) for c in counts / max(1, counts.sum())))


@dataclass(frozen=True)
class ReferenceProfile:
    """Binned reference distribution of a model's features and score, with where it came from."""

    task: str
    variables: Mapping[str, VariableBins]
    rows: int
    period: tuple[str, str] = ("", "")
    score_column: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def counts(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Rows per bin of each profiled variable present in `frame`."""
        return {name: bins.counts(frame[name].to_numpy(dtype=np.float64, na_value=np.nan))
                for name, bins in self.variables.items() if name in frame.columns}

    def counts_of_columns(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Rows per bin of each profiled variable among `columns` (name -> float64 values).

        What `counts` gives for a frame of those columns, without building one (a served
        request bins one row: pandas per column would cost more than the binning).
        """
        return {name: bins.counts(columns[name])
                for name, bins in self.variables.items() if name in columns}

    def bins_of_row(self, row: Mapping[str, float]) -> dict[str, tuple[int, int]]:
        """(bin index, number of bins) of each profiled variable among `row` (NaN missing).

        One row's `counts_of_columns` as indexes: its counts are 1 in that bin, 0 elsewhere.
        """
        return {name: (bins.bin_of(float(row[name])), bins.n_bins)
                for name, bins in self.variables.items() if name in row}

    def psi_of_counts(self, counts: Mapping[str, Sequence[float] | np.ndarray]
                      ) -> dict[str, float]:
        """PSI of each variable's observed bin counts against the reference."""
        out = {}
        for name, c in counts.items():
            bins = self.variables.get(name)
            if bins is None or sum(c) <= 0:
                continue
            out[name] = psi(bins.expected, c)
        return out

    def psi_of_frame(self, frame: pd.DataFrame) -> dict[str, float]:
        """PSI of each profiled variable of `frame` against the reference."""
        return self.psi_of_counts(self.counts(frame))

    def to_json(self) -> str:
        """The profile as JSON text."""
        return json.dumps({
            "task": self.task, "rows": self.rows, "period": list(self.period),
            "score_column": self.score_column, "meta": dict(self.meta),
            "variables": [v.to_dict() for v in self.variables.values()],
        }, indent=1)

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        """Rebuild a profile from `to_json` text."""
        data = json.loads(text)
        variables = {v["name"]: VariableBins.from_dict(v) for v in data["variables"]}
        return cls(data["task"], variables, int(data["rows"]), tuple(data["period"]),
                   str(data.get("score_column", "")), dict(data.get("meta", {})))


def score_of(kind: str, scored: pd.DataFrame) -> np.ndarray:
    """The monitored score of a contract output frame: the booster's raw score."""
    # The raw score (log-odds, log cost, log P50) is on the scale the trees split on and is
    # defined for every kind; probabilities bunch near zero and bin poorly.
    del kind
    return scored["raw_score"].to_numpy(dtype=np.float64)


def build_profile(
    task: str,
    X: pd.DataFrame,
    score: np.ndarray,
    categorical: Iterable[str],
    period: tuple[str, str] = ("", ""),
    meta: Mapping[str, Any] | None = None,
) -> ReferenceProfile:
    """The reference profile of feature rows `X` and their scores."""
    cats = set(categorical)
    variables = {
        name: fit_bins(name, X[name].to_numpy(dtype=np.float64, na_value=np.nan), name in cats)
        for name in X.columns
    }
    variables[SCORE_VARIABLE] = fit_bins(SCORE_VARIABLE, np.asarray(score, dtype=np.float64),
                                         False)
    return ReferenceProfile(task, variables, len(X), period, "raw_score", dict(meta or {}))
