"""Training snapshots of the yearly tasks on Spark, from the same label and feature SQL.

`features.pipelines.build_snapshots` runs on DuckDB; this builds the same frame (entity_id,
as_of, features, label, truth) on Spark for `litigation` and `liability`, with the leakage guard
recomputing its sample on Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from features.engines.spark_engine import SparkTables
from features.pipelines.firms import firm_features_sql
from features.pipelines.labels import (
    HORIZON_MONTHS,
    TRUTH_SUBQUERIES,
    liability_labels_sql,
    litigation_labels_sql,
)
from features.pipelines.leakage import assert_point_in_time
from features.pipelines.patents import patent_features_sql
from features.pipelines.relations import TableRelations
from features.registry import task_features
from features.store import TableStore

YEARLY_TASKS = ("litigation", "liability")
_LABEL_SQL = {"litigation": litigation_labels_sql, "liability": liability_labels_sql}
_FEATURE_SQL: dict[str, tuple[str, Callable[[TableRelations, str, Sequence[str]], str]]] = {
    "litigation": ("patent_id", patent_features_sql),
    "liability": ("assignee_id", firm_features_sql),
}


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Snapshot columns typed as `build_snapshots` types them."""
    frame["entity_id"] = frame["entity_id"].astype(str)
    for col in ("as_of", "label_date"):
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    for col in frame.columns[2:]:
        if col != "label_date":
            frame[col] = frame[col].astype("float64")
    return frame


def spark_snapshots(
    tables: SparkTables, task: str, as_of_dates: Sequence[date], *, check_leakage: bool = True
) -> pd.DataFrame:
    """Training frame of a yearly `task` built on Spark; `LeakageError` if the sample leaks."""
    if task not in YEARLY_TASKS:
        raise ValueError(f"task must be one of {YEARLY_TASKS} on Spark, got {task!r}")
    dates = sorted(set(as_of_dates))
    if not dates:
        raise ValueError("as_of_dates must hold at least one date")
    end = date.fromisoformat(str(TableStore(Path(tables.root)).meta()["end_date"]))
    late = [d for d in dates
            if pd.Timestamp(d) + pd.DateOffset(months=HORIZON_MONTHS) > pd.Timestamp(end)]
    if late:
        raise ValueError(
            f"as_of_dates must leave a {HORIZON_MONTHS}-month label window before the "
            f"dataset end_date {end}, got {late[0]}"
        )
    rel = tables.relations()
    truth_table, truth_sql = TRUTH_SUBQUERIES[task]
    truth = truth_sql if truth_table in tables.present() else "NULL"
    pop = _typed(tables.sql(_LABEL_SQL[task](rel, dates, truth)).toPandas())
    names = task_features(task)
    id_col, features_sql = _FEATURE_SQL[task]

    def recompute(relations: TableRelations, rows: pd.DataFrame) -> pd.DataFrame:
        targets = rows[["entity_id", "as_of"]].rename(columns={"entity_id": id_col})
        targets["as_of"] = pd.to_datetime(targets["as_of"]).dt.date
        view = f"_targets_{task}"
        tables.session.createDataFrame(targets).createOrReplaceTempView(view)
        out = tables.sql(features_sql(relations, view, names)).toPandas()
        return _typed(out.rename(columns={id_col: "entity_id"}))

    frame = pop.merge(recompute(rel, pop), on=["entity_id", "as_of"], how="left",
                      validate="one_to_one")
    if check_leakage:
        assert_point_in_time(frame, ["entity_id", "as_of"], names, rel, recompute)
    cols = ["entity_id", "as_of", *names, "label", "truth", "label_date"]
    return frame[cols].sort_values(["entity_id", "as_of"], kind="stable").reset_index(drop=True)

