"""Feature SQL is built one way, and its step-by-step form computes the same rows."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import features.pipelines
from features.pipelines.firms import firm_features_sql
from features.pipelines.frames import FIRM_FEATURES, LOAN_FEATURES, PATENT_FEATURES
from features.pipelines.labels import litigation_labels_sql
from features.pipelines.loans import loan_features_sql
from features.pipelines.patents import patent_features_query, patent_features_sql
from features.pipelines.query import FeatureBlock, category_code, fill
from features.pipelines.relations import SOURCE_TABLES, TableRelations
from features.registry import CPC_CLASSES, PATENT_TYPES

PIPELINES = Path(features.pipelines.__file__).parent
SQL_WORDS = re.compile(r"\b(SELECT|FROM|JOIN|WHERE|CAST|UNION|DATE ')")
T = date(2015, 12, 31)


def _sql_fstrings(tree: ast.AST) -> list[int]:
    """Lines of f-strings whose literal text looks like SQL."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if SQL_WORDS.search(text):
                lines.append(node.lineno)
    return lines


def _format_calls(tree: ast.AST) -> list[int]:
    """Lines calling `.format(...)`, `.format_map(...)` or `.replace("{...}", ...)`."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            first = node.args[0] if node.args else None
            braced = isinstance(first, ast.Constant) and "{" in str(first.value)
            if name in ("format", "format_map") or (name == "replace" and braced):
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", sorted(PIPELINES.glob("*.py")), ids=lambda p: p.name)
def test_pipeline_sql_is_filled_only_through_query_fill(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert _sql_fstrings(tree) == [], f"{path.name}: SQL built with an f-string"
    calls = _format_calls(tree)
    if path.name == "query.py":  # the one place placeholders are filled
        assert len(calls) == 1
    else:
        assert calls == [], f"{path.name}: placeholders filled outside query.fill"


def test_fill_names_a_placeholder_without_value() -> None:
    with pytest.raises(KeyError, match="citations"):
        fill("SELECT * FROM {citations}", {"patents": "patents"})


def test_every_pipeline_gives_one_sql_string_with_nothing_left_to_fill() -> None:
    rel = TableRelations({n: n for n in SOURCE_TABLES}).cut(T)
    block = FeatureBlock("patent", "SELECT patent_id, as_of, 1 AS one FROM {targets}", ("one",))
    texts = [
        patent_features_sql(rel, "targets_rel", PATENT_FEATURES, "overrides_rel", [block]),
        firm_features_sql(rel, "targets_rel", FIRM_FEATURES),
        loan_features_sql(rel, "loans_rel", "pledges_rel", LOAN_FEATURES),
        litigation_labels_sql(rel, [T], "NULL"),
    ]
    for text in texts:
        assert text.startswith("WITH ")
        assert "{" not in text
        assert "}" not in text
    assert "patent_feature_rows" in texts[0]
    assert "patent_frame" not in texts[0]


def test_steps_one_at_a_time_give_the_rows_of_the_one_query(
    world_con: duckdb.DuckDBPyConnection,
) -> None:
    con = world_con.cursor()
    rel = TableRelations.from_connection(con)
    con.execute("CREATE TEMP TABLE step_targets AS SELECT patent_id, DATE '2015-12-31' AS as_of "
                "FROM patents")
    query = patent_features_query(rel, "step_targets", PATENT_FEATURES)
    whole = con.execute(query.sql() + " ORDER BY 1, 2").df()
    steps = query.steps()
    assert [name for name, _ in steps][-2:] == ["patent_feature_rows", "select"]
    for _, statement in steps[:-1]:
        con.execute(statement)
    stepwise = con.execute(steps[-1][1] + " ORDER BY 1, 2").df()
    assert len(whole) == 5
    pd.testing.assert_frame_equal(whole, stepwise)


@pytest.mark.parametrize("categories", [PATENT_TYPES, CPC_CLASSES])
def test_category_code_is_the_index_or_minus_one(categories: tuple[str, ...]) -> None:
    values = [*categories, "unknown", "", "o'x", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE v (i INTEGER, x VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?, ?)", list(enumerate(values)))
    codes = con.execute(fill("SELECT {code} FROM v ORDER BY i",
                             {"code": category_code("x", categories)})).fetchall()
    assert [c for (c,) in codes] == [float(i) for i in range(len(categories))] + [-1.0] * 4
