"""Patent lookup and search over the active dataset (检索查询)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from models.policy.scale import Grade
from serving.auth import CallerRole
from serving.crud import json_safe
from serving.deps import CursorDep, DatasetDep, PageLimit, PageOffset, SettingsDep, require_roles
from serving.patents import (
    PatentQuery,
    patent_facts,
    patent_feature_values,
    search_patents,
)
from serving.schemas import ERROR_RESPONSES, ErrorOut, PatentOut, PatentPage
from serving.scoring.context import ScoringDep
from serving.scoring.screening import ScreeningOut, ScreeningRequest, screen_patents

# Patent data serves those who price, lend and model; regulators read only assessments and models.
router = APIRouter(
    prefix="/v1/patents",
    tags=["patents"],
    dependencies=[
        Depends(require_roles(CallerRole.underwriter, CallerRole.bank, CallerRole.scientist))
    ],
    responses={
        **ERROR_RESPONSES,
        503: {"model": ErrorOut, "description": "The active dataset is not present."},
    },
)


@router.get(
    "/{patent_id}",
    response_model=PatentOut,
    summary="Look up a patent",
    responses={404: {"model": ErrorOut, "description": "Not in the active dataset."}},
)
def read_patent(
    request: Request,
    patent_id: Annotated[str, Path(min_length=1, max_length=40, examples=["CN112233445B"])],
    dataset: DatasetDep,
    cursor: CursorDep,
    settings: SettingsDep,
) -> PatentOut:
    """A patent's facts, CPC classes, and its features as of today (capped at the data's end)."""
    facts = patent_facts(cursor, dataset.tables, patent_id)
    as_of = dataset.as_of(settings)
    online = getattr(request.app.state, "online", None)
    view = online.view if online is not None else None
    stored = view.features("patent", [patent_id]) if view and view.as_of == as_of else None
    if stored is not None and len(stored):
        features = {str(k): json_safe(v) for k, v in stored.iloc[0].items()}
    else:
        features = patent_feature_values(cursor, patent_id, as_of)
    return PatentOut(**facts, features=features, as_of=as_of)


@router.get("", response_model=PatentPage, summary="Search patents")
def list_patents(
    request: Request,
    dataset: DatasetDep,
    cursor: CursorDep,
    assignee: Annotated[
        str | None,
        Query(max_length=200, description="Assignee id, or part of the assignee's name."),
    ] = None,
    cpc: Annotated[
        str | None,
        Query(max_length=16, pattern=r"^[A-Za-z0-9/ ]+$",
              description="CPC class prefix, e.g. H04L or H04.", examples=["H04L"]),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in the title, or part of the id.")
    ] = None,
    jurisdiction: Annotated[
        Literal["CN", "US"] | None, Query(description="Patent office.")
    ] = None,
    patent_type: Annotated[
        Literal["invention", "utility_model", "design", "utility"] | None,
        Query(description="Patent type."),
    ] = None,
    in_force: Annotated[
        bool | None, Query(description="Only patents in force (true) or not (false) as of the "
                                        "serving date, from the materialized features.")
    ] = None,
    grade_from: Annotated[
        Grade | None, Query(description="Best enforcement grade to include (e.g. AAA).")
    ] = None,
    grade_to: Annotated[
        Grade | None, Query(description="Worst enforcement grade to include (e.g. BB).")
    ] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> PatentPage:
    """Patents matching every given filter, ordered by id, each with its grade (no features).

    Grades and the in-force flag come from the online store's materialized scores: the
    enforcement grade of the litigation probability under the policy in service.
    """
    online = getattr(request.app.state, "online", None)
    view = online.view if online is not None else None
    query = PatentQuery(
        assignee=assignee, cpc=cpc, q=q, jurisdiction=jurisdiction, patent_type=patent_type,
        in_force=in_force, grade_from=grade_from.value if grade_from else None,
        grade_to=grade_to.value if grade_to else None,
    )
    items, total = search_patents(cursor, dataset.tables, query, limit, offset,
                                  view.patent_index if view is not None else None)
    return PatentPage(items=[PatentOut(**i) for i in items], total=total)


@router.post(
    "/screen",
    response_model=ScreeningOut,
    summary="Screen patents: litigation risk with grade, value P10/P50/P90",
    responses={404: {"model": ErrorOut, "description": "Unknown patent id."}},
)
def screen(body: ScreeningRequest, ctx: ScoringDep) -> ScreeningOut:
    """Litigation probability graded on the enforcement scale and value interval, stored."""
    return screen_patents(ctx, body)
