"""DuckDB feature SQL to Spark SQL: every pipeline transpiles, unportable constructs are refused."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
import sqlglot

from features.engines import UnportableSqlError, firm_batch_sql, patent_batch_sql, spark_sql
from features.pipelines.firms import firm_features_sql
from features.pipelines.frames import FIRM_FEATURES, LOAN_FEATURES, PATENT_FEATURES
from features.pipelines.labels import litigation_labels_sql
from features.pipelines.loans import loan_features_sql
from features.pipelines.patents import patent_features_sql
from features.pipelines.relations import SOURCE_TABLES, TableRelations

T = date(2016, 12, 31)
RELATIONS = TableRelations({n: n for n in SOURCE_TABLES})


def _pipeline_sql() -> dict[str, str]:
    """Every feature query of the pipelines, with and without the point-in-time cut."""
    out = {}
    for label, rel in (("full", RELATIONS), ("cut", RELATIONS.cut(T))):
        out[f"patent-{label}"] = patent_features_sql(rel, "targets", PATENT_FEATURES)
        out[f"firm-{label}"] = firm_features_sql(rel, "targets", FIRM_FEATURES)
        out[f"loan-{label}"] = loan_features_sql(rel, "loans_in", "pledges_in", LOAN_FEATURES)
        out[f"litigation-labels-{label}"] = litigation_labels_sql(rel, [T], "NULL")
        out[f"patent-batch-{label}"] = patent_batch_sql(rel, T)
        out[f"firm-batch-{label}"] = firm_batch_sql(rel, T)
    return out


@pytest.mark.parametrize(("name", "sql"), sorted(_pipeline_sql().items()))
def test_every_pipeline_query_transpiles_to_spark_sql(name: str, sql: str) -> None:
    spark = spark_sql(sql)
    tree = sqlglot.parse_one(spark, read="spark")
    assert tree.find(sqlglot.exp.Select) is not None
    assert "ASOF" not in spark.upper()
    assert "LIST_POSITION" not in spark.upper()


def test_asof_join_is_refused_with_the_construct_named() -> None:
    sql = "SELECT * FROM a ASOF LEFT JOIN b ON a.k = b.k AND a.t >= b.t"
    with pytest.raises(UnportableSqlError, match="ASOF JOIN"):
        spark_sql(sql)


def test_star_replace_is_refused() -> None:
    with pytest.raises(UnportableSqlError, match="SELECT \\* REPLACE"):
        spark_sql("SELECT * REPLACE (NULL AS outcome) FROM cases")


def test_decimal_literals_become_doubles_as_duckdb_computes_them() -> None:
    # DuckDB gives DOUBLE for 1000.0 * a / b; Spark would keep DECIMAL and round.
    assert duckdb.execute("SELECT typeof(1000.0 * 7 / 33)").fetchone()[0] == "DOUBLE"
    out = spark_sql("SELECT 1000.0 * a / b, 3, 1e0 FROM t")
    assert "CAST(1000.0 AS DOUBLE)" in out
    assert "CAST(3 AS DOUBLE)" not in out
    assert "1e0" in out.lower()


def test_duckdb_power_operator_becomes_spark_power() -> None:
    # In Spark SQL `^` is a bitwise XOR: it must not survive.
    assert "POWER(n, 2)" in spark_sql("SELECT n ^ 2 FROM t")


def test_more_than_one_statement_is_refused() -> None:
    with pytest.raises(ValueError, match="one SQL statement"):
        spark_sql("SELECT 1; SELECT 2")
