"""Spark and DuckDB give the same features, scores, SHAP and grades for every entity."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.engines import patent_batch_sql
from features.engines.spark_engine import SparkTables
from features.pipelines.leakage import LeakageError
from features.pipelines.query import fill
from features.settings import Settings
from features.store import TableStore
from serving.bulk.job import check_point_in_time, run_bulk
from serving.bulk.records import ENTITIES, read_records
from tests.conftest import TEST_SPARK_MASTER
from tests.features.pipelines.conftest import hand_tables, write_world
from tests.serving.bulk.records_compare import MAX_ULPS, assert_same_records

pytestmark = [pytest.mark.spark, pytest.mark.slow]

HAND_AS_OF = date(2016, 12, 31)


def _end_date(settings: Settings) -> date:
    return date.fromisoformat(str(TableStore(settings.dataset_dir).meta()["end_date"]))


def _both(settings: Settings, as_of: date, out: Path, check_leakage: bool) -> None:
    """Run the bulk job on both engines and compare every entity's records."""
    duck = run_bulk(settings, "duckdb", as_of, out / "duckdb", check_leakage=check_leakage)
    spark = run_bulk(settings, "spark", as_of, out / "spark", check_leakage=check_leakage)
    assert duck.rows == spark.rows
    assert duck.model_versions == spark.model_versions
    for entity, plan in ENTITIES.items():
        left = read_records(out / "duckdb", entity, as_of)
        right = read_records(out / "spark", entity, as_of)
        assert_same_records(left, right, plan.key, MAX_ULPS[entity])


def test_generated_world_same_on_spark_and_duckdb(
    trained_settings: Settings, spark: Any, tmp_path: Path
) -> None:
    settings = trained_settings.model_copy(update={"spark_master": TEST_SPARK_MASTER})
    _both(settings, _end_date(settings), tmp_path, check_leakage=False)


@pytest.fixture(scope="module")
def hand_settings(trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The hand-built feature-test world, scored by the generated world's champions."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hand") / "var", dataset="hand",
        mlflow_tracking_uri=trained_settings.resolved_tracking_uri,
        spark_master=TEST_SPARK_MASTER,
    )
    write_world(settings.dataset_dir, hand_tables())
    return settings


def test_hand_world_same_on_spark_and_duckdb_with_the_leakage_guard(
    hand_settings: Settings, spark: Any, tmp_path: Path
) -> None:
    _both(hand_settings, HAND_AS_OF, tmp_path, check_leakage=True)
    patents = read_records(tmp_path / "spark", "patent", HAND_AS_OF)
    assert patents["patent_id"].tolist() == ["P1", "P2", "P4", "P5"]  # P3 lapsed in 2015
    assert patents["forward_citations"].tolist() == [4.0, 1.0, 0.0, 0.0]


def test_leakage_guard_catches_a_future_fact_on_spark(hand_settings: Settings, spark: Any) -> None:
    tables = SparkTables.open(spark, TableStore(hand_settings.dataset_dir))
    plan = ENTITIES["patent"]

    def leaky(relations: Any, as_of: date) -> str:
        # Forward citations counted over all time: P4 cites P1 ... and later ones would leak.
        return fill(
            "SELECT f.patent_id, f.as_of, {columns} FROM ({batch}) f",
            {"batch": patent_batch_sql(relations, as_of), "columns": ", ".join(
                f"(SELECT CAST(count(*) AS DOUBLE) FROM {relations.relations['citations']} c "
                f"WHERE c.cited_patent_id = f.patent_id) AS {n}" if n == "forward_citations"
                else f"f.{n}" for n in plan.features
            )},
        )

    as_of = date(2013, 12, 31)  # P1's citations from 2014 and 2016 lie in the future
    sql = leaky(tables.relations(), as_of)
    feats = tables.sql(sql).toPandas()
    feats["as_of"] = pd.to_datetime(feats["as_of"])
    with pytest.raises(LeakageError, match="forward_citations"):
        check_point_in_time(plan, feats, tables.relations(), as_of,
                            lambda s: tables.sql(s).toPandas(), leaky)
