"""Patent search (检索查询): filters, paged results with grade and value band."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from models.policy import Grade
from serving.auth import Caller
from serving.console.access import ConsoleScoringDep, page_caller
from serving.console.forms import FormErrors
from serving.console.rendering import render
from serving.errors import UnavailableError
from serving.patents import Jurisdiction, PatentQuery, PatentType, search_patents
from serving.scoring.schemas import PatentRef
from serving.scoring.screening import ScreeningRequest, screen_patents

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE_SIZE = 20
SCAN_CHUNK = 50
# With grade or in-force filters the matches must be scored to be filtered: look at most this
# many per page, then offer the next page from where the scan stopped.
SCAN_LIMIT = 400
_CPC = re.compile(r"^[A-Za-z0-9/ ]{1,16}$")


@dataclass(frozen=True)
class SearchFilters:
    """The search form's values as given (strings), for refilling the form."""

    q: str = ""
    assignee: str = ""
    cpc: str = ""
    jurisdiction: str = ""
    patent_type: str = ""
    in_force: bool = False
    max_grade: str = ""


def _check(filters: SearchFilters) -> FormErrors:
    """Field errors of the search form, each naming the rule."""
    errors = FormErrors()
    if len(filters.q) > 200:
        errors.fields["q"] = "q must be at most 200 characters [max_length]"
    if len(filters.assignee) > 200:
        errors.fields["assignee"] = "assignee must be at most 200 characters [max_length]"
    if filters.cpc and not _CPC.fullmatch(filters.cpc):
        errors.fields["cpc"] = ("cpc must be a CPC class prefix of letters and digits, "
                                f"e.g. H04L, got {filters.cpc!r} [pattern]")
    allowed = [j.value for j in Jurisdiction]
    if filters.jurisdiction and filters.jurisdiction not in allowed:
        errors.fields["jurisdiction"] = f"jurisdiction must be one of {allowed} [enum]"
    types = [p.value for p in PatentType]
    if filters.patent_type and filters.patent_type not in types:
        errors.fields["patent_type"] = f"patent_type must be one of {types} [enum]"
    grades = [g.value for g in Grade]
    if filters.max_grade and filters.max_grade not in grades:
        errors.fields["max_grade"] = f"max_grade must be one of {grades} [enum]"
    return errors


def _passes(item: dict[str, Any], filters: SearchFilters) -> bool:
    """Whether a screened result passes the in-force and grade filters."""
    if filters.in_force and not item["in_force"]:
        return False
    if filters.max_grade and Grade(item["grade"]).rank > Grade(filters.max_grade).rank:
        return False
    return True


@router.get("/patents")
def search_page(
    request: Request,
    caller: Annotated[Caller, Depends(page_caller("search"))],
    scoring: ConsoleScoringDep,
    q: Annotated[str, Query()] = "",
    assignee: Annotated[str, Query()] = "",
    cpc: Annotated[str, Query()] = "",
    jurisdiction: Annotated[str, Query()] = "",
    patent_type: Annotated[str, Query()] = "",
    in_force: Annotated[str, Query()] = "",
    max_grade: Annotated[str, Query()] = "",
    start: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Search form and one page of results, each screened (grade, value band) and stored."""
    filters = SearchFilters(q.strip(), assignee.strip(), cpc.strip().upper(), jurisdiction,
                            patent_type, bool(in_force), max_grade)
    errors = _check(filters)
    searched = any([filters.q, filters.assignee, filters.cpc, filters.jurisdiction,
                    filters.patent_type, filters.in_force, filters.max_grade]) or start > 0
    context: dict[str, Any] = {
        "filters": filters, "errors": errors, "results": None, "total": 0, "next_href": None,
        "start": start, "scanned": 0, "score_error": None, "assessment_ids": [],
        "grades": [g.value for g in Grade], "jurisdictions": [j.value for j in Jurisdiction],
        "patent_types": [p.value for p in PatentType],
    }
    if errors or not searched:
        return render(request, "search.html", status_code=422 if errors else 200, **context)
    query = PatentQuery(assignee=filters.assignee or None, cpc=filters.cpc or None,
                        q=filters.q or None, jurisdiction=filters.jurisdiction or None,
                        patent_type=filters.patent_type or None)
    ctx = scoring.context(caller)
    filtering = filters.in_force or bool(filters.max_grade)
    results: list[dict[str, Any]] = []
    position, total, scanned = start, 0, 0
    while len(results) < PAGE_SIZE:
        size = SCAN_CHUNK if filtering else PAGE_SIZE
        facts, total = search_patents(ctx.cursor, ctx.tables, query, size, position)
        if not facts:
            break
        position += len(facts)
        scanned += len(facts)
        screened: dict[str, dict[str, Any]] = {}
        try:
            answer = screen_patents(ctx, ScreeningRequest(
                patents=[PatentRef(patent_id=f["patent_id"]) for f in facts]))
            screened = {p.patent_id: p.model_dump() for p in answer.patents}
            context["assessment_ids"].append(answer.assessment_id)
        except UnavailableError as exc:
            context["score_error"] = exc.message
        for i, f in enumerate(facts):
            item = {**f, "screen": screened.get(f["patent_id"])}
            if filtering and (item["screen"] is None or not _passes(item["screen"], filters)):
                continue
            results.append(item)
            if len(results) == PAGE_SIZE:
                # Resume right after the last result shown.
                position = start + scanned - (len(facts) - i - 1)
                break
        if not filtering or scanned >= SCAN_LIMIT or context["score_error"]:
            break
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "start"]
    next_start = position if position < total else None
    context.update(results=results, total=total, scanned=scanned, filtering=filtering,
                   first_href="?" + urlencode(kept),
                   next_href="?" + urlencode([*kept, ("start", next_start)])
                   if next_start is not None else None,
                   currency=ctx.models.policy.currency if ctx.models.policy else "")
    return render(request, "search.html", **context)
