"""The per-entity record a bulk run writes, and how to read it back.

Layout: `OUT/<entity dir>/as_of=YYYY-MM-DD/part-*.parquet` (Hive-style partitions, readable by
Spark, DuckDB and pyarrow). One row per entity:

- the id (`patent_id` or `assignee_id`), `as_of` (the partition), every feature of the entity;
- per scored task `<task>__<column>` for each column of the task's pyfunc contract frame
  (`litigation__probability`, `litigation__shap__num_claims`, `severity__expected_cost`,
  `value__p50`, ...) and `<task>__model_version` (the registry version that scored it);
- `grade` (the policy grade of the entity's insurance product) and `policy_version`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from features.pipelines.frames import FIRM_FEATURES, PATENT_FEATURES
from models.policy import Product


@dataclass(frozen=True)
class TaskPlan:
    """One task scored on an entity: its constant inputs and the product it grades, if any."""

    task: str
    constants: tuple[tuple[str, float], ...] = ()
    grades: Product | None = None


@dataclass(frozen=True)
class EntityPlan:
    """What a bulk run writes for one entity kind: its id, folder, features and tasks."""

    entity: str
    key: str
    folder: str
    features: tuple[str, ...]
    tasks: tuple[TaskPlan, ...]

    @property
    def graded(self) -> tuple[str, Product]:
        """The task whose probability sets the entity's grade, and the product it grades."""
        for t in self.tasks:
            if t.grades is not None:
                return t.task, t.grades
        raise ValueError(f"entity {self.entity} has no task that sets its grade")


# Claim kind 0 is enforcement (features.registry.CLAIM_KINDS): an insured patent's claim cost.
ENTITIES: dict[str, EntityPlan] = {
    "patent": EntityPlan(
        "patent", "patent_id", "patents", PATENT_FEATURES,
        (TaskPlan("litigation", grades=Product.ENFORCEMENT),
         TaskPlan("severity", constants=(("claim_kind", 0.0),)),
         TaskPlan("value")),
    ),
    "firm": EntityPlan(
        "firm", "assignee_id", "firms", FIRM_FEATURES,
        (TaskPlan("liability", grades=Product.LIABILITY),),
    ),
}
TASK_SEPARATOR = "__"


def task_column(task: str, column: str) -> str:
    """Record column of `column` of `task`'s output frame (`litigation__probability`)."""
    return f"{task}{TASK_SEPARATOR}{column}"


def version_column(task: str) -> str:
    """Record column holding the model version that scored `task`."""
    return task_column(task, "model_version")


def partition_path(out: str | Path, entity: str, as_of: date) -> str:
    """The folder holding the records of `entity` as of `as_of` under the output root `out`."""
    return f"{str(out).rstrip('/')}/{ENTITIES[entity].folder}/as_of={as_of.isoformat()}"


def read_records(out: str | Path, entity: str, as_of: date | None = None) -> pd.DataFrame:
    """Records of `entity` under the local output root `out` (one date or all), sorted by id."""
    plan = ENTITIES[entity]
    root = Path(out) / plan.folder
    if as_of is not None:
        root = Path(partition_path(out, entity, as_of))
    if not root.exists():
        raise FileNotFoundError(f"no {entity} records at {root}")
    data: pd.DataFrame = (
        ds.dataset(str(root), format="parquet", partitioning="hive").to_table().to_pandas()
    )
    if as_of is not None:
        data.insert(1, "as_of", pd.Timestamp(as_of))
    else:
        data["as_of"] = pd.to_datetime(data["as_of"].astype(str))
        data.insert(1, "as_of", data.pop("as_of"))
    return data.sort_values([plan.key, "as_of"], kind="stable").reset_index(drop=True)


def task_outputs(records: pd.DataFrame, task: str) -> pd.DataFrame:
    """The pyfunc contract frame of `task` (probability, shap__..., ...) out of records."""
    prefix = task + TASK_SEPARATOR
    cols = [c for c in records.columns if c.startswith(prefix) and c != version_column(task)]
    out = records[cols].copy()
    out.columns = [c[len(prefix):] for c in cols]
    return out
