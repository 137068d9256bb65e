"""The per-entity record of the online store: features plus each model's outputs, as floats.

An entity frame is indexed by entity id and holds the registry's feature columns and, for each
task scored, its contract columns named `<task>.<column>` (`litigation.probability`,
`litigation.shap__num_claims`, ...). A record is the frame's row as float64 bytes in the column
order the generation's manifest lists (`RecordLayout`), so reading one is one lookup and one
`numpy.frombuffer`. A batch run that writes such frames (features, scores, SHAP per entity) is
what `write_entity_frame` stores.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

TASK_SEP = "."


@dataclass(frozen=True)
class RecordLayout:
    """Column order of one namespace's records: feature names, then `<task>.<column>`s."""

    columns: tuple[str, ...]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> RecordLayout:
        """The layout of an entity frame (its columns in order)."""
        return cls(tuple(str(c) for c in frame.columns))

    @property
    def features(self) -> list[str]:
        """The feature columns."""
        return [c for c in self.columns if TASK_SEP not in c]

    @property
    def tasks(self) -> list[str]:
        """Tasks whose outputs the records hold, in order."""
        return list(dict.fromkeys(c.split(TASK_SEP, 1)[0] for c in self.columns
                                  if TASK_SEP in c))

    def encode(self, frame: pd.DataFrame) -> Iterator[tuple[str, bytes]]:
        """(entity id, record bytes) for every row of `frame`.

        The float64 row, zlib-compressed at the fastest level: about half the values are exact
        zeros (SHAP of features a model does not split on), so records halve in size while
        decompressing one stays a few microseconds.
        """
        ordered = frame if tuple(map(str, frame.columns)) == self.columns else \
            frame.loc[:, list(self.columns)]  # no copy of a wide frame already in order
        matrix = np.ascontiguousarray(ordered.to_numpy(dtype=np.float64, na_value=np.nan))
        ids = frame.index.astype(str)
        for i, key in enumerate(ids):
            yield key, zlib.compress(matrix[i].tobytes(), 1)

    def decode(self, blobs: Sequence[bytes], ids: Sequence[str]) -> pd.DataFrame:
        """An entity frame of the records `blobs` of `ids`."""
        raw = b"".join(zlib.decompress(b) for b in blobs)
        matrix = np.frombuffer(raw, dtype=np.float64).reshape(len(blobs), -1)
        if matrix.shape[1] != len(self.columns):
            raise ValueError(f"records hold {matrix.shape[1]} values, the layout "
                             f"{len(self.columns)}")
        return pd.DataFrame(matrix, index=pd.Index(list(ids)), columns=list(self.columns))

    def positions(self, task: str | None) -> tuple[list[int], list[str]]:
        """Column positions and names of `task`'s outputs (unprefixed), or of the features."""
        if task is None:
            pos = [i for i, c in enumerate(self.columns) if TASK_SEP not in c]
            return pos, [self.columns[i] for i in pos]
        prefix = task + TASK_SEP
        pos = [i for i, c in enumerate(self.columns) if c.startswith(prefix)]
        return pos, [self.columns[i][len(prefix):] for i in pos]

    def to_json(self) -> list[str]:
        """The layout as stored in the manifest."""
        return list(self.columns)

    @classmethod
    def from_json(cls, data: Any) -> RecordLayout:
        """A layout read back from a manifest."""
        return cls(tuple(str(c) for c in data))


@dataclass(frozen=True)
class EntityRecord:
    """One entity's stored record as plain floats: what a single stored quote reads.

    The same values `OnlineView.features` and `task_rows` give as one-row frames, without
    building them: `features()` and `outputs(task)` are dicts in the layout's column order.
    """

    entity_id: str
    values: np.ndarray
    # Positions and names of each task's columns (None: the features), from `RecordLayout`.
    positions: Mapping[str | None, tuple[list[int], list[str]]]

    def features(self) -> dict[str, float]:
        """The feature values by name (missing as NaN), in the layout's order."""
        return self._named(None)

    def outputs(self, task: str) -> dict[str, float]:
        """`task`'s contract row (unprefixed column names); empty when not stored."""
        return self._named(task)

    def _named(self, task: str | None) -> dict[str, float]:
        """The values of `task`'s columns (the features for None) by name."""
        pos, names = self.positions.get(task, ([], []))
        return dict(zip(names, self.values[pos].tolist(), strict=True))


def task_outputs(frame: pd.DataFrame, task: str) -> pd.DataFrame:
    """The contract frame of `task` inside an entity frame (its `<task>.` columns, unprefixed)."""
    prefix = task + TASK_SEP
    cols = [c for c in frame.columns if str(c).startswith(prefix)]
    out = frame.loc[:, cols]
    out.columns = [str(c)[len(prefix):] for c in cols]
    return out


def with_outputs(features: pd.DataFrame, outputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """An entity frame: the features, then each task's contract columns prefixed by the task."""
    parts = [features]
    for task, out in outputs.items():
        # set_axis: a lazy copy (copy-on-write); concat copies the columns once anyway.
        parts.append(out.set_axis(features.index, axis=0).set_axis(
            [f"{task}{TASK_SEP}{c}" for c in out.columns], axis=1))
    return pd.concat(parts, axis=1)
