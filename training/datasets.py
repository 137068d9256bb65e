"""Training datasets: a task's point-in-time snapshots from the active dataset, with provenance."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

import features.pipelines as pipelines
from features.registry import get as get_feature
from features.settings import Settings
from features.store import TableStore
from models.tasks import TaskSpec

log = logging.getLogger(__name__)

# tables without which a task has no labels (e.g. ingested public data has no loans)
LABEL_TABLES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    "litigation": ("patents", "cases"),
    "liability": ("assignees", "firm_technology", "cases"),
    "severity": ("cases",),
    "default": ("loans", "loan_patents"),
    "value": ("transactions",),
})
SNAPSHOT_COLUMNS = ("entity_id", "as_of", "label", "truth", "label_date")


class TaskUnavailable(RuntimeError):
    """The dataset cannot provide labels for a task; the reason says which data is missing."""


@dataclass(frozen=True)
class TaskData:
    """A task's snapshot frame with its feature list and where the data came from."""

    task: str
    frame: pd.DataFrame
    features: tuple[str, ...]
    fingerprint: str
    dataset: str
    source: str
    end_date: str
    root: str

    @property
    def has_truth(self) -> bool:
        """Whether the synthetic world's oracle is known for these rows."""
        return bool(self.frame["truth"].notna().any())

    def monotone(self, task: str) -> dict[str, int]:
        """Registry direction per feature for `task` (+1 raises, -1 lowers, 0 none)."""
        return {f: int(get_feature(f).directions.get(task, 0)) for f in self.features}

    def categorical(self) -> list[str]:
        """Features holding integer category codes."""
        return [f for f in self.features if get_feature(f).is_categorical]


def unavailable_reason(store: TableStore, task: str) -> str | None:
    """Why the dataset cannot give the task's labels, or None when it can."""
    if not store.root.exists():
        return f"dataset folder {store.root} does not exist (run `patentrisk generate`)"
    missing = [t for t in LABEL_TABLES[task] if not store.exists(t)]
    if missing:
        return f"dataset has no {', '.join(missing)} table(s), so {task} has no labels"
    return None


def load_task_data(
    settings: Settings, spec: TaskSpec, extra_blocks: Sequence[pipelines.FeatureBlock] = ()
) -> TaskData:
    """Build the task's snapshots (features, label, truth) from the active dataset.

    The pipeline's leakage guard runs on every build: a feature that uses facts dated after
    its as-of date raises `features.pipelines.LeakageError` and nothing is trained.
    """
    store = TableStore(settings.dataset_dir)
    reason = unavailable_reason(store, spec.name)
    if reason:
        raise TaskUnavailable(reason)
    con = store.connect()
    try:
        frame = pipelines.build_snapshots(
            con, spec.name, extra_blocks=extra_blocks, check_leakage=True
        )
    finally:
        con.close()
    features = tuple(pipelines.task_features(spec.name))
    missing = [c for c in (*SNAPSHOT_COLUMNS, *features) if c not in frame.columns]
    if missing:
        raise ValueError(f"snapshots of {spec.name} lack columns {missing}")
    frame = frame.loc[frame["label"].notna()].copy()
    if frame.empty:
        raise TaskUnavailable(f"{spec.name} snapshots hold no labelled rows")
    frame = _typed(frame, features)
    if spec.kind == "classifier" and frame["label"].nunique() < 2:
        raise TaskUnavailable(f"{spec.name} labels hold one class only")
    if spec.kind in ("severity", "value"):
        positive = frame["label"] > 0
        if (~positive).any():
            log.info("%s: dropping %d rows with label <= 0", spec.name, int((~positive).sum()))
        frame = frame.loc[positive]
    frame = frame.sort_values(["as_of", "entity_id"], kind="stable").reset_index(drop=True)
    meta = store.meta()
    return TaskData(
        task=spec.name,
        frame=frame,
        features=features,
        fingerprint=store.fingerprint(),
        dataset=settings.dataset,
        source=str(meta.get("source", "unknown")),
        end_date=str(meta.get("end_date", "")),
        root=str(store.root),
    )


def _typed(frame: pd.DataFrame, features: tuple[str, ...]) -> pd.DataFrame:
    """Feature, label and truth columns as float64 (NaN for missing); dates as datetime."""
    out = frame.loc[:, list(SNAPSHOT_COLUMNS) + list(features)].copy()
    out["label_date"] = pd.to_datetime(out["label_date"])
    for col in ("label", "truth", *features):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
        out[col] = out[col].to_numpy(dtype=np.float64, na_value=np.nan)
    out["as_of"] = pd.to_datetime(out["as_of"])
    out["entity_id"] = out["entity_id"].astype(str)
    return out
