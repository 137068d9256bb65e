"""Resolve the patents and firms of a request to feature frames through the training pipelines."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd

from features.pipelines import (
    FirmFacts,
    FirmYear,
    firm_features,
    firm_features_for_facts,
    patent_features,
    patent_features_for_facts,
)
from features.registry import CLAIM_KINDS, PATENT_TYPES, get, task_features
from serving.errors import FirmNotFoundError, InvalidInputError, PatentNotFoundError
from serving.online.view import OnlineView
from serving.scoring.schemas import FirmRef, PatentRef


def _known(cur: duckdb.DuckDBPyConnection, table: str, column: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` exist in `table.column`."""
    if not ids:
        return set()
    marks = ", ".join("?" for _ in ids)
    rows = cur.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", list(ids))
    return {str(r[0]) for r in rows.fetchall()}


def require_patents(cur: duckdb.DuckDBPyConnection, patent_ids: Sequence[str]) -> None:
    """Raise `PatentNotFoundError` (404) for the first id not in the dataset."""
    known = _known(cur, "patents", "patent_id", patent_ids)
    for pid in patent_ids:
        if pid not in known:
            raise PatentNotFoundError(pid)


def require_firm(cur: duckdb.DuckDBPyConnection, tables: frozenset[str], assignee_id: str) -> None:
    """Raise `FirmNotFoundError` (404) unless the assignee is in the dataset."""
    if "assignees" not in tables or not _known(cur, "assignees", "assignee_id", [assignee_id]):
        raise FirmNotFoundError(assignee_id)


def _features_by_id(
    cur: duckdb.DuckDBPyConnection, patent_ids: Sequence[str], as_of: dt.date
) -> pd.DataFrame:
    """Features of stored patents `patent_ids` (all known) in one pipeline run, by patent id."""
    frame = patent_features(cur, as_of, patent_ids=list(patent_ids))
    return frame.drop(columns="as_of").set_index("patent_id")


def stored_patent_features(
    cur: duckdb.DuckDBPyConnection, patent_ids: Sequence[str], as_of: dt.date
) -> pd.DataFrame:
    """Features of the dataset's patents among `patent_ids` in one pipeline run, by patent id.

    Unknown ids are left out (the request that names one gets its 404 when it is scored).
    """
    known = sorted(_known(cur, "patents", "patent_id", sorted(set(patent_ids))))
    return _features_by_id(cur, known, as_of) if known else pd.DataFrame()


def request_patent_features(
    cur: duckdb.DuckDBPyConnection,
    refs: Sequence[PatentRef],
    as_of: dt.date,
    computed: pd.DataFrame | None = None,
    online: OnlineView | None = None,
) -> pd.DataFrame:
    """Features of a request's patent refs as of `as_of`, one row per ref in order, by patent id.

    `computed` holds features already built for this request's as-of date (a batch builds all
    its stored patents in one run); `online` the materialized rows of stored patents and the
    context that facts are scored against. Only what neither holds is computed here.
    """
    ids = [r.patent_id for r in refs if r.patent_id is not None]
    facts = [r.facts for r in refs if r.facts is not None]
    have = computed if computed is not None else pd.DataFrame()
    todo = [pid for pid in ids if pid not in have.index]
    parts = [have.loc[[pid for pid in ids if pid in have.index]]] if len(have) else []
    if todo and online is not None:
        stored = online.features("patent", list(dict.fromkeys(todo)))
        if not parts and not facts and list(stored.index) == [r.key for r in refs]:
            return stored  # every ref a stored patent, in order: the common case
        if len(stored):
            parts.append(stored)
            todo = [pid for pid in todo if pid not in stored.index]
    require_patents(cur, todo)
    if todo:
        parts.append(_features_by_id(cur, todo, as_of))
    if facts:
        # Facts of a patent the dataset neither holds nor mentions add their own counts to the
        # materialized context; any other facts need the dataset's rows (the full pipeline).
        scorable = online is not None and online.facts_scorable([f.patent_id for f in facts])
        context = online.context_db if scorable and online is not None else None
        parts.append(patent_features_for_facts(cur, facts, as_of, context=context)
                     .drop(columns="as_of").set_index("patent_id"))
    frame = pd.concat(parts)
    frame = frame.loc[~frame.index.duplicated(keep="first")]
    return frame.loc[[r.key for r in refs]]


