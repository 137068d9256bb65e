"""Training snapshots of every task on Spark, from the same label and feature SQL as DuckDB.

`features.pipelines.build_snapshots` runs on DuckDB; `spark_snapshots` builds the same frame
(entity_id, as_of, features, label, truth, label_date) on Spark: the yearly tasks (litigation,
liability) at given dates, the event tasks (default, severity, value) at the day before each
event, with the leakage guard recomputing its sample on Spark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from features.engines.spark_engine import SparkTables
from features.pipelines.firms import firm_features_sql
from features.pipelines.frames import LOAN_FEATURES
from features.pipelines.labels import (
    HORIZON_MONTHS,
    TRUTH_SUBQUERIES,
    default_labels_sql,
    liability_labels_sql,
    litigation_labels_sql,
    maturity_days,
    severity_labels_sql,
    time_to_close_sql,
    value_labels_sql,
)
from features.pipelines.leakage import Recompute, assert_point_in_time
from features.pipelines.loans import loan_features_sql
from features.pipelines.patents import patent_features_sql
from features.pipelines.query import fill
from features.pipelines.relations import TableRelations
from features.registry import TASKS, task_features
from features.store import TableStore

YEARLY_TASKS = ("litigation", "liability")
_LOAN_ROWS = (
    "SELECT loan_id, CAST(start_date - INTERVAL 1 DAY AS DATE) AS as_of, borrower_id, "
    "amount, term_months, appraised_value FROM {loans} WHERE loan_id IN "
    "(SELECT entity_id FROM {ids})"
)
_LOAN_PLEDGES = (
    "SELECT loan_id, patent_id FROM {loan_patents} WHERE loan_id IN (SELECT entity_id FROM {ids})"
)


def _typed(frame: pd.DataFrame, id_col: str = "entity_id") -> pd.DataFrame:
    """Snapshot columns typed as `build_snapshots` types them (text ids, dates, float64)."""
    for col in frame.columns:
        if col in (id_col, "entity_id", "patent_id", "transaction_id"):
            frame[col] = frame[col].astype(str)
        elif col in ("as_of", "label_date"):
            frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
        else:
            frame[col] = frame[col].astype("float64")
    return frame


def _view(tables: SparkTables, frame: pd.DataFrame, name: str) -> str:
    """`frame` (ids as text, `as_of` as dates) as the temporary view `name`."""
    rows = frame.copy()
    if "as_of" in rows.columns:
        rows["as_of"] = pd.to_datetime(rows["as_of"]).dt.date
    tables.session.createDataFrame(rows).createOrReplaceTempView(name)
    return name


def _spark_frame(tables: SparkTables, sql: str, id_col: str) -> pd.DataFrame:
    """DuckDB-dialect SQL run on Spark, as a typed pandas frame."""
    return _typed(tables.sql(sql).toPandas(), id_col)


def _end_date(tables: SparkTables) -> date:
    """The dataset's `end_date` (dataset.json beside its Parquet)."""
    return date.fromisoformat(str(TableStore(Path(tables.root)).meta()["end_date"]))


def _truth(tables: SparkTables, task: str) -> str:
    """The task's oracle subquery when its table is present, else NULL."""
    if task not in TRUTH_SUBQUERIES:
        return "NULL"
    table, subquery = TRUTH_SUBQUERIES[task]
    return subquery if table in tables.present() else "NULL"


def _population(tables: SparkTables, task: str, dates: list[date], end: date) -> pd.DataFrame:
    """The task's labelled rows (entity_id, as_of, label, truth, label_date, extras) on Spark."""
    rel = tables.relations()
    truth = _truth(tables, task)
    if task == "litigation":
        return _spark_frame(tables, litigation_labels_sql(rel, dates, truth), "entity_id")
    if task == "liability":
        return _spark_frame(tables, liability_labels_sql(rel, dates, truth), "entity_id")
    if task == "default":
        pop = _spark_frame(tables, default_labels_sql(rel, end, truth), "entity_id")
    elif task == "value":
        pop = _spark_frame(tables, value_labels_sql(rel, end, truth), "entity_id")
    else:
        row = tables.sql(time_to_close_sql(rel, end)).collect()[0]
        last_filing = end - pd.Timedelta(days=maturity_days(row[0], row[1])).to_pytimedelta()
        pop = _spark_frame(tables, severity_labels_sql(rel, end, last_filing), "entity_id")
    if dates:
        lo, hi = pd.Timestamp(min(dates)), pd.Timestamp(max(dates))
        pop = pop[(pop["as_of"] >= lo) & (pop["as_of"] <= hi)].reset_index(drop=True)
    return pop


