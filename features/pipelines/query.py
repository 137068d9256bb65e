"""How feature SQL is put together: named CTEs and `{placeholder}` templates filled in one pass.

Every SQL text in `features.pipelines` is a plain template whose varying parts are named
placeholders (`{citations}`, `{targets}`, `{code_type}`, ...), filled only by `fill`. A query is
a list of `Cte` steps and a final SELECT (`FeatureQuery`); `FeatureQuery.sql()` gives the one
standard SQL string DuckDB runs (and another engine may transpile), and `FeatureQuery.steps()`
gives each step on its own for profiling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

_CTE = "{name} AS ({body})"
_WITH = "WITH {ctes}\n{select}"
_CREATE_STEP = "CREATE OR REPLACE TEMP TABLE {name} AS {body}"


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{name}` placeholder replaced by `values[name]` (one pass).

    Raises `KeyError` naming a placeholder that has no value.
    """
    return template.format_map(values)


def date_literal(day: date) -> str:
    """A SQL DATE literal of `day`."""
    return fill("DATE '{iso}'", {"iso": day.isoformat()})


def string_literal(text: str) -> str:
    """A SQL string literal of `text`, single quotes doubled."""
    return fill("'{text}'", {"text": text.replace("'", "''")})


def category_code(column: str, categories: Sequence[str]) -> str:
    """SQL giving the 0-based code of `column` in `categories`, -1 when unknown or missing.

    `array_position` of an array literal, which DuckDB and Spark SQL both run (DuckDB answers
    NULL for a value not in the array, Spark 0: both become -1). A CASE with a branch per
    category gives the same codes but DuckDB copies the column into every branch: planning the
    patent query's five codes took ~6 ms more of its ~45 ms (a facts-only quote pays it each time).
    """
    labels = ", ".join(string_literal(c) for c in categories)
    return fill("CAST(coalesce(nullif(array_position([{labels}], {column}), 0), 0) - 1 AS DOUBLE)",
                {"labels": labels, "column": column})


@dataclass(frozen=True)
class Cte:
    """One named step of a query: `name AS (body)`; `body` is a template."""

    name: str
    body: str


@dataclass(frozen=True)
class FeatureQuery:
    """A query as its named steps, the final SELECT and the values of their placeholders."""

    ctes: tuple[Cte, ...]
    select: str
    values: Mapping[str, str] = field(default_factory=dict)

    def sql(self) -> str:
        """The query as one SQL string with every placeholder filled."""
        ctes = ",\n".join(
            fill(_CTE, {"name": c.name, "body": fill(c.body, self.values)}) for c in self.ctes
        )
        return fill(_WITH, {"ctes": ctes, "select": fill(self.select, self.values)})

    def steps(self) -> list[tuple[str, str]]:
        """(name, statement) per CTE materializing it as a temp table, then the final SELECT.

        Run in order on one connection they compute the same result one step at a time, which
        is how a slow step is found (`benchmarks/bench_features.py`).
        """
        out = [
            (c.name, fill(_CREATE_STEP, {"name": c.name, "body": fill(c.body, self.values)}))
            for c in self.ctes
        ]
        out.append(("select", fill(self.select, self.values)))
        return out


@dataclass(frozen=True)
class FeatureBlock:
    """Extra feature SQL joined onto an entity's feature rows (tests, experiments).

    `sql` selects the entity id column, `as_of` and feature columns from `{targets}` (the
    query's target pairs) and the source placeholders (`{citations}`, ...).
    """

    entity: str
    sql: str
    columns: tuple[str, ...]


_BLOCK_COLUMN = "CAST({alias}.{column} AS DOUBLE) AS {column}"
_BLOCK_JOIN = (
    "LEFT JOIN {alias} ON {alias}.{key} = f.{key} AND {alias}.as_of = f.as_of"
)
_FEATURE_SELECT = "SELECT f.{key}, f.as_of, {columns}\nFROM {rows} f{joins}"


def feature_select(
    rows: str,
    key: str,
    columns: Sequence[str],
    joins: Sequence[str] = (),
    blocks: Sequence[FeatureBlock] = (),
) -> tuple[tuple[Cte, ...], str]:
    """The block CTEs and the final SELECT of `columns` from CTE `rows`, keyed by `key`, as_of.

    Each block becomes a CTE `block_<i>` left-joined on the key and date; `joins` are further
    join clauses (aliases other than `f`).
    """
    ctes: list[Cte] = []
    cols = list(columns)
    clauses = list(joins)
    for i, blk in enumerate(blocks):
        alias = "block_" + str(i)
        ctes.append(Cte(alias, blk.sql))
        cols += [fill(_BLOCK_COLUMN, {"alias": alias, "column": c}) for c in blk.columns]
        clauses.append(fill(_BLOCK_JOIN, {"alias": alias, "key": key}))
    select = fill(_FEATURE_SELECT, {
        "key": key, "rows": rows, "columns": ", ".join(cols),
        "joins": "".join("\n" + c for c in clauses),
    })
    return tuple(ctes), select