def not_in_force_reason(row: pd.Series | Mapping[str, Any]) -> str | None:
    """Why a patent's feature row shows it not in force (not granted, expired, ...), else None."""
    remaining = row.get("remaining_term_years")
    if remaining is None or pd.isna(remaining):
        return "is not granted"
    if remaining <= 0:
        return "has expired"
    if row.get("invalidated") == 1:
        return "was invalidated"
    if row.get("lapsed") == 1:
        return "lapsed for non-payment of fees"
    return None


def require_in_force(patents: pd.DataFrame, field: str, as_of: dt.date) -> None:
    """Raise `InvalidInputError` (422) for a patent not in force on `as_of`.

    Only a granted patent that has not expired, lapsed or been invalidated can be insured or
    pledged; `field` names the request field (e.g. `patent`, `pledged[{i}]`) with its index.
    """
    for i, (pid, row) in enumerate(patents.iterrows()):
        require_row_in_force(str(pid), row, field.format(i=i), as_of)


def require_row_in_force(
    patent_id: str, row: pd.Series | Mapping[str, Any], where: str, as_of: dt.date
) -> None:
    """Raise `InvalidInputError` (422) unless patent `patent_id`'s feature `row` is in force.

    `require_in_force` for one row; `where` is the request field named in the error.
    """
    why = not_in_force_reason(row)
    if why is not None:
        raise InvalidInputError(
            where, "in_force",
            f"{where}: patent {patent_id} {why} as of {as_of.isoformat()}; only patents in "
            "force can be insured or pledged",
        )


def patent_type_of(row: pd.Series) -> str | None:
    """The patent type label of a feature row (category code decoded through the registry)."""
    code = row.get("patent_type")
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return None
    return PATENT_TYPES[int(code)] if 0 <= int(code) < len(PATENT_TYPES) else None


def severity_frame(patents: pd.DataFrame, claim_kind: str) -> pd.DataFrame:
    """Severity model inputs: the patent features with `claim_kind` set."""
    frame = patents.reindex(columns=task_features("severity"))  # a new frame: no .copy()
    frame["claim_kind"] = float(CLAIM_KINDS.index(claim_kind))
    return frame


def severity_row(features: Mapping[str, float], claim_kind: str) -> dict[str, float]:
    """One patent's severity model inputs (`severity_frame` of its feature row, as a dict)."""
    row = {name: features.get(name, math.nan) for name in task_features("severity")}
    row["claim_kind"] = float(CLAIM_KINDS.index(claim_kind))
    return row


# A liability claim is a suit on a patent not known in advance. Its cost is priced on the patents
# such suits were brought on: those of the firm's main product class asserted in the last
# CLASS_CASE_YEARS years (most recent first, at most CLASS_CASE_PATENTS), else those of the wider
# CPC class, else the firm's own portfolio. A row with every patent fact missing but the class
# would sit in no leaf the trees learnt from and price every class alike.
CLASS_CASE_YEARS = 5
CLASS_CASE_PATENTS = 200

_SUED_IN_CLASS = """
SELECT c.patent_id FROM cases c JOIN patents p ON p.patent_id = c.patent_id
WHERE {match} AND c.filed_date <= ? AND c.filed_date > ?
GROUP BY c.patent_id ORDER BY max(c.filed_date) DESC, c.patent_id LIMIT ?
"""
_PORTFOLIO = """
SELECT patent_id FROM patents WHERE assignee_id = ? AND grant_date <= ?
ORDER BY grant_date DESC, patent_id LIMIT ?
"""


