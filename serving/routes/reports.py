"""Reports over HTTP: market and rate adequacy (insurers, regulator), portfolio valuation (banks).

Each report is built by the same functions as `patentrisk report KIND` and answered as a
self-contained HTML page (`format=html`, default), one of its CSV tables (`format=csv&table=`),
or a zip with both languages and every CSV (`format=zip`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from serving.auth import Caller, CallerRole
from serving.deps import CursorDep, DatasetDep, ModelsDep, SettingsDep, require_roles
from serving.errors import InvalidInputError
from serving.reports.basis import ReportBasis, resolve_as_of
from serving.reports.builders import build_report
from serving.reports.document import Report
from serving.reports.rendering import render_html, report_zip, table_csv
from serving.schemas import ERROR_RESPONSES, ErrorOut

router = APIRouter(
    prefix="/v1/reports",
    tags=["reports"],
    responses={
        **ERROR_RESPONSES,
        200: {"content": {"text/html": {}, "text/csv": {}, "application/zip": {}},
              "description": "The report page, one CSV table, or a zip of both."},
        404: {"model": ErrorOut, "description": "Unknown borrower or patent (portfolio)."},
        503: {"model": ErrorOut, "description": "A model or the dataset is missing."},
    },
)

# Market and rates serve insurers and the regulator (rate supervision, subsidy planning);
# portfolio reports are what a bank files with a pledge loan.
MarketReaderDep = Annotated[
    Caller, Depends(require_roles(CallerRole.underwriter, CallerRole.regulator))
]
BankReaderDep = Annotated[Caller, Depends(require_roles(CallerRole.bank))]
Format = Literal["html", "csv", "zip"]
Lang = Literal["en", "zh"]


def report_basis(
    dataset: DatasetDep,
    cursor: CursorDep,
    models: ModelsDep,
    settings: SettingsDep,
    as_of: Annotated[dt.date | None, Query(description="Report date (default: the "
                                           "service's as-of date).")] = None,
) -> ReportBasis:
    """The basis of one report request: dataset cursor, models, and the report date."""
    day = resolve_as_of(as_of, dataset.as_of(settings), dataset.end_date)
    return ReportBasis(cursor=cursor, dataset=settings.dataset, meta=dataset.meta,
                       tables=dataset.tables, as_of=day, models=models)


BasisDep = Annotated[ReportBasis, Depends(report_basis)]


FormatQ = Annotated[Format, Query(alias="format", description="html, csv (with table) or zip.")]
LangQ = Annotated[Lang, Query(description="Language of the HTML page.")]
TableQ = Annotated[str | None, Query(description="With format=csv: the table to download.")]


@dataclass(frozen=True)
class ReportAnswer:
    """How the caller wants the report: HTML in a language, one CSV table, or a zip."""

    request: Request
    fmt: Format
    lang: Lang
    table: str | None

    def respond(self, report: Report) -> Response:
        """The report as HTML, as one CSV table or as a zip."""
        if self.fmt == "zip":
            return Response(report_zip(report), media_type="application/zip", headers={
                "Content-Disposition": f'attachment; filename="{report.folder}.zip"'})
        if self.fmt == "csv":
            tables = {t.name: t for t in report.tables()}
            if self.table not in tables:
                raise InvalidInputError("table", "one_of", f"table must be one of "
                                        f"{', '.join(tables)}, got {self.table!r}")
            return Response(
                table_csv(tables[self.table]), media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition":
                         f'attachment; filename="{report.folder}-{self.table}.csv"'})

        def link(name: str) -> str:
            return str(self.request.url.include_query_params(format="csv", table=name))

        def other(lang: str) -> str:
            return str(self.request.url.include_query_params(lang=lang))

        return HTMLResponse(render_html(report, self.lang, csv_link=link, lang_link=other))


def report_answer(
    request: Request, fmt: FormatQ = "html", lang: LangQ = "en", table: TableQ = None
) -> ReportAnswer:
    """The answer format of one report request."""
    return ReportAnswer(request, fmt, lang, table)


AnswerDep = Annotated[ReportAnswer, Depends(report_answer)]


@router.get("/market", summary="Market and demand report (需求调查及分析)",
            response_class=Response)
def market_report(
    _caller: MarketReaderDep,
    basis: BasisDep,
    answer: AnswerDep,
    region: Annotated[str | None, Query(max_length=64)] = None,
    industry: Annotated[str | None, Query(max_length=64)] = None,
    owner_kind: Annotated[str | None, Query(max_length=32)] = None,
    cpc_section: Annotated[str | None, Query(max_length=1)] = None,
    take_up: Annotated[list[float] | None, Query(description="Take-up rates in (0, 1]; "
                                                 "repeat the parameter.")] = None,
    years: Annotated[int, Query(ge=1, le=30)] = 5,
) -> Response:
    """Stock in force, litigation, eligible firms, premium volume, subsidy and concentration.

    Premium volume at the take-up rates, the subsidy budget it implies under the policy and
    the expected loss ratio; filters narrow the market by owner region, industry, kind and
    CPC section.
    """
    report = build_report(basis, "market", region=region, industry=industry,
                          owner_kind=owner_kind, cpc_section=cpc_section,
                          take_up=tuple(take_up or (0.05, 0.10, 0.20)), years=years)
    return answer.respond(report)


@router.get("/rates", summary="Rate adequacy backtest (费率充足性回测)",
            response_class=Response)
def rates_report(
    _caller: MarketReaderDep,
    basis: BasisDep,
    answer: AnswerDep,
    years: Annotated[int, Query(ge=1, le=50, description="Past years backtested.")] = 10,
) -> Response:
    """The rate table backtested per product, grade and past year of the data.

    Premium charged against the losses the data shows, actual / expected claims with a 95 %
    interval, and the under- or over-priced grades.
    """
    return answer.respond(build_report(basis, "rates", years=years))


@router.get("/portfolio", summary="Portfolio valuation for a pledge loan (质押估值报告)",
            response_class=Response)
def portfolio_report(
    _caller: BankReaderDep,
    basis: BasisDep,
    answer: AnswerDep,
    borrower: Annotated[str | None, Query(max_length=64, description="Assignee id; its "
                                          "patents in force unless patents are listed.")] = None,
    patents: Annotated[list[str] | None, Query(description="Patent ids (repeat the "
                                               "parameter or separate by commas).")] = None,
    amount: Annotated[float | None, Query(gt=0, le=1e12)] = None,
    term_months: Annotated[int, Query(ge=1, le=120)] = 12,
) -> Response:
    """A borrower's (or a list of) patents valued for a pledge loan, with its risk.

    Per-patent P10/P50/P90 with reasons and GB/T 42748-2023 axes, portfolio total,
    concentration, loan-to-value, default probability and grade, and a stress view.
    """
    ids = [p.strip() for item in patents or () for p in item.split(",") if p.strip()]
    report = build_report(basis, "portfolio", borrower=borrower, patent_ids=ids,
                          amount=amount, term_months=term_months)
    return answer.respond(report)
