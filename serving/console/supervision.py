"""Regulator (监管): the rate table per grade, assessment search, and any stored record in full."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from models.policy.rate_table import rate_table
from serving import crud
from serving.auth import Caller
from serving.console.access import page_caller
from serving.console.forms import FormErrors
from serving.console.rendering import render
from serving.deps import ModelsDep, SessionDep
from serving.errors import UnavailableError

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE_SIZE = 25


@router.get("/regulator")
def regulator_page(
    request: Request,
    _caller: Annotated[Caller, Depends(page_caller("regulator"))],
    models: ModelsDep,
) -> Response:
    """The rate table per product and grade of the policy in service (as `policy rate-table`)."""
    policy = models.policy
    if policy is None:
        raise UnavailableError("no rating policy is loaded; try again after a reload")
    rows = rate_table(policy)
    products = list(dict.fromkeys(r.product.value for r in rows))
    return render(request, "regulator.html", policy=policy, rows=rows, products=products)


def _date(value: str, name: str, errors: FormErrors) -> dt.datetime | None:
    """A YYYY-MM-DD field as the start of that day in UTC, or an error on the field."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors.fields[name] = f"{name} must be a date YYYY-MM-DD, got {value!r} [date_format]"
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@router.get("/assessments")
def assessments_page(
    request: Request,
    caller: Annotated[Caller, Depends(page_caller("assessments"))],
    session: SessionDep,
    kind: Annotated[str, Query(max_length=40)] = "",
    since: Annotated[str, Query(max_length=20)] = "",
    until: Annotated[str, Query(max_length=20)] = "",
    assessment_id: Annotated[str, Query(max_length=64)] = "",
    start: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Stored assessments newest first, by kind and date window, or one by its id."""
    errors = FormErrors()
    kinds = [k.value for k in crud.AssessmentKind]
    if kind and kind not in kinds:
        errors.fields["kind"] = f"kind must be one of {kinds} [enum]"
    filters = crud.AssessmentFilters(
        kind=kind or None, since=_date(since, "since", errors), until=_date(until, "until", errors),
        caller_key_id=None if caller.reads_all_assessments else caller.key_id,
    )
    values = {"kind": kind, "since": since, "until": until, "assessment_id": assessment_id}
    if assessment_id.strip() and not errors:
        return record_page(request, assessment_id.strip(), caller, session)
    items: list[Any] = []
    total = 0
    if not errors:
        items, total = crud.list_assessments(session, filters, limit=PAGE_SIZE, offset=start)
        session.rollback()
    kept = [(k, v) for k, v in values.items() if v and k != "assessment_id"]
    next_href = ("?" + urlencode([*kept, ("start", start + PAGE_SIZE)])
                 if start + PAGE_SIZE < total else None)
    return render(request, "assessments.html", status_code=422 if errors else 200,
                  errors=errors, values=values, kinds=kinds, items=items, total=total,
                  start=start, next_href=next_href, first_href="?" + urlencode(kept))


def subject_of(outputs: dict[str, Any]) -> str:
    """What an assessment was about: its patent, firm or borrower, or the patents it named."""
    for key in ("patent_id", "assignee_id", "borrower_id"):
        if outputs.get(key):
            return str(outputs[key])
    patents = outputs.get("patents") or []
    ids = [str(p.get("patent_id")) for p in patents if isinstance(p, dict)]
    return ", ".join(ids[:3]) + (f" (+{len(ids) - 3})" if len(ids) > 3 else "")


@router.get("/assessments/{assessment_id}")
def record_view(
    request: Request,
    assessment_id: Annotated[str, Path(max_length=64)],
    caller: Annotated[Caller, Depends(page_caller("record"))],
    session: SessionDep,
) -> Response:
    """The full stored record: request, features, outputs, explanation, versions, caller."""
    return record_page(request, assessment_id, caller, session)


def record_page(request: Request, assessment_id: str, caller: Caller, session: SessionDep
                ) -> Response:
    """The record page, with the API's visibility rule (others' records are not found)."""
    row = crud.visible_assessment(session, assessment_id, caller)
    session.rollback()
    return render(request, "record.html", row=row, subject=subject_of(row.outputs or {}))
