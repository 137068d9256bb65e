"""A feature query run with its shared CTEs cached gives what the one-query run gives."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from features.engines import firm_batch_query, patent_batch_query
from features.engines.spark_engine import SparkTables, shared_ctes
from features.pipelines.relations import SOURCE_TABLES, TableRelations
from tests.features.pipelines.conftest import hand_tables, write_world

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = date(2016, 12, 31)


def test_shared_ctes_are_those_read_twice() -> None:
    rel = TableRelations({n: n for n in SOURCE_TABLES})
    shared = shared_ctes(patent_batch_query(rel, AS_OF))
    assert {"tg", "pat", "base", "owner"} <= shared
    assert "fwd_cls" not in shared  # read by `fwd` alone


@pytest.mark.parametrize("query_of", [patent_batch_query, firm_batch_query])
def test_staged_query_equals_one_query(spark: Any, tmp_path: Any, query_of: Any) -> None:
    tables = SparkTables.open(spark, write_world(tmp_path / "hand", hand_tables()))
    query = query_of(tables.relations(), AS_OF)
    whole = tables.sql(query.sql()).toPandas()
    with tables.staged(query) as staged:
        parts = staged.toPandas()
    assert len(whole) > 0
    key = list(whole.columns[:1])
    pd.testing.assert_frame_equal(
        parts.sort_values(key).reset_index(drop=True),
        whole.sort_values(key).reset_index(drop=True),
        check_exact=True,
    )
    assert not {"tg", "ft", "pat"} & {t.name for t in spark.catalog.listTables()}
