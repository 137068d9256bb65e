"""The bulk run on DuckDB: feature SQL in-process, champions scored in pandas chunks."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import duckdb
import mlflow.pyfunc
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from mlflow.pyfunc import PyFuncModel

from features.engines import firm_batch_sql, patent_batch_sql
from features.pipelines.relations import TableRelations
from features.settings import Settings
from features.store import TableStore
from models.policy import Policy, load_policy
from serving.bulk.job import BulkReport, check_point_in_time
from serving.bulk.publish import publish_local, staging_path
from serving.bulk.records import ENTITIES, EntityPlan, partition_path, task_column, version_column
from serving.bulk.scoring import Champion, grade_labels, model_input, resolve_champions

log = logging.getLogger(__name__)

SQL_OF = {"patent": patent_batch_sql, "firm": firm_batch_sql}
# Rows per model call and per Parquet row group: bounds the memory of SHAP matrices.
CHUNK_ROWS = 200_000


def features_frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The features of a bulk population: id, as_of and float64 features."""
    out = con.execute(sql).df()
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
    for col in out.columns[2:]:
        out[col] = out[col].astype("float64")
    return out


def score_task(model: PyFuncModel, inputs: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc contract frame of `inputs`, computed in chunks."""
    parts: list[pd.DataFrame] = []
    for i in range(0, len(inputs), CHUNK_ROWS):
        out = model.predict(inputs.iloc[i:i + CHUNK_ROWS].reset_index(drop=True))
        if not isinstance(out, pd.DataFrame):
            raise TypeError(f"the pyfunc must answer a DataFrame, got {type(out).__name__}")
        parts.append(out)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _records(
    plan: EntityPlan,
    features: pd.DataFrame,
    outputs: dict[str, pd.DataFrame],
    champions: dict[str, Champion],
    grades: pd.Series,
    policy: Policy,
) -> pa.Table:
    """The Arrow table of an entity's records (without `as_of`, which is the partition)."""
    cols: dict[str, pa.Array] = {
        plan.key: pa.array(features[plan.key].astype(str).tolist(), pa.string())
    }
    for name in plan.features:
        cols[name] = pa.array(features[name].to_numpy("float64"), pa.float64())
    for tp in plan.tasks:
        ch = champions[tp.task]
        for c in ch.outputs:
            cols[task_column(tp.task, c)] = pa.array(
                outputs[tp.task][c].to_numpy("float64"), pa.float64()
            )
        cols[version_column(tp.task)] = pa.array([ch.version] * len(features), pa.string())
    cols["grade"] = pa.array(grades.tolist(), pa.string())
    cols["policy_version"] = pa.array([policy.version] * len(features), pa.string())
    return pa.table(cols)


def run_duckdb(
    settings: Settings, as_of: date, out: str, entities: list[str], check_leakage: bool
) -> BulkReport:
    """Score every entity of `entities` as of `as_of` with DuckDB and write their partitions."""
    if "://" in out:
        raise ValueError(f"out: the duckdb engine writes to a local folder, got {out!r}")
    policy = load_policy(settings.policy_file)
    tasks = [tp.task for e in entities for tp in ENTITIES[e].tasks]
    champions = resolve_champions(settings.resolved_tracking_uri, tasks)
    report = BulkReport("duckdb", as_of, out, policy_version=policy.version,
                        model_versions={t: c.version for t, c in champions.items()})
    models = {t: mlflow.pyfunc.load_model(c.uri) for t, c in champions.items()}
    con = TableStore(settings.dataset_dir).connect()
    try:
        for entity in entities:
            _entity(con, ENTITIES[entity], as_of, out, champions, models, policy, report,
                    check_leakage)
    finally:
        con.close()
    return report


def _entity(con: duckdb.DuckDBPyConnection, plan: EntityPlan, as_of: date, out: str,
            champions: dict[str, Champion], models: dict[str, PyFuncModel],
            policy: Policy, report: BulkReport, check_leakage: bool) -> None:
    """Features, scores, grades and the partition of one entity kind."""
    entity = plan.entity
    relations = TableRelations.from_connection(con)
    with report.timed(entity, "features") as rows:
        feats = features_frame(con, SQL_OF[entity](relations, as_of))
        rows.append(len(feats))
    if check_leakage:
        with report.timed(entity, "leakage check") as rows:
            checked = check_point_in_time(
                plan, feats, relations, as_of, lambda sql: features_frame(con, sql),
                SQL_OF[entity],
            )
            report.leakage_rows_checked += checked
            rows.append(checked)
    outputs: dict[str, pd.DataFrame] = {}
    for tp in plan.tasks:
        with report.timed(entity, f"score {tp.task}") as rows:
            outputs[tp.task] = score_task(
                models[tp.task], model_input(feats, tp, champions[tp.task])
            )
            rows.append(len(feats))
    with report.timed(entity, "grade") as rows:
        task, product = plan.graded
        grades = grade_labels(policy, product, outputs[task]["probability"]) if len(
            feats) else pd.Series([], dtype=object)
        rows.append(len(feats))
    with report.timed(entity, "write") as rows:
        table = _records(plan, feats, outputs, champions, grades, policy)
        final = partition_path(out, entity, as_of)
        staging = Path(staging_path(final))
        staging.mkdir(parents=True)
        pq.write_table(table, staging / "part-00000.parquet", compression="zstd",
                       row_group_size=CHUNK_ROWS)
        publish_local(staging, Path(final))
        rows.append(table.num_rows)
    report.rows[entity] = len(feats)