def claim_patent_ids(
    cur: duckdb.DuckDBPyConnection,
    tables: frozenset[str],
    cpc_class: str | None,
    as_of: dt.date,
    assignee_id: str | None = None,
) -> tuple[list[str], str]:
    """Patents a liability claim in `cpc_class` is priced on, and which basis chose them."""
    since = as_of - dt.timedelta(days=round(365.25 * CLASS_CASE_YEARS))
    if cpc_class and "cases" in tables:
        for basis, match, value in (
            (f"patents of CPC {cpc_class} sued in the {CLASS_CASE_YEARS} years before as_of",
             "p.cpc_main = ?", cpc_class),
            (f"patents of CPC class {cpc_class[:3]} sued in the {CLASS_CASE_YEARS} years "
             "before as_of", "substr(p.cpc_main, 1, 3) = ?", cpc_class[:3]),
        ):
            ids = [r[0] for r in cur.execute(
                _SUED_IN_CLASS.replace("{match}", match),
                [value, as_of, since, CLASS_CASE_PATENTS]).fetchall()]
            if ids:
                return ids, basis
    if assignee_id:
        ids = [r[0] for r in cur.execute(
            _PORTFOLIO, [assignee_id, as_of, CLASS_CASE_PATENTS]).fetchall()]
        if ids:
            return ids, "the firm's own granted patents"
    return [], CLASS_ONLY_BASIS


def class_severity_frame(
    cur: duckdb.DuckDBPyConnection,
    tables: frozenset[str],
    cpc_class: str | None,
    claim_kind: str,
    as_of: dt.date,
    assignee_id: str | None = None,
    online: OnlineView | None = None,
) -> tuple[pd.DataFrame, str]:
    """Severity inputs for a claim on a patent not known in advance, and their basis.

    One row per patent of `claim_patent_ids` (features as of `as_of`); the quote's cost is
    their mean. Without any such patent, one row with only the class known. The patents'
    features are read from `online` (materialized as of `as_of`) when it holds all of them,
    else built through the pipeline.
    """
    ids, basis = claim_patent_ids(cur, tables, cpc_class, as_of, assignee_id)
    if ids:
        stored = (online.features("patent", ids)
                  if online is not None and online.as_of == as_of else pd.DataFrame())
        if len(stored) == len(ids):
            # In the pipeline's row order (by patent id): the mean cost and the typical facts
            # are sums over the rows, which must add up in the same order to the same bits.
            frame = stored.loc[sorted(ids)].rename_axis("patent_id")
        else:
            frame = patent_features(cur, as_of, patent_ids=ids).set_index("patent_id")
        frame = frame.reindex(columns=task_features("severity"))
        frame["claim_kind"] = float(CLAIM_KINDS.index(claim_kind))
        return frame, basis
    return class_only_severity_frame(cpc_class, claim_kind), basis


# The basis `class_severity_frame` names when no patent facts are found: the class alone.
CLASS_ONLY_BASIS = "no patent facts: class only"


def class_only_severity_frame(cpc_class: str | None, claim_kind: str) -> pd.DataFrame:
    """One severity input row knowing only the claim's CPC class (the online store keeps these)."""
    row: dict[str, float] = {}
    for name in task_features("severity"):
        row[name] = -1.0 if get(name).is_categorical else math.nan
    if cpc_class:
        row["cpc_section"] = _code("cpc_section", cpc_class[0])
        row["cpc_class"] = _code("cpc_class", cpc_class[:3])
    row["claim_kind"] = float(CLAIM_KINDS.index(claim_kind))
    return pd.DataFrame([row])


def _code(name: str, label: str) -> float:
    """Registry category code of `label` for feature `name` (-1 when unknown)."""
    categories = get(name).categories
    return float(categories.index(label)) if label in categories else -1.0


