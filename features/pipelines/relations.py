"""The relations feature SQL reads for each canonical table, and their point-in-time cut at a date.

Feature SQL names its inputs `{patents}`, `{citations}`, ... and `TableRelations` gives their
values: the canonical views for training and serving, views unioned with request facts for
facts-only entities, or every dated row after T removed for the leakage check.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pyarrow as pa

from features.pipelines.context import CONTEXT_RELATIONS, empty_context
from features.pipelines.query import date_literal, fill
from features.schema import table

SOURCE_TABLES = (
    "patents",
    "assignees",
    "firm_financials",
    "firm_technology",
    "citations",
    "legal_events",
    "cases",
    "loans",
    "loan_patents",
    "transactions",
)
_DUCK_TYPES = {"string": "VARCHAR", "date": "DATE", "int": "BIGINT", "float": "DOUBLE",
               "bool": "BOOLEAN"}

_NULL_COLUMN = "CAST(NULL AS {type}) AS {name}"
_EMPTY = "(SELECT {columns} WHERE false)"
_HIDDEN_AFTER = "CASE WHEN {late} THEN {hidden} ELSE {column} END AS {column}"

# What was known on date `{t}` of each dated table `{rel}`; tables without dates are kept whole.
_CUTS = {
    "patents": "(SELECT * FROM {rel} WHERE filing_date <= {t})",
    "citations": "(SELECT * FROM {rel} WHERE citation_date <= {t})",
    "legal_events": "(SELECT * FROM {rel} WHERE event_date <= {t})",
    # A case filed by T is known; its outcome and amounts only once it closed.
    "cases": "(SELECT {columns} FROM {rel} WHERE filed_date <= {t})",
    # Financials of fiscal year Y are known from 1 April of Y + 1.
    "firm_financials": (
        "(SELECT * FROM {rel} WHERE make_date(CAST(year AS INTEGER) + 1, 4, 1) <= {t})"
    ),
    # A loan drawn by T is known; a default after T is not.
    "loans": "(SELECT {columns} FROM {rel} WHERE start_date <= {t})",
    "transactions": "(SELECT * FROM {rel} WHERE date <= {t})",
}
# Columns a cut hides (and the value they show instead) while `late` holds. The cut lists every
# column (no `SELECT * REPLACE`) so that Spark SQL runs it too (features/engines).
_HIDDEN = {
    "cases": ("closed_date > {t}", (
        ("outcome", "NULL"), ("closed_date", "NULL"), ("damages", "NULL"),
        ("plaintiff_legal_cost", "NULL"), ("defendant_legal_cost", "NULL"),
    )),
    "loans": ("default_date > {t}", (
        ("outcome", "'open'"), ("default_date", "NULL"), ("recovery", "NULL"),
    )),
}


def empty_relation(name: str) -> str:
    """SQL for an empty relation with the canonical columns of table `name`."""
    cols = ", ".join(
        fill(_NULL_COLUMN, {"type": _DUCK_TYPES[c.kind], "name": c.name})
        for c in table(name).columns
    )
    return fill(_EMPTY, {"columns": cols})


def _cut_sql(name: str, rel: str, t: str) -> str:
    """SQL keeping only what was known on date literal `t` of relation `rel` of table `name`."""
    if name not in _CUTS:
        return rel  # assignees, firm_technology, loan_patents carry no dates
    columns = "*"
    if name in _HIDDEN:
        late, hidden = _HIDDEN[name]
        shown = dict(hidden)
        columns = ", ".join(
            fill(_HIDDEN_AFTER, {"late": fill(late, {"t": t}), "hidden": shown[c], "column": c})
            if c in shown else c
            for c in table(name).column_names
        )
    return fill(_CUTS[name], {"rel": rel, "t": t, "columns": columns})


@dataclass(frozen=True)
class TableRelations:
    """The SQL relation standing for each canonical table (its view, a cut or a union)."""

    relations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Without a materialized context the query computes every count from the tables.
        defaults = {n: empty_context(n) for n in CONTEXT_RELATIONS}
        object.__setattr__(self, "relations", {**defaults, **self.relations})

    @classmethod
    def from_connection(cls, con: duckdb.DuckDBPyConnection) -> TableRelations:
        """The canonical views of `con`, with empty relations for absent optional tables."""
        present = {
            r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables"
            ).fetchall()
        }
        return cls({n: (n if n in present else empty_relation(n)) for n in SOURCE_TABLES})

    def cut(self, as_of: date) -> TableRelations:
        """These relations with every fact dated after `as_of` removed (or its outcome hidden)."""
        t = date_literal(as_of)
        return TableRelations({n: _cut_sql(n, r, t) for n, r in self.relations.items()})

    def replace(self, **relations: str) -> TableRelations:
        """These relations with some replaced."""
        return TableRelations({**self.relations, **relations})

    def render(self, sql: str, **extra: str) -> str:
        """Template `sql` with the `{table}` placeholders (and `extra` ones) filled in."""
        return fill(sql, {**self.relations, **extra})


def register_arrow(con: duckdb.DuckDBPyConnection, data: pa.Table, prefix: str) -> str:
    """Register an Arrow table on `con` under a fresh name and return the name."""
    name = "_" + prefix + "_" + uuid.uuid4().hex[:12]
    con.register(name, data)
    return name


_UNION_FACTS = (
    "(SELECT {columns} FROM {base} WHERE {key} NOT IN (SELECT {key} FROM {keys}) "
    "UNION ALL SELECT {columns} FROM {facts})"
)


def union_facts(
    base: str, facts: str, key: str, columns: list[str], keys_from: str | None = None
) -> str:
    """SQL relation: `base` rows whose `key` is not in `keys_from` (or `facts`), plus `facts`."""
    return fill(_UNION_FACTS, {"columns": ", ".join(columns), "base": base, "key": key,
                               "facts": facts, "keys": keys_from or facts})