def _recompute(tables: SparkTables, task: str) -> Recompute:
    """The function computing `task` features for rows (entity_id, as_of, ...) on Spark."""
    names = task_features(task)
    view = f"_snapshot_rows_{task}"

    def firms(relations: TableRelations, rows: pd.DataFrame) -> pd.DataFrame:
        pairs = rows[["entity_id", "as_of"]].rename(columns={"entity_id": "assignee_id"})
        sql = firm_features_sql(relations, _view(tables, pairs, view), names)
        return _spark_frame(tables, sql, "assignee_id").rename(columns={"assignee_id": "entity_id"})

    def loans(relations: TableRelations, rows: pd.DataFrame) -> pd.DataFrame:
        # The loans themselves come from the whole tables, as `build_snapshots` reads them:
        # only the facts the features read are cut at T.
        ids = _view(tables, rows[["entity_id"]].drop_duplicates(), view)
        values = {**tables.relations().relations, "ids": ids}
        sql = loan_features_sql(relations, f"({fill(_LOAN_ROWS, values)})",
                                 f"({fill(_LOAN_PLEDGES, values)})", LOAN_FEATURES)
        return _spark_frame(tables, sql, "loan_id").rename(columns={"loan_id": "entity_id"})

    patent_col = "patent_id" if task == "severity" else "entity_id"
    patent_names = [n for n in names if n != "claim_kind"]

    def patents(relations: TableRelations, rows: pd.DataFrame) -> pd.DataFrame:
        pairs = rows[[patent_col, "as_of"]].rename(columns={patent_col: "patent_id"})
        sql = patent_features_sql(relations, _view(tables, pairs.drop_duplicates(), view),
                                  patent_names)
        out = _spark_frame(tables, sql, "patent_id")
        if task != "severity":
            return out.rename(columns={"patent_id": "entity_id"})
        merged = rows[["entity_id", "as_of", "patent_id", "claim_kind"]].merge(
            out, on=["patent_id", "as_of"], how="left"
        )
        return merged.drop(columns="patent_id")

    return {"liability": firms, "default": loans}.get(task, patents)


def spark_snapshots(
    tables: SparkTables, task: str, as_of_dates: Sequence[date] | None = None, *,
    check_leakage: bool = True,
) -> pd.DataFrame:
    """Training frame of `task` built on Spark, as `build_snapshots` builds it on DuckDB.

    Yearly tasks need `as_of_dates`; event tasks keep the rows within their span when given.
    Raises `LeakageError` if the leakage guard's sample changes with post-T facts removed.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    dates = sorted({pd.Timestamp(d).date() for d in as_of_dates or ()})
    end = _end_date(tables)
    if task in YEARLY_TASKS:
        if not dates:
            raise ValueError("as_of_dates must hold at least one date for a yearly task")
        late = [d for d in dates
                if pd.Timestamp(d) + pd.DateOffset(months=HORIZON_MONTHS) > pd.Timestamp(end)]
        if late:
            raise ValueError(
                f"as_of_dates must leave a {HORIZON_MONTHS}-month label window before the "
                f"dataset end_date {end}, got {late[0]}"
            )
    names = task_features(task)
    keys = ["entity_id", "as_of"] + (["claim_kind"] if task == "severity" else [])
    pop = _population(tables, task, dates, end)
    recompute = _recompute(tables, task)
    frame = pop.merge(recompute(tables.relations(), pop), on=keys, how="left",
                      validate="one_to_one")
    if check_leakage:
        checked = [n for n in names if n != "claim_kind"]
        assert_point_in_time(frame, keys, checked, tables.relations(), recompute)
    cols = ["entity_id", "as_of", *names, "label", "truth", "label_date"]
    return frame[cols].sort_values(keys, kind="stable").reset_index(drop=True)
