"""The source relations feature SQL reads, and their point-in-time cut at a date.

Feature SQL names its inputs `{patents}`, `{citations}`, ... and `Sources` fills them in: with the
canonical views for training and serving, with views unioned with request facts for facts-only
entities, or with every dated row after T removed for the leakage check.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pyarrow as pa

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


def empty_relation(name: str) -> str:
    """SQL for an empty relation with the canonical columns of table `name`."""
    cols = ", ".join(
        f"CAST(NULL AS {_DUCK_TYPES[c.kind]}) AS {c.name}" for c in table(name).columns
    )
    return f"(SELECT {cols} WHERE false)"


def _cut_sql(name: str, rel: str, t: str) -> str:
    """SQL keeping only what was known on date literal `t` of relation `rel` of table `name`."""
    if name == "patents":
        return f"(SELECT * FROM {rel} WHERE filing_date <= {t})"
    if name == "citations":
        return f"(SELECT * FROM {rel} WHERE citation_date <= {t})"
    if name == "legal_events":
        return f"(SELECT * FROM {rel} WHERE event_date <= {t})"
    if name == "cases":
        late = f"closed_date > {t}"
        return (
            f"(SELECT * REPLACE ("
            f"CASE WHEN {late} THEN NULL ELSE outcome END AS outcome, "
            f"CASE WHEN {late} THEN NULL ELSE closed_date END AS closed_date, "
            f"CASE WHEN {late} THEN NULL ELSE damages END AS damages, "
            f"CASE WHEN {late} THEN NULL ELSE plaintiff_legal_cost END AS plaintiff_legal_cost, "
            f"CASE WHEN {late} THEN NULL ELSE defendant_legal_cost END AS defendant_legal_cost) "
            f"FROM {rel} WHERE filed_date <= {t})"
        )
    if name == "firm_financials":
        # Financials of fiscal year Y are known from 1 April of Y + 1.
        return f"(SELECT * FROM {rel} WHERE make_date(CAST(year AS INTEGER) + 1, 4, 1) <= {t})"
    if name == "loans":
        late = f"default_date > {t}"
        return (
            f"(SELECT * REPLACE (CASE WHEN {late} THEN 'open' ELSE outcome END AS outcome, "
            f"CASE WHEN {late} THEN NULL ELSE default_date END AS default_date, "
            f"CASE WHEN {late} THEN NULL ELSE recovery END AS recovery) "
            f"FROM {rel} WHERE start_date <= {t})"
        )
    if name == "transactions":
        return f"(SELECT * FROM {rel} WHERE date <= {t})"
    return rel  # assignees, firm_technology, loan_patents carry no dates


@dataclass(frozen=True)
class Sources:
    """SQL relations standing for each canonical source table."""

    relations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_connection(cls, con: duckdb.DuckDBPyConnection) -> Sources:
        """The canonical views of `con`, with empty relations for absent optional tables."""
        present = {
            r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables"
            ).fetchall()
        }
        return cls({n: (n if n in present else empty_relation(n)) for n in SOURCE_TABLES})

    def cut(self, as_of: date) -> Sources:
        """These sources with every fact dated after `as_of` removed (or its outcome hidden)."""
        t = f"DATE '{as_of.isoformat()}'"
        return Sources({n: _cut_sql(n, r, t) for n, r in self.relations.items()})

    def replace(self, **relations: str) -> Sources:
        """These sources with some relations replaced."""
        return Sources({**self.relations, **relations})

    def render(self, sql: str, **extra: str) -> str:
        """`sql` with `{table}` placeholders filled in."""
        return sql.format(**self.relations, **extra)


def register_arrow(con: duckdb.DuckDBPyConnection, data: pa.Table, prefix: str) -> str:
    """Register an Arrow table on `con` under a fresh name and return the name."""
    name = f"_{prefix}_{uuid.uuid4().hex[:12]}"
    con.register(name, data)
    return name


def union_facts(base: str, facts: str, key: str, columns: list[str]) -> str:
    """SQL relation: `base` rows whose `key` is not in `facts`, plus the `facts` rows."""
    cols = ", ".join(columns)
    return (
        f"(SELECT {cols} FROM {base} WHERE {key} NOT IN (SELECT {key} FROM {facts}) "
        f"UNION ALL SELECT {cols} FROM {facts})"
    )