def firm_facts_from_store(cur: duckdb.DuckDBPyConnection, assignee_id: str) -> FirmFacts:
    """The stored facts of a firm (assignee row, financials, technology classes)."""
    a = cur.execute(
        "SELECT assignee_id, name, kind, industry, region, founded_year FROM assignees "
        "WHERE assignee_id = ?", [assignee_id],
    ).fetchone()
    if a is None:
        raise FirmNotFoundError(assignee_id)
    fin = cur.execute(
        "SELECT year, revenue, total_assets, debt, net_income, currency FROM firm_financials "
        "WHERE assignee_id = ? ORDER BY year", [assignee_id],
    ).fetchall()
    tech = cur.execute(
        "SELECT cpc_class, weight FROM firm_technology WHERE assignee_id = ?", [assignee_id]
    ).fetchall()
    return FirmFacts(
        assignee_id=a[0], name=a[1] or "", kind=a[2], industry=a[3], region=a[4],
        founded_year=a[5],
        financials=tuple(
            FirmYear(year=r[0], revenue=r[1], total_assets=r[2], debt=r[3], net_income=r[4],
                     currency=r[5] or "CNY")
            for r in fin
        ),
        technology={str(c): float(w) for c, w in tech},
    )


def with_overrides(
    facts: FirmFacts, as_of: dt.date, classes: Sequence[str] | None, revenue: float | None
) -> FirmFacts:
    """Firm facts with the request's product classes and last-year revenue put in."""
    update: dict[str, object] = {}
    if classes:
        update["technology"] = {c: 1.0 / len(classes) for c in classes}
    if revenue is not None:
        # Financials of fiscal year Y are known from 1 April of Y + 1: the last known year.
        last = as_of.year - 1 if as_of >= dt.date(as_of.year, 4, 1) else as_of.year - 2
        years = {f.year: f for f in facts.financials}
        base = years.get(last)
        if base is None:
            raise InvalidInputError(
                "annual_revenue", "needs_financials",
                f"annual_revenue replaces the revenue of fiscal year {last}, the last one known "
                f"on {as_of}; the firm has no financials for that year: give firm.facts with "
                "financials instead",
            )
        years[last] = base.model_copy(update={"revenue": revenue})
        update["financials"] = tuple(years[y] for y in sorted(years))
    return facts.model_copy(update=update) if update else facts


def request_firm_features(
    cur: duckdb.DuckDBPyConnection,
    tables: frozenset[str],
    ref: FirmRef,
    as_of: dt.date,
    classes: Sequence[str] | None = None,
    revenue: float | None = None,
    online: OnlineView | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Features of a request's firm ref as of `as_of` (with overrides), and its main class.

    A stored firm without overrides is read from `online`; facts and overrides are scored
    against its context (the firm's portfolio and suits as materialized).
    """
    plain = ref.facts is None and classes is None and revenue is None
    if plain and online is not None:
        stored = online.features("firm", [str(ref.assignee_id)])
        if len(stored):
            stored.index.name = "assignee_id"
            return stored, online.firm_classes.get(str(ref.assignee_id))
    if plain:
        require_firm(cur, tables, str(ref.assignee_id))
        frame = firm_features(cur, as_of, assignee_ids=[str(ref.assignee_id)])
        facts = firm_facts_from_store(cur, str(ref.assignee_id))
    else:
        base = ref.facts
        if base is None:
            require_firm(cur, tables, str(ref.assignee_id))
            base = firm_facts_from_store(cur, str(ref.assignee_id))
        facts = with_overrides(base, as_of, classes, revenue)
        frame = firm_features_for_facts(
            cur, [facts], as_of, context=online.context_db if online is not None else None
        )
    main = max(facts.technology.items(), key=lambda kv: (kv[1], kv[0]))[0] if facts.technology \
        else None
    return frame.drop(columns="as_of").set_index("assignee_id"), main
