"""`GET /v1/reports/book`: the book of business for the regulator (CSV or JSON).

Called "book" (the insurer's book of business) because `/v1/reports/portfolio` is the bank's
collateral-portfolio valuation report.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel

from serving.auth import BOOK_READERS, Caller
from serving.book_of_business import BOOK_COLUMNS, book_csv, book_of_business
from serving.deps import SessionDep, require_roles
from serving.routes.policies import PolicyDep
from serving.schemas import ERROR_RESPONSES
from serving.tables import utc_now

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)

RegulatorDep = Annotated[Caller, Depends(require_roles(*BOOK_READERS))]


class BookOut(BaseModel):
    """The book of business: one row per product, grade and policy year."""

    as_of: dt.date
    columns: list[str]
    rows: list[dict[str, Any]]


@router.get("/book", response_model=BookOut,
            summary="Book of business: premium, subsidy, claims, loss ratios, deadlines",
            responses={200: {"content": {"text/csv": {}}}})
def book(
    _caller: RegulatorDep, session: SessionDep, policy: PolicyDep,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
    year: Annotated[int | None, Query(ge=1900, le=2200, description="Policy year only.")] = None,
    as_of: Annotated[dt.date | None, Query(description="Earned to this day; default today.")]
    = None,
) -> Response | dict[str, Any]:
    """Per product, grade and year: premium, subsidy, claims, loss ratio, A/E, deadlines.

    Also the median days to decision and to payment, and the overdue claims (监管台账).
    """
    day = as_of or utc_now().date()
    rows = book_of_business(session, policy, day, year)
    if format == "csv":
        return PlainTextResponse(book_csv(rows), media_type="text/csv; charset=utf-8")
    return {"as_of": day, "columns": list(BOOK_COLUMNS), "rows": rows}
