"""Apache Spark as a feature engine: the dataset's Parquet as views, feature SQL transpiled.

`pyspark` is the optional extra `patentrisk[spark]`; nothing here imports it at module import.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from features.engines.transpile import spark_sql
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


def spark_session(master: str, driver_memory: str = "2g") -> SparkSession:
    """The Spark session for `master` (an existing one is reused), UI off, workers on this Python.

    On `local[...]` masters the shuffle uses few partitions: the default 200 only add overhead
    on one machine. Cluster settings come from `spark-defaults.conf` or `spark-submit`.
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
    if master.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "4")
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
