"""Regulator (监管): the book of business per product, grade and year, with its CSV download.

The rows are `book_of_business`'s, the builder of `GET /v1/reports/book`; the CSV is the API's.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from serving.auth import Caller
from serving.book_of_business import BOOK_COLUMNS, book_csv, book_of_business
from serving.console.access import page_caller
from serving.console.forms import FormErrors
from serving.console.rendering import render
from serving.deps import SessionDep
from serving.routes.policies import PolicyDep
from serving.tables import utc_now

router = APIRouter(prefix="/console", include_in_schema=False)

YEARS = (1900, 2200)


def _year(value: str, errors: FormErrors) -> int | None:
    """The policy-year filter, or an error on its field."""
    if not value.strip():
        return None
    try:
        year = int(value)
    except ValueError:
        year = None
    if year is None or not YEARS[0] <= year <= YEARS[1]:
        errors.fields["year"] = (f"year must be a whole number between {YEARS[0]} and "
                                 f"{YEARS[1]}, got {value!r} [range]")
        return None
    return year


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums of the count and money columns over rows of one currency (for the footer)."""
    money = ("written_premium", "earned_premium", "subsidy", "claims_paid", "claims_reserved",
             "recoveries", "incurred", "expected_loss")
    counts = ("policies", "claims_reported", "overdue_claims")
    out: dict[str, Any] = {k: sum(float(r[k]) for r in rows) for k in money}
    out.update({k: sum(int(r[k]) for r in rows) for k in counts})
    out["loss_ratio"] = (out["incurred"] / out["earned_premium"]
                         if out["earned_premium"] > 0 else None)
    out["actual_over_expected"] = (out["incurred"] / out["expected_loss"]
                                   if out["expected_loss"] > 0 else None)
    return out


@router.get("/book")
def book_page(
    request: Request,
    _caller: Annotated[Caller, Depends(page_caller("book"))],
    session: SessionDep,
    policy: PolicyDep,
    year: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """Premium, subsidy, claims, loss ratio, actual/expected and timeliness per row of the book."""
    errors = FormErrors()
    chosen = _year(year, errors)
    day = utc_now().date()
    rows = [] if errors else book_of_business(session, policy, day, chosen)
    session.rollback()
    currencies = {r["currency"] for r in rows}
    return render(request, "book.html", status_code=422 if errors else 200, errors=errors,
                  values={"year": year}, rows=rows, columns=BOOK_COLUMNS, as_of=day,
                  totals=_totals(rows) if len(currencies) == 1 else None,
                  currency=next(iter(currencies)) if len(currencies) == 1 else "",
                  csv_href="/console/book.csv" + (f"?year={chosen}" if chosen else ""))


@router.get("/book.csv")
def book_download(
    _caller: Annotated[Caller, Depends(page_caller("book"))],
    session: SessionDep,
    policy: PolicyDep,
    year: Annotated[int | None, Query(ge=YEARS[0], le=YEARS[1])] = None,
) -> Response:
    """The book as the API's CSV, as a download named for its day."""
    day: dt.date = utc_now().date()
    text = book_csv(book_of_business(session, policy, day, year))
    session.rollback()
    name = f"book-of-business-{day.isoformat()}{f'-{year}' if year else ''}.csv"
    return PlainTextResponse(text, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})
