"""Stored assessments: read one, or list them by kind and time (the audit trail)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from serving import crud
from serving.deps import CallerDep, PageLimit, PageOffset, SessionDep
from serving.schemas import ERROR_RESPONSES, AssessmentOut, AssessmentPage, ErrorOut

router = APIRouter(prefix="/v1/assessments", tags=["assessments"], responses=ERROR_RESPONSES)


@router.get(
    "/{assessment_id}",
    response_model=AssessmentOut,
    summary="Read a stored assessment",
    responses={404: {"model": ErrorOut, "description": "Unknown, or made by another key."}},
)
def read_assessment(assessment_id: str, session: SessionDep, caller: CallerDep) -> AssessmentOut:
    """The stored record of an earlier answer; regulators and admins read all, others their own."""
    return AssessmentOut.of(crud.visible_assessment(session, assessment_id, caller))


@router.get("", response_model=AssessmentPage, summary="List stored assessments")
def list_assessments(
    session: SessionDep,
    caller: CallerDep,
    kind: Annotated[
        crud.AssessmentKind | None, Query(description="Only assessments of this kind.")
    ] = None,
    since: Annotated[
        dt.datetime | None, Query(description="Created at or after (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[
        dt.datetime | None, Query(description="Created before (ISO 8601; UTC if no zone).")
    ] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> AssessmentPage:
    """Assessments newest first; regulators and admins see all, other keys their own."""
    filters = crud.AssessmentFilters(
        kind=kind.value if kind else None,
        since=_utc(since),
        until=_utc(until),
        caller_key_id=None if caller.reads_all_assessments else caller.key_id,
    )
    items, total = crud.list_assessments(session, filters, limit=limit, offset=offset)
    return AssessmentPage(items=[AssessmentOut.of(r) for r in items], total=total)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A query timestamp made timezone-aware, reading a naive one as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
