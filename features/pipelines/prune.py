"""Specialise a feature query for relations known to be empty, from its own SQL.

A request's facts are scored over a context database where every dataset table but the firms is
an empty relation (`empty_relation`: `SELECT ... WHERE false`). Many steps of the feature query
then provably return no rows (forward citations, events, suits), yet DuckDB binds, plans and
runs each of them per request. `prune_empty` rewrites the query's own SQL (sqlglot), never a
second definition of a feature: a step that can only be empty becomes a typed empty relation,
a LEFT JOIN of one is dropped (its columns read as typed NULLs, which is what the join gave),
an empty UNION branch is left out, and steps nobody reads any more are removed. The rows are
the same; tests compare them with the full query.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp

DIALECT = "duckdb"

# Column (name, DuckDB type) of a step, from the database the query runs on.
StepColumns = Callable[[str], list[tuple[str, str]]]


def _is_false(where: exp.Where | None) -> bool:
    """Whether a WHERE clause is the literal `false`."""
    return where is not None and isinstance(where.this, exp.Boolean) and not where.this.this


def _aggregates_without_groups(select: exp.Select) -> bool:
    """Whether `select` may answer a row over no rows: aggregates without GROUP BY, or a total.

    ROLLUP, CUBE and GROUPING SETS add a grand total row even over no rows.
    """
    group = select.args.get("group")
    if group is not None:
        return (any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets"))
                or group.find(exp.Rollup, exp.Cube, exp.GroupingSets) is not None)
    for e in select.expressions:
        for agg in e.find_all(exp.AggFunc):
            if agg.find_ancestor(exp.Window) is None:
                return True
    return False


def _source_empty(source: exp.Expr, empty: set[str]) -> bool:
    """Whether a FROM or JOIN source has no rows: an empty step, or an empty subquery."""
    if isinstance(source, exp.Table) and not source.args.get("db"):
        return source.name in empty
    if isinstance(source, exp.Subquery):
        return query_empty(source.this, empty)
    return False


def query_empty(query: exp.Expr, empty: set[str]) -> bool:
    """Whether `query` provably returns no rows when the steps named in `empty` have none."""
    if isinstance(query, exp.Subquery):
        return query_empty(query.this, empty)
    if isinstance(query, exp.Union):
        return query_empty(query.left, empty) and query_empty(query.right, empty)
    if not isinstance(query, exp.Select):
        return False
    if _is_false(query.args.get("where")):
        return True
    if _aggregates_without_groups(query):
        return False
    from_ = query.args.get("from_") or query.args.get("from")
    if from_ is None:
        return False
    joins = query.args.get("joins") or []
    if any(join.side in ("RIGHT", "FULL") for join in joins):
        return False  # rows of the right side survive an empty left one
    if _source_empty(from_.this, empty):
        return True
    for join in joins:
        inner = join.side in ("", None) and join.kind in ("", None, "INNER", "CROSS")
        if inner and _source_empty(join.this, empty):
            return True
    return False


def _typed_null(column_type: str) -> exp.Expr:
    """`CAST(NULL AS type)`."""
    return exp.Cast(this=exp.Null(), to=exp.DataType.build(column_type, dialect=DIALECT))


def _empty_select(columns: list[tuple[str, str]]) -> exp.Select:
    """`SELECT CAST(NULL AS t) AS c, ... WHERE false`."""
    return exp.select(*(exp.alias_(_typed_null(t), c, quoted=True) for c, t in columns)).where(
        exp.false())


def _drop_empty_left_joins(
    select: exp.Select, empty: set[str], columns: Mapping[str, list[tuple[str, str]]]
) -> None:
    """Drop `select`'s LEFT JOINs of empty steps; their columns become typed NULLs."""
    joins = select.args.get("joins") or []
    keep = []
    for join in joins:
        source = join.this
        name = source.name if isinstance(source, exp.Table) and not source.args.get("db") else None
        if join.side != "LEFT" or name not in empty or join.args.get("using"):
            keep.append(join)
            continue
        alias = source.alias_or_name
        types = dict(columns[name])
        refs = [c for c in select.find_all(exp.Column)
                if c.find_ancestor(exp.Select) is select and c.table == alias]
        unqualified = any(
            c.find_ancestor(exp.Select) is select and not c.table and c.name in types
            for c in select.find_all(exp.Column))
        stars = any(isinstance(c.this, exp.Star) and c.table == alias for c in refs)
        if unqualified or stars or any(c.name not in types for c in refs):
            keep.append(join)
            continue
        for ref in refs:
            ref.replace(_typed_null(types[ref.name]))
    if len(keep) != len(joins):
        select.set("joins", keep)


def _drop_empty_branches(union: exp.Union, empty: set[str]) -> exp.Expr:
    """A UNION ALL without its empty branch, if one is and the other names the same columns."""
    if union.args.get("distinct"):
        return union
    left, right = union.left, union.right
    if query_empty(right, empty) and not query_empty(left, empty):
        return left
    if (query_empty(left, empty) and not query_empty(right, empty)
            and isinstance(left, exp.Select) and isinstance(right, exp.Select)
            and left.named_selects == right.named_selects):
        return right  # the first branch names the columns: only when both name them alike
    return union


def _drop_empty_unions(body: exp.Expr, empty: set[str]) -> exp.Expr:
    """`body` with every empty UNION ALL branch left out (innermost first)."""
    return body.transform(
        lambda node: _drop_empty_branches(node, empty) if isinstance(node, exp.Union) else node)


def _referenced(tree: exp.Expr) -> set[str]:
    """Names of the tables `tree` reads (steps among them)."""
    return {t.name for t in tree.find_all(exp.Table) if not t.args.get("db")}


def prune_empty(sql: str, step_columns: StepColumns) -> str:
    """`sql` (a WITH query) specialised for its empty relations: the same rows, fewer steps.

    `step_columns(name)` gives the columns and types of step `name` (asked only of the steps
    found empty).
    """
    tree = sqlglot.parse_one(sql, read=DIALECT)
    with_ = tree.args.get("with_") or tree.args.get("with")
    if not isinstance(tree, exp.Select) or with_ is None:
        return sql
    ctes: list[exp.CTE] = list(with_.expressions)
    empty: set[str] = set()
    columns: dict[str, list[tuple[str, str]]] = {}
    for cte in ctes:
        body = cte.this
        if query_empty(body, empty):
            empty.add(cte.alias)
            columns[cte.alias] = step_columns(cte.alias)
            cte.set("this", _empty_select(columns[cte.alias]))
            continue
        for select in list(body.find_all(exp.Select)):
            _drop_empty_left_joins(select, empty, columns)
        cte.set("this", _drop_empty_unions(body, empty))
    _drop_empty_left_joins(tree, empty, columns)
    # Steps no other step or the final SELECT reads any more (in reverse: a dropped step may
    # have been the last reader of an earlier one).
    final = tree.copy()
    for key in ("with_", "with"):
        if key in final.args:
            final.set(key, None)
    needed = _referenced(final)
    kept: list[exp.CTE] = []
    for cte in reversed(ctes):
        if cte.alias in needed:
            kept.append(cte)
            needed |= _referenced(cte.this)
    with_.set("expressions", list(reversed(kept)))
    return tree.sql(dialect=DIALECT)
