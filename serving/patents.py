"""Patent lookups and search over the active dataset (facts as stored in the canonical tables)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from features.pipelines import patent_features
from features.pipelines.relations import register_arrow
from features.schema import table
from models.policy.scale import MASTER_SCALE, Grade
from serving.crud import json_safe
from serving.errors import InvalidInputError, PatentNotFoundError, UnavailableError

PATENT_COLUMNS: tuple[str, ...] = tuple(table("patents").column_names)

# The allowed values of the canonical schema, as enums for query parameters and form choices.
Jurisdiction = StrEnum(  # type: ignore[misc]
    "Jurisdiction", {v: v for v in table("patents").column("jurisdiction").allowed}
)
PatentType = StrEnum(  # type: ignore[misc]
    "PatentType", {v: v for v in table("patents").column("patent_type").allowed}
)


@dataclass(frozen=True)
class PatentQuery:
    """Search filters: assignee, CPC prefix, words, jurisdiction, type, in force, grade range.

    `in_force` and the grade range (`grade_from` the better end, `grade_to` the worse end of
    the master scale, both included) read the materialized scores of the online store.
    """

    assignee: str | None = None
    cpc: str | None = None
    q: str | None = None
    jurisdiction: str | None = None
    patent_type: str | None = None
    in_force: bool | None = None
    grade_from: str | None = None
    grade_to: str | None = None

    @property
    def needs_scores(self) -> bool:
        """Whether a filter reads the materialized scores."""
        return self.in_force is not None or self.grade_from is not None \
            or self.grade_to is not None


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
    scores: pa.Table | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of patents matching `query`, ordered by id, and the total that match.

    `scores` is the online store's patent index (in force, grade, probability per stored
    patent); with it every hit carries its grade, and the in-force and grade filters apply.
    """
    if scores is None and query.needs_scores:
        raise UnavailableError(
            "in_force and grade filters read the materialized scores; none are in service yet "
            "(run `patentrisk materialize`)"
        )
    where: list[str] = []
    params: list[object] = []
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
    if query.jurisdiction:
        where.append("p.jurisdiction = ?")
        params.append(query.jurisdiction)
    if query.patent_type:
        where.append("p.patent_type = ?")
        params.append(query.patent_type)
    join = ""
    name = None
    if scores is not None:
        name = register_arrow(cur, scores, "patent_scores")
        join = f" LEFT JOIN {name} s ON s.patent_id = p.patent_id"
        if query.in_force is not None:
            where.append("coalesce(s.in_force, false) = ?")
            params.append(query.in_force)
        ranks = _grade_ranks(query.grade_from, query.grade_to)
        if ranks is not None:
            where.append("s.grade IN (SELECT unnest(?))")
            params.append(ranks)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    try:
        row = cur.execute(f"SELECT count(*) FROM patents p{join}{clause}", params).fetchone()
        total = int(row[0]) if row else 0
        extra = ", s.grade AS grade, s.in_force AS in_force" if name else ""
        df = cur.execute(
            f"{_select(tables).replace(' FROM patents p', extra + ' FROM patents p')}{join}"
            f"{clause} ORDER BY p.patent_id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).df()
    finally:
        if name is not None:
            cur.unregister(name)
    return _records(df), total


def _grade_ranks(best: str | None, worst: str | None) -> list[str] | None:
    """The grades from `best` to `worst` on the master scale (both included), or None."""
    if best is None and worst is None:
        return None
    lo = Grade(best).rank if best else 0
    hi = Grade(worst).rank if worst else len(MASTER_SCALE) - 1
    if lo > hi:
        raise InvalidInputError(
            "grade_from", "order",
            f"grade_from must be at or better than grade_to, got {best} and {worst}",
        )
    return [g.value for g in MASTER_SCALE[lo:hi + 1]]


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


def assignee_facts(
    cur: duckdb.DuckDBPyConnection, tables: frozenset[str], assignee_id: str | None
) -> dict[str, Any] | None:
    """The stored row of an owner (name, kind, industry, region, founded), or None."""
    if not assignee_id or "assignees" not in tables:
        return None
    df = cur.execute(
        "SELECT assignee_id, name, kind, industry, region, founded_year FROM assignees "
        "WHERE assignee_id = ?", [assignee_id],
    ).df()
    return _records(df)[0] if not df.empty else None


def patent_events(
    cur: duckdb.DuckDBPyConnection, tables: frozenset[str], patent_id: str
) -> list[dict[str, Any]]:
    """The patent's legal events (renewals, transfers, licences, pledges, ...), oldest first."""
    if "legal_events" not in tables:
        return []
    df = cur.execute(
        "SELECT event_date, event_type, counterparty_id FROM legal_events WHERE patent_id = ? "
        "ORDER BY event_date, event_id", [patent_id],
    ).df()
    return _records(df)


def patent_citations(
    cur: duckdb.DuckDBPyConnection, tables: frozenset[str], patent_id: str, limit: int = 25
) -> dict[str, Any]:
    """Citations of the patent both ways: counts and the first `limit` of each, newest first."""
    if "citations" not in tables:
        return {"cited_by": [], "cited_by_total": 0, "cites": [], "cites_total": 0}
    out: dict[str, Any] = {}
    for name, mine, other in (("cited_by", "cited_patent_id", "citing_patent_id"),
                              ("cites", "citing_patent_id", "cited_patent_id")):
        row = cur.execute(f"SELECT count(*) FROM citations WHERE {mine} = ?", [patent_id])
        counted = row.fetchone()
        out[f"{name}_total"] = int(counted[0]) if counted else 0
        df = cur.execute(
            f"SELECT {other} AS patent_id, citation_date, by_examiner FROM citations "
            f"WHERE {mine} = ? ORDER BY citation_date DESC, {other} LIMIT ?", [patent_id, limit],
        ).df()
        out[name] = _records(df)
    return out


def patent_cases(
    cur: duckdb.DuckDBPyConnection, tables: frozenset[str], patent_id: str
) -> list[dict[str, Any]]:
    """Litigation on the patent: filing, parties, venue, outcome, newest first."""
    if "cases" not in tables:
        return []
    df = cur.execute(
        "SELECT case_id, filed_date, plaintiff_id, defendant_id, venue, outcome, closed_date "
        "FROM cases WHERE patent_id = ? ORDER BY filed_date DESC, case_id", [patent_id],
    ).df()
    return _records(df)
