"""Training snapshots of every task on Spark equal those of `build_snapshots` on DuckDB."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from features.engines.spark_engine import SparkTables
from features.engines.spark_snapshots import YEARLY_TASKS, spark_snapshots
from features.pipelines import build_snapshots
from features.registry import TASKS
from features.store import TableStore
from tests.features.pipelines.conftest import hand_tables, write_world

pytestmark = [pytest.mark.spark, pytest.mark.slow]

DATES = [date(2014, 12, 31), date(2015, 12, 31)]


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory: pytest.TempPathFactory) -> TableStore:
    return write_world(tmp_path_factory.mktemp("hand") / "hand", hand_tables())


@pytest.fixture(scope="module")
def spark_tables(hand_store: TableStore, spark: Any) -> SparkTables:
    return SparkTables.open(spark, hand_store)


@pytest.mark.parametrize("task", TASKS)
def test_spark_snapshots_equal_duckdb_snapshots(
    hand_store: TableStore, spark_tables: Any, task: str
) -> None:
    dates = DATES if task in YEARLY_TASKS else None
    duck = build_snapshots(hand_store.connect(), task, dates)
    spark = spark_snapshots(spark_tables, task, dates)
    assert len(duck) > 0
    # Patent features are bit-identical; the firms' log10 features come from the C library in
    # DuckDB and from java.lang.Math in Spark and may differ in the last bit.
    pd.testing.assert_frame_equal(spark, duck, check_exact=task == "litigation", rtol=1e-15,
                                  atol=0)


def test_spark_snapshots_keep_the_label_window(spark_tables: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="label window"):
        spark_snapshots(spark_tables, "litigation", [date(2017, 6, 30)])
