"""The bulk run on Spark: the same feature SQL transpiled, champions through `spark_udf`."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from features.engines import firm_batch_query, firm_batch_sql, patent_batch_query, patent_batch_sql
from features.engines.spark_engine import SparkTables, spark_session
from features.settings import Settings
from features.store import TableStore
from models.policy import Policy, Product, load_policy
from serving.bulk.job import LEAKAGE_SAMPLE, BulkReport, check_point_in_time
from serving.bulk.publish import staging_path
from serving.bulk.records import ENTITIES, EntityPlan, partition_path, task_column, version_column
from serving.bulk.scoring import Champion, grade_labels, resolve_champions

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

SQL_OF = {"patent": patent_batch_sql, "firm": firm_batch_sql}
QUERY_OF = {"patent": patent_batch_query, "firm": firm_batch_query}


def _materialize(df: DataFrame, previous: DataFrame | None = None) -> tuple[DataFrame, int]:
    """Persist `df`, count it (running the plan so far) and drop the previous step's cache."""
    df = df.persist()
    n = df.count()
    if previous is not None:
        previous.unpersist()
    return df, n


def _spread(session: SparkSession, df: DataFrame) -> DataFrame:
    """`df` over at least as many partitions as Spark has cores, for the Python UDF steps.

    Adaptive execution coalesces a small result into one partition, which would score on one
    core; the UDFs cost far more per row than the shuffle that spreads the rows.
    """
    return df.repartition(session.sparkContext.defaultParallelism)


def _scores(session: SparkSession, df: DataFrame, champion: Champion,
            constants: tuple[tuple[str, float], ...]) -> DataFrame:
    """`df` with `<task>__<output>` columns from the champion's pyfunc run as a Spark UDF."""
    import mlflow.pyfunc
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    result = T.StructType([T.StructField(c, T.DoubleType()) for c in champion.outputs])
    udf = mlflow.pyfunc.spark_udf(session, champion.uri, result_type=result, env_manager="local")
    with_consts = df
    for name, value in constants:
        with_consts = with_consts.withColumn(name, F.lit(float(value)))
    args: list[Column] = [F.col(c).cast("double") for c in champion.inputs]
    tmp = f"_out_{champion.task}"
    scored = with_consts.withColumn(tmp, udf(*args))
    kept = [F.col(c) for c in df.columns]
    outs = [F.col(f"{tmp}.{c}").alias(task_column(champion.task, c)) for c in champion.outputs]
    version = F.lit(champion.version).alias(version_column(champion.task))
    return scored.select(*kept, *outs, version)


def _grade_column(policy: Policy, product: Product, probability: str) -> Column:
    """The policy grade of a probability column, graded by `Policy.grade` on the workers."""
    from pyspark.sql import functions as F

    def grade(p: pd.Series) -> pd.Series:
        return grade_labels(policy, product, p)

    graded: Column = F.pandas_udf(grade, "string")(F.col(probability)).alias("grade")
    return graded


def _publish(session: SparkSession, staging: str, final: str) -> None:
    """Replace `final` by `staging` on the output's file system (local, HDFS, S3, ...)."""
    jvm = session.sparkContext._jvm
    if jvm is None:
        raise RuntimeError("the Spark session has no JVM gateway (it was stopped)")
    conf = session.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path
    target = path(final)
    fs = target.getFileSystem(conf)
    old = path(staging_path(final) + ".old")
    if fs.exists(target):
        fs.rename(target, old)
    fs.mkdirs(target.getParent())
    if not fs.rename(path(staging), target):
        raise OSError(f"could not move {staging} to {final}")
    if fs.exists(old):
        fs.delete(old, True)


def _entity(session: SparkSession, tabs: SparkTables, plan: EntityPlan, as_of: date, out: str,
            champions: dict[str, Champion], policy: Policy, report: BulkReport,
            check_leakage: bool, cache_shared: bool) -> None:
    """Features, scores, grades and the partition of one entity kind."""
    from pyspark.sql import functions as F

    relations = tabs.relations()
    sql_of = SQL_OF[plan.entity]
    cache = None if cache_shared else frozenset[str]()
    with report.timed(plan.entity, "features") as rows:
        with tabs.staged(QUERY_OF[plan.entity](relations, as_of), cache) as staged:
            feats, n = _materialize(_spread(session, staged))
        rows.append(n)
    if check_leakage:
        with report.timed(plan.entity, "leakage check") as rows:
            fraction = min(1.0, 2.0 * LEAKAGE_SAMPLE / n) if n else 1.0
            sample = feats.sample(fraction=fraction, seed=0).limit(LEAKAGE_SAMPLE).toPandas()
            checked = check_point_in_time(
                plan, sample, relations, as_of, lambda sql: tabs.sql(sql).toPandas(), sql_of,
            )
            report.leakage_rows_checked += checked
            rows.append(checked)
    current = feats
    for tp in plan.tasks:
        with report.timed(plan.entity, f"score {tp.task}") as rows:
            nxt, m = _materialize(
                _scores(session, current, champions[tp.task], tp.constants),
                None if current is feats else current,
            )
            current = nxt
            rows.append(m)
    with report.timed(plan.entity, "grade") as rows:
        task, product = plan.graded
        graded = current.select(
            *[F.col(c) for c in current.columns],
            _grade_column(policy, product, task_column(task, "probability")),
            F.lit(policy.version).alias("policy_version"),
        )
        graded, m = _materialize(graded, current)
        rows.append(m)
    with report.timed(plan.entity, "write") as rows:
        final = partition_path(out, plan.entity, as_of)
        staging = staging_path(final)
        graded.drop("as_of").write.mode("overwrite").parquet(staging)
        _publish(session, staging, final)
        rows.append(m)
    graded.unpersist()
    feats.unpersist()
    report.rows[plan.entity] = n


def run_spark(
    settings: Settings, as_of: date, out: str, entities: list[str], check_leakage: bool
) -> BulkReport:
    """Score every entity of `entities` as of `as_of` on Spark and write their partitions."""
    policy = load_policy(settings.policy_file)
    tasks = [tp.task for e in entities for tp in ENTITIES[e].tasks]
    champions = resolve_champions(settings.resolved_tracking_uri, tasks)
    report = BulkReport("spark", as_of, out, policy_version=policy.version,
                        model_versions={t: c.version for t, c in champions.items()})
    with report.timed("all", "spark session") as rows:
        session = spark_session(settings.spark_master, settings.spark_driver_memory,
                                settings.spark_shuffle_partitions)
        tabs = SparkTables.open(session, TableStore(settings.dataset_dir))
        rows.append(0)
    for entity in entities:
        _entity(session, tabs, ENTITIES[entity], as_of, out, champions, policy, report,
                check_leakage, settings.spark_cache_shared_ctes)
    return report
