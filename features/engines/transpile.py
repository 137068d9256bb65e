"""DuckDB feature SQL to Spark SQL, through `sqlglot`, refusing what would change its meaning."""

from __future__ import annotations

import sqlglot
from sqlglot import exp


class UnportableSqlError(ValueError):
    """Feature SQL uses a DuckDB construct Spark SQL has no equivalent for."""

    def __init__(self, construct: str, snippet: str) -> None:
        self.construct = construct
        super().__init__(
            f"feature SQL is not portable to Spark: {construct} in {snippet[:160]!r}; write it "
            "in a form both DuckDB and Spark SQL accept (see features/engines/transpile.py)"
        )


def _refuse_unportable(tree: exp.Expr) -> None:
    """Raise `UnportableSqlError` for constructs sqlglot passes through unchanged to Spark."""
    for join in tree.find_all(exp.Join):
        if str(join.args.get("method") or "").upper() == "ASOF":
            raise UnportableSqlError("ASOF JOIN", join.sql(dialect="duckdb"))
    for star in tree.find_all(exp.Star):
        for arg in ("replace", "except", "rename"):
            if star.args.get(arg):
                raise UnportableSqlError(f"SELECT * {arg.upper()}", star.sql(dialect="duckdb"))


def _decimal_literals_as_double(node: exp.Expr) -> exp.Expr:
    """`1.0` as DOUBLE: DuckDB's arithmetic on such literals gives DOUBLE, Spark's keeps DECIMAL.

    Without this, Spark rounds `1000.0 * a / b` or `avg(CASE ... THEN 1.0 ...)` to the decimal
    scale of its rules, and the two engines disagree in the sixth decimal.
    """
    if (
        isinstance(node, exp.Literal)
        and not node.is_string
        and "." in node.this
        and "e" not in node.this.lower()
    ):
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    return node


def _duckdb_functions_for_spark(node: exp.Expr) -> exp.Expr:
    """DuckDB functions sqlglot passes through unchanged, as their Spark equivalents.

    `to_months(n)` (a month interval) becomes `make_ym_interval(0, n)`: a date plus it clips to
    the month's last day on both engines. `quantile_cont(x, q)` becomes `percentile(x, q)`, the
    same linear interpolation between the closest ranks.
    """
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_months":
        return exp.Anonymous(this="make_ym_interval",
                             expressions=[exp.Literal.number(0), *node.expressions])
    if isinstance(node, exp.PercentileCont) and node.args.get("expression") is not None:
        return exp.Anonymous(this="percentile",
                             expressions=[node.this.copy(), node.expression.copy()])
    return node


def spark_sql(duckdb_sql: str) -> str:
    """The Spark SQL text of a DuckDB query; `UnportableSqlError` naming what cannot move."""
    statements = sqlglot.parse(duckdb_sql, read="duckdb")
    if len(statements) != 1 or statements[0] is None:
        raise ValueError(f"expected one SQL statement, got {len(statements)}")
    tree = statements[0]
    _refuse_unportable(tree)
    tree = tree.transform(_decimal_literals_as_double).transform(_duckdb_functions_for_spark)
    return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
