"""Apache Spark as a feature engine: the dataset's Parquet as views, feature SQL transpiled.

`pyspark` is the optional extra `patentrisk[spark]`; nothing here imports it at module import.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from features.engines.transpile import spark_sql
from features.pipelines.query import Cte, FeatureQuery, fill
from features.pipelines.relations import SOURCE_TABLES, TableRelations, empty_relation
from features.store import TableStore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

APP_NAME = "patentrisk"


class SparkUnavailableError(RuntimeError):
    """Spark cannot start here: pyspark is not installed or no Java runtime is found."""


def spark_unavailable_reason() -> str | None:
    """Why a Spark session cannot start on this machine (None when it can)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "no Java runtime: `java` is not on PATH and JAVA_HOME is unset (Java 17 needed)"
    return None


def local_shuffle_partitions(master: str) -> int:
    """Shuffle partitions for a `local[N]` master: two per core (Spark's 200 only add overhead)."""
    inside = master.partition("[")[2].rstrip("]").split(",")[0]
    cores = os.cpu_count() or 2 if inside in ("", "*") else int(inside)
    return max(2, 2 * cores)


def spark_session(
    master: str, driver_memory: str = "2g", shuffle_partitions: int = 0
) -> SparkSession:
    """The Spark session for `master` (an existing one is reused), UI off, workers on this Python.

    `shuffle_partitions` 0 means: on `local[N]` masters two per core (the default 200 only add
    overhead on one machine), on clusters Spark's own setting (`spark-defaults.conf`).
    """
    reason = spark_unavailable_reason()
    if reason:
        raise SparkUnavailableError(reason)
    from pyspark.sql import SparkSession

    # Python workers must run the interpreter (and packages) the driver runs; Spark reads the
    # variable when it starts a worker, the `spark.pyspark.python` setting is not enough locally.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(APP_NAME)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.pyspark.python", sys.executable)
    )
    if shuffle_partitions == 0 and master.startswith("local"):
        shuffle_partitions = local_shuffle_partitions(master)
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass
class SparkTables:
    """A dataset's canonical tables as Spark temporary views, and feature SQL run over them."""

    session: SparkSession
    root: str

    @classmethod
    def open(cls, session: SparkSession, store: TableStore) -> SparkTables:
        """Views named as the tables over the Parquet files of `store` (local or remote root)."""
        tables = cls(session, str(store.root))
        for name in store.tables():
            session.read.parquet(str(store.path(name))).createOrReplaceTempView(name)
        return tables

    def present(self) -> set[str]:
        """Names of the views of this dataset's tables."""
        return {t.name for t in self.session.catalog.listTables() if t.isTemporary}

    def relations(self) -> TableRelations:
        """The source relations: each present view, an empty relation for absent tables."""
        present = self.present()
        return TableRelations(
            {n: (n if n in present else empty_relation(n)) for n in SOURCE_TABLES}
        )

    def sql(self, duckdb_sql: str) -> DataFrame:
        """A Spark DataFrame of DuckDB feature SQL, transpiled (lazy: nothing runs yet)."""
        return self.session.sql(spark_sql(duckdb_sql))

    @contextmanager
    def staged(
        self, query: FeatureQuery, cache: frozenset[str] | None = None
    ) -> Iterator[DataFrame]:
        """The result of `query` with each CTE that several steps read computed once.

        Spark inlines a CTE into every place that reads it and recomputes it there (the patent
        query read its target pairs six times). Here every such shared CTE is run once, cached
        and registered as a temporary view of its name; CTEs read in one place stay inline.
        `cache` names the CTEs to run first instead (none: plain Spark, one query).
        Materialize the yielded frame inside the block: the cached steps are released after it.
        """
        shared = shared_ctes(query) if cache is None else cache
        clash = shared & set(SOURCE_TABLES)
        if clash:
            raise ValueError(f"CTE names must differ from source table names, got {sorted(clash)}")
        inline: list[Cte] = []
        cached: list[tuple[str, DataFrame]] = []
        try:
            for cte in query.ctes:
                if cte.name not in shared:
                    inline.append(cte)
                    continue
                start = time.perf_counter()
                frame = self.sql(_with(inline, cte.body, query)).persist()
                rows = frame.count()
                log.debug("spark step cached", extra={
                    "step": cte.name, "rows": rows, "seconds": time.perf_counter() - start,
                })
                frame.createOrReplaceTempView(cte.name)
                cached.append((cte.name, frame))
            yield self.sql(_with(inline, query.select, query))
        finally:
            for name, frame in cached:
                self.session.catalog.dropTempView(name)
                frame.unpersist()


def _with(ctes: list[Cte], select: str, query: FeatureQuery) -> str:
    """`select` (a template of `query`) preceded by `ctes`, every placeholder filled."""
    if not ctes:
        return fill(select, query.values)
    return FeatureQuery(tuple(ctes), select, query.values).sql()


def _tables_read(template: str, values: dict[str, str]) -> set[str]:
    """Names of the tables and CTEs a SQL template reads."""
    tree = sqlglot.parse_one(fill(template, values), read="duckdb")
    return {t.name for t in tree.find_all(exp.Table)}


def shared_ctes(query: FeatureQuery) -> set[str]:
    """The CTEs of `query` that more than one later CTE or the final SELECT reads."""
    values = dict(query.values)
    reads = [_tables_read(c.body, values) for c in query.ctes]
    reads.append(_tables_read(query.select, values))
    return {
        c.name for i, c in enumerate(query.ctes)
        if sum(c.name in r for r in reads[i + 1:]) > 1
    }
