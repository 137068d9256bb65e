"""The bulk populations on DuckDB: every patent in force and every firm with product classes."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from features.engines import firm_batch_sql, patent_batch_sql
from features.pipelines import patent_features
from features.pipelines.frames import PATENT_FEATURES
from features.pipelines.relations import TableRelations

T = date(2016, 12, 31)


def test_patents_in_force_on_the_hand_world(world_con: duckdb.DuckDBPyConnection) -> None:
    # P3 lapsed on 2015-01-01; P1, P2, P4, P5 are granted and in force at the end of 2016.
    out = world_con.execute(patent_batch_sql(TableRelations.from_connection(world_con), T)).df()
    assert sorted(out["patent_id"]) == ["P1", "P2", "P4", "P5"]
    assert list(out.columns) == ["patent_id", "as_of", *PATENT_FEATURES]


def test_batch_features_are_the_pipeline_features(world_con: duckdb.DuckDBPyConnection) -> None:
    out = world_con.execute(patent_batch_sql(TableRelations.from_connection(world_con), T)).df()
    one = patent_features(world_con, T, ["P1", "P2", "P4", "P5"])
    out = out.sort_values("patent_id").reset_index(drop=True)
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[ns]")
    pd.testing.assert_frame_equal(out, one, check_dtype=False, check_exact=True)

def test_firms_with_product_classes_founded_by_t(world_con: duckdb.DuckDBPyConnection) -> None:
    out = world_con.execute(firm_batch_sql(TableRelations.from_connection(world_con), T)).df()
    tech = world_con.execute("SELECT DISTINCT assignee_id FROM firm_technology").fetchall()
    assert sorted(out["assignee_id"]) == sorted(r[0] for r in tech)
    # A firm founded after T is not yet a firm to insure.
    later = world_con.execute(
        firm_batch_sql(TableRelations.from_connection(world_con), date(2001, 12, 31))
    ).df()
    assert set(later["assignee_id"]) <= {"A"}
