"""Patent lookups and search over the active dataset (facts as stored in the canonical tables)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from features.pipelines import patent_features
from features.schema import table
from serving.crud import json_safe
from serving.errors import PatentNotFoundError

PATENT_COLUMNS: tuple[str, ...] = tuple(table("patents").column_names)


@dataclass(frozen=True)
class PatentQuery:
    """Search filters: assignee id or name part, CPC class prefix, words of title or id."""

    assignee: str | None = None
    cpc: str | None = None
    q: str | None = None


def _select(tables: frozenset[str]) -> str:
    """SELECT of a patent's facts, its CPC classes and (when present) its assignee's name."""
    cols = ", ".join(f"p.{c}" for c in PATENT_COLUMNS)
    cpc = (
        "(SELECT list(c.cpc_class ORDER BY c.sequence) FROM patent_cpc c "
        "WHERE c.patent_id = p.patent_id)"
        if "patent_cpc" in tables
        else "NULL"
    )
    name = (
        "(SELECT a.name FROM assignees a WHERE a.assignee_id = p.assignee_id)"
        if "assignees" in tables
        else "NULL"
    )
    return f"SELECT {cols}, {cpc} AS cpc_classes, {name} AS assignee_name FROM patents p"


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (dates as ISO strings, missing values as null)."""
    out = []
    for row in df.to_dict(orient="records"):
        rec: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp | dt.datetime):
                value = value.date()
            rec[str(key)] = json_safe(value)
        out.append(rec)
    return out


def patent_facts(
    cur: duckdb.DuckDBPyConnection, tables: frozenset[str], patent_id: str
) -> dict[str, Any]:
    """The stored facts of `patent_id`; raises `PatentNotFoundError` (404) when unknown."""
    df = cur.execute(f"{_select(tables)} WHERE p.patent_id = ?", [patent_id]).df()
    if df.empty:
        raise PatentNotFoundError(patent_id)
    return _records(df)[0]


def search_patents(
    cur: duckdb.DuckDBPyConnection,
    tables: frozenset[str],
    query: PatentQuery,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of patents matching `query`, ordered by id, and the total that match."""
    where, params = [], []
    if query.assignee:
        cond = "p.assignee_id = ?"
        params.append(query.assignee)
        if "assignees" in tables:
            cond += (" OR p.assignee_id IN (SELECT assignee_id FROM assignees "
                     "WHERE name ILIKE ? ESCAPE '\\')")
            params.append(f"%{_escape_like(query.assignee)}%")
        where.append(f"({cond})")
    if query.cpc:
        prefix = f"{_escape_like(query.cpc.upper())}%"
        if "patent_cpc" in tables:
            where.append("p.patent_id IN (SELECT patent_id FROM patent_cpc "
                         "WHERE cpc_class LIKE ? ESCAPE '\\')")
        else:
            where.append("p.cpc_main LIKE ? ESCAPE '\\'")
        params.append(prefix)
    if query.q:
        where.append("(p.title ILIKE ? ESCAPE '\\' OR p.patent_id ILIKE ? ESCAPE '\\')")
        words = f"%{_escape_like(query.q)}%"
        params += [words, words]
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    row = cur.execute(f"SELECT count(*) FROM patents p{clause}", params).fetchone()
    total = int(row[0]) if row else 0
    df = cur.execute(
        f"{_select(tables)}{clause} ORDER BY p.patent_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).df()
    return _records(df), total


def _escape_like(text: str) -> str:
    """`text` with LIKE wildcards escaped, so user input matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def patent_feature_values(
    cur: duckdb.DuckDBPyConnection, patent_id: str, as_of: dt.date
) -> dict[str, float | None]:
    """The stored patent's features as of `as_of`, from the training pipeline."""
    frame = patent_features(cur, as_of, patent_ids=[patent_id])
    row = frame.iloc[0].drop(labels=["patent_id", "as_of"])
    return {str(k): json_safe(v) for k, v in row.items()}
