"""The suit a claim refers to, read from the active dataset's litigation table (`cases`)."""

from __future__ import annotations

import duckdb

from models.policy.circumstances import ReferencedSuit
from serving.dataset import DatasetHandle


def referenced_suit(cur: duckdb.DuckDBPyConnection, tables: frozenset[str], case_id: str
                    ) -> ReferencedSuit | None:
    """The case `case_id` (its earliest filing date and patents in suit); None when unknown."""
    if "cases" not in tables:
        return None
    row = cur.execute(
        "SELECT CAST(min(filed_date) AS DATE), list(DISTINCT patent_id ORDER BY patent_id) "
        "FROM cases WHERE case_id = ? HAVING count(*) > 0", [case_id],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return ReferencedSuit(case_id=case_id, filed_date=row[0], patent_ids=tuple(row[1]))


def notice_suit(dataset: DatasetHandle, case_id: str | None) -> ReferencedSuit | None:
    """The suit a claim notice names by `case_id` in the active dataset; None when none named."""
    if case_id is None:
        return None
    with dataset.cursor() as cur:
        return referenced_suit(cur, dataset.tables, case_id)
