"""Pruning a feature query for its empty relations keeps its rows and drops the empty steps."""

from __future__ import annotations

import duckdb
import pytest

from features.pipelines.prune import StepColumns, prune_empty

EMPTY = "(SELECT CAST(NULL AS VARCHAR) AS k, CAST(NULL AS BIGINT) AS v WHERE false)"

QUERY = f"""
WITH base AS (SELECT * FROM (VALUES ('a', 1), ('b', 2), ('a', 3)) t(k, v)),
ev AS (SELECT b.k, count(*) AS n, sum(e.v) AS s FROM base b JOIN {EMPTY} e ON e.k = b.k
       GROUP BY ALL),
total AS (SELECT count(*) AS n FROM {EMPTY}),
both_ AS (SELECT k, v FROM base UNION ALL SELECT k, v FROM {EMPTY}),
first_empty AS (SELECT k, v FROM {EMPTY} UNION ALL SELECT k, v FROM base),
unused AS (SELECT k FROM ev)
SELECT b.k, b.v, coalesce(ev.n, 0) AS n, ev.s, t.n AS total,
       (SELECT count(*) FROM both_) AS n_both, (SELECT sum(v) FROM first_empty) AS s_first
FROM base b LEFT JOIN ev ON ev.k = b.k CROSS JOIN total t
ORDER BY 1, 2
"""


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory database."""
    return duckdb.connect()


def _columns(con: duckdb.DuckDBPyConnection, sql: str) -> StepColumns:
    def step(name: str) -> list[tuple[str, str]]:
        head = sql.split("\nSELECT b.k")[0]
        rows = con.execute(f"DESCRIBE {head} SELECT * FROM {name}").fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]
    return step


def test_pruned_query_gives_the_same_rows(con: duckdb.DuckDBPyConnection) -> None:
    asked: list[str] = []

    def columns(name: str) -> list[tuple[str, str]]:
        asked.append(name)
        return _columns(con, QUERY)(name)

    pruned = prune_empty(QUERY, columns)
    assert con.execute(pruned).fetchall() == con.execute(QUERY).fetchall()
    # `ev` joins an empty relation, `unused` reads `ev`: both gone, with the LEFT JOIN of `ev`.
    assert asked == ["ev", "unused"]
    assert " ev " not in pruned.replace("(", " ").replace(",", " ")
    assert "unused" not in pruned
    # An aggregate without GROUP BY answers one row over no rows: kept.
    assert "total AS" in pruned
    # Empty UNION ALL branches are left out (also a first one naming the same columns).
    assert pruned.count("WHERE FALSE") == 1  # only inside `total`


def test_query_without_steps_is_unchanged(con: duckdb.DuckDBPyConnection) -> None:
    sql = "SELECT 1 AS x"
    assert prune_empty(sql, _columns(con, sql)) == sql


def test_outer_joins_and_totals_of_empty_steps_are_kept(con: duckdb.DuckDBPyConnection) -> None:
    # A RIGHT or FULL join keeps the other side's rows, a ROLLUP its grand total: not empty.
    sql = f"""
WITH base AS (SELECT * FROM (VALUES ('a', 1)) t(k, v)),
r AS (SELECT b.k, e.v FROM {EMPTY} e RIGHT JOIN base b ON b.k = e.k),
f AS (SELECT b.k, e.v FROM {EMPTY} e FULL JOIN base b ON b.k = e.k),
g AS (SELECT k, count(*) AS n FROM {EMPTY} GROUP BY ROLLUP (k))
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM f), (SELECT count(*) FROM g)
"""
    asked: list[str] = []

    def columns(name: str) -> list[tuple[str, str]]:
        asked.append(name)
        return []

    pruned = prune_empty(sql, columns)
    assert asked == []
    assert con.execute(pruned).fetchall() == con.execute(sql).fetchall() == [(1, 1, 1)]
