"""The bulk run on Spark: the same feature SQL transpiled, champions through `spark_udf`."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

from features.engines import firm_batch_query, firm_batch_sql, patent_batch_query, patent_batch_sql
from features.engines.spark_engine import SparkTables, spark_session
from features.settings import Settings
from features.store import TableStore
from models.policy import Policy, Product, load_policy
from serving.bulk.job import LEAKAGE_SAMPLE, BulkReport, check_point_in_time
from serving.bulk.publish import staging_path
from serving.bulk.records import ENTITIES, EntityPlan, partition_path, task_column, version_column
from serving.bulk.scoring import Champion, resolve_champions

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


def _scores(session: SparkSession, champion: Champion,
            constants: tuple[tuple[str, float], ...]) -> tuple[Column, list[Column]]:
    """The champion's pyfunc as a Spark UDF call, and its `<task>__<output>` and version columns.

    The call is one struct column; the output columns read its fields. Constant inputs are
    literals (they take the place of a feature of the same name).
    """
    import mlflow.pyfunc
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    result = T.StructType([T.StructField(c, T.DoubleType()) for c in champion.outputs])
    udf = mlflow.pyfunc.spark_udf(session, champion.uri, result_type=result, env_manager="local")
    fixed = dict(constants)
    args: list[Column] = [
        F.lit(float(fixed[c])) if c in fixed else F.col(c).cast("double")
        for c in champion.inputs
    ]
    tmp = f"_out_{champion.task}"
    outs = [F.col(f"{tmp}.{c}").alias(task_column(champion.task, c)) for c in champion.outputs]
    version = F.lit(champion.version).alias(version_column(champion.task))
    return udf(*args).alias(tmp), [*outs, version]


def _scored_and_graded(session: SparkSession, df: DataFrame, plan: EntityPlan,
                       champions: dict[str, Champion], policy: Policy) -> DataFrame:
    """`df` with every task's scores, the grade and the policy version, in one pass.

    All the champions' UDF calls are in one projection, so Spark evaluates them in one Python
    worker per task (each model loaded once per task, the rows sent once) instead of one pass
    per champion; the grade is a native expression on the graded probability.
    """
    from pyspark.sql import functions as F

    calls: list[Column] = []
    outputs: list[Column] = []
    for tp in plan.tasks:
        call, cols = _scores(session, champions[tp.task], tp.constants)
        calls.append(call)
        outputs += cols
    kept = [F.col(c) for c in df.columns]
    scored = df.select(*kept, *calls).select(*kept, *outputs)
    task, product = plan.graded
    return scored.select(
        *[F.col(c) for c in scored.columns],
        grade_column(policy, product, task_column(task, "probability")),
        F.lit(policy.version).alias("policy_version"),
    )


def grade_column(policy: Policy, product: Product, probability: str) -> Column:
    """`Policy.grade` of a probability column as a native Spark expression (no Python pass).

    `Policy.grade` takes the band `bisect_right(uppers, p)` of the bands' sorted upper bounds
    (the last band has none): the first band whose upper bound exceeds p. A probability that
    is missing, NaN or outside [0, 1] fails the run, as `Policy.grade` refuses it.
    """
    from pyspark.sql import functions as F

    scale = policy.product(product).scale
    uppers = [b.upper for b in scale[:-1]]
    if uppers != sorted(uppers):
        raise ValueError(f"policy {policy.version}: {product} bands are not in order of their "
                         "upper bounds")
    p = F.col(probability)
    bad = p.isNull() | F.isnan(p) | (p < 0.0) | (p > 1.0)
    graded = F.when(bad, F.raise_error(F.concat(
        F.lit(f"{probability} must be between 0 and 1, got "),
        F.coalesce(p.cast("string"), F.lit("NULL")))))
    for band, upper in zip(scale, uppers, strict=False):
        graded = graded.when(p < F.lit(float(upper)), F.lit(band.grade.value))
    out: Column = graded.otherwise(F.lit(scale[-1].grade.value)).alias("grade")
    return out


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
    tasks = ", ".join(tp.task for tp in plan.tasks)
    with report.timed(plan.entity, f"score {tasks}; grade") as rows:
        graded, m = _materialize(
            _scored_and_graded(session, feats, plan, champions, policy), feats)
        rows.append(m)
    with report.timed(plan.entity, "write") as rows:
        final = partition_path(out, plan.entity, as_of)
        staging = staging_path(final)
        graded.drop("as_of").write.mode("overwrite").parquet(staging)
        _publish(session, staging, final)
        rows.append(m)
    graded.unpersist()
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
