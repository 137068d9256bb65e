"""Undated columns: every feature that moves when they are rewritten is flagged static."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from features.pipelines import (
    build_snapshots,
    firm_features,
    loan_features_for_ids,
    patent_features,
)
from features.pipelines.leakage import unguarded_features
from features.registry import get, static_features
from tests.features.pipelines.conftest import hand_tables

DATES = [date(2015, 12, 31), date(2016, 12, 31)]


def _all_features(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    return {
        "patent": patent_features(con, DATES).set_index(["patent_id", "as_of"]),
        "firm": firm_features(con, DATES).set_index(["assignee_id", "as_of"]),
        "loan": loan_features_for_ids(con).set_index(["loan_id", "as_of"]),
    }


def _rewritten(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The undated columns as a later snapshot of the sources might hold them."""
    out = {k: v.copy() for k, v in tables.items()}
    p = out["patents"]
    p["cpc_main"] = ["G06F", "H04L", "A61K", "H04W", "H04L"]  # reclassified
    p["family_size"] = p["family_size"] + 4  # members filed later
    a = out["assignees"]
    a["kind"] = ["npe", "sme", "npe"]  # who is an NPE today
    a["industry"] = ["software", "telecom", "biotech"]
    t = out["firm_technology"]
    t["cpc_class"] = list(reversed(t["cpc_class"].tolist()))
    t["weight"] = t["weight"] * np.linspace(0.5, 2.0, len(t))
    return out


def test_every_feature_reading_an_undated_column_is_flagged_static(
    make_world: Callable[[dict[str, pd.DataFrame]], duckdb.DuckDBPyConnection],
) -> None:
    tables = hand_tables()
    before = _all_features(make_world(tables))
    after = _all_features(make_world(_rewritten(tables)))
    moved = set()
    for entity, frame in before.items():
        other = after[entity].loc[frame.index]
        for col in frame.columns:
            a = frame[col].to_numpy(dtype="float64")
            b = other[col].to_numpy(dtype="float64")
            if not np.allclose(a, b, equal_nan=True):
                moved.add(col)
    unflagged = sorted(n for n in moved if not get(n).is_static)
    assert not unflagged, f"features moved by undated columns but not flagged static: {unflagged}"
    # the rewrite reaches every kind of undated column, so the check has teeth
    assert {"cpc_class", "family_size", "owner_kind", "firm_kind", "firm_industry",
            "firm_tech_concentration"} <= moved


def test_static_features_are_listed_per_task_and_by_the_leakage_guard(
    world_con: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture,
) -> None:
    assert static_features("default") == ["borrower_kind", "pledged_class_suit_rate_mean"]
    assert "family_size" in static_features("value")
    assert unguarded_features(["num_claims", "cpc_class", "firm_kind"]) == ["cpc_class",
                                                                          "firm_kind"]
    with caplog.at_level(logging.WARNING, logger="features.pipelines.leakage"):
        build_snapshots(world_con, "litigation", [date(2015, 12, 31)])
    (record,) = [r for r in caplog.records if "static features" in r.getMessage()]
    assert record.static_features == static_features("litigation")  # type: ignore[attr-defined]
