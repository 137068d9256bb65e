"""Engines that run the one feature SQL: DuckDB embedded, Apache Spark for scale-out.

The pipelines in `features.pipelines` write DuckDB SQL; `transpile.spark_sql` turns it into
Spark SQL with `sqlglot`, so both engines run the same definitions.
"""

from __future__ import annotations

from features.engines.populations import (
    firm_batch_query,
    firm_batch_sql,
    patent_batch_query,
    patent_batch_sql,
)
from features.engines.transpile import UnportableSqlError, spark_sql

__all__ = [
    "UnportableSqlError", "firm_batch_query", "firm_batch_sql", "patent_batch_query",
    "patent_batch_sql", "spark_sql",
]
