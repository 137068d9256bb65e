"""Reports in the console (报告): market, rates (insurers, regulator), portfolio (banks).

A report is built by the same builder as `patentrisk report KIND` and `GET /v1/reports/KIND`
(`serving.reports.builders.build_report`) and shown as the same self-contained HTML page
(`render_html`), framed in the console in the user's language, with the zip of both languages
and every CSV one click away. Fields are read as text so that bad input comes back on the form,
naming the field and the rule, as the API's 422 does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from features.registry import CPC_SECTIONS, INDUSTRIES
from features.schema import ASSIGNEE_KINDS
from serving.auth import Caller, CallerRole
from serving.console.access import PageForbiddenError, page_caller
from serving.console.forms import FormErrors, service_errors, split_ids
from serving.console.i18n import LANGUAGES
from serving.console.rendering import language, render
from serving.deps import CursorDep, DatasetDep, ModelsDep, SettingsDep
from serving.errors import InvalidInputError, NotFoundError, PatentNotFoundError
from serving.reports.basis import ReportBasis, resolve_as_of
from serving.reports.builders import build_report
from serving.reports.document import Report
from serving.reports.rendering import render_html, report_zip, table_csv

router = APIRouter(prefix="/console", include_in_schema=False)

ReportKindName = Literal["market", "rates", "portfolio"]
# Who may build each report, as on the API's routes (admins may build every report).
REPORT_ROLES: Mapping[str, frozenset[CallerRole]] = {
    "market": frozenset({CallerRole.underwriter, CallerRole.regulator}),
    "rates": frozenset({CallerRole.underwriter, CallerRole.regulator}),
    "portfolio": frozenset({CallerRole.bank}),
}
# The form fields of each report (query parameters of /console/reports/KIND).
REPORT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "market": ("as_of", "region", "industry", "owner_kind", "cpc_section", "take_up", "years"),
    "rates": ("as_of", "years"),
    "portfolio": ("as_of", "borrower", "patents", "amount", "term_months"),
}
YEARS_RANGE = {"market": (1, 30, 5), "rates": (1, 50, 10)}
SHOWN = ("page", "html", "csv", "zip")


def report_kinds(caller: Caller) -> list[str]:
    """The reports `caller` may build, in the order the page shows them."""
    return [k for k, roles in REPORT_ROLES.items()
            if caller.role is CallerRole.admin or caller.role in roles]


@dataclass(frozen=True)
class ReportForm:
    """The parsed fields of one report form: builder keywords, report date and the errors."""

    values: dict[str, str]
    options: dict[str, Any]
    as_of: dt.date | None
    errors: FormErrors


def _int(values: Mapping[str, str], name: str, low: int, high: int, default: int,
         errors: FormErrors) -> int:
    """An integer field within [low, high] (default when empty), or an error on the field."""
    text = values.get(name, "")
    if not text:
        return default
    try:
        number = int(text)
    except ValueError:
        errors.fields[name] = f"{name} must be a whole number, got {text!r} [integer]"
        return default
    if not low <= number <= high:
        errors.fields[name] = f"{name} must be {low} to {high}, got {number} [range]"
    return number


def _choice(values: Mapping[str, str], name: str, allowed: tuple[str, ...],
            errors: FormErrors) -> str | None:
    """A field that is empty (None) or one of `allowed`, else an error on the field."""
    text = values.get(name, "")
    if text and text not in allowed:
        errors.fields[name] = f"{name} must be one of {', '.join(allowed)}, got {text!r} [one_of]"
    return text or None


def parse_report_form(kind: str, query: Mapping[str, str]) -> ReportForm:
    """The report's fields from the query string, checked as the API checks its parameters."""
    values = {n: query.get(n, "").strip() for n in REPORT_FIELDS[kind]}
    errors = FormErrors()
    as_of = None
    if values["as_of"]:
        try:
            as_of = dt.date.fromisoformat(values["as_of"])
        except ValueError:
            errors.fields["as_of"] = (f"as_of must be a date YYYY-MM-DD, got {values['as_of']!r} "
                                      "[date_format]")
    options: dict[str, Any] = {}
    if kind in YEARS_RANGE:
        options["years"] = _int(values, "years", *YEARS_RANGE[kind], errors)
    if kind == "market":
        options["region"] = values["region"] or None
        options["industry"] = _choice(values, "industry", INDUSTRIES, errors)
        options["owner_kind"] = _choice(values, "owner_kind", ASSIGNEE_KINDS, errors)
        options["cpc_section"] = _choice(values, "cpc_section", CPC_SECTIONS, errors)
        try:
            rates = tuple(float(x) for x in values["take_up"].replace(";", ",").split(",")
                          if x.strip())
        except ValueError:
            errors.fields["take_up"] = ("take_up must be numbers in (0, 1] separated by commas, "
                                        f"got {values['take_up']!r} [share]")
            rates = ()
        options["take_up"] = rates or (0.05, 0.10, 0.20)
    if kind == "portfolio":
        options["borrower"] = values["borrower"] or None
        options["patent_ids"] = split_ids(values["patents"])
        options["term_months"] = _int(values, "term_months", 1, 120, 12, errors)
        if values["amount"]:
            try:
                options["amount"] = float(values["amount"])
            except ValueError:
                errors.fields["amount"] = (f"amount must be a number, got {values['amount']!r} "
                                           "[number]")
    return ReportForm(values, options, as_of, errors)


def _form_page(request: Request, caller: Caller, kind: str, form: ReportForm | None,
               status_code: int = 200, **extra: Any) -> Response:
    """The reports page: the caller's report kinds, the form of `kind` and the report if built."""
    choices = {
        "industry": [(v, v) for v in INDUSTRIES],
        "owner_kind": [(v, v) for v in ASSIGNEE_KINDS],
        "cpc_section": [(v, v) for v in CPC_SECTIONS],
    }
    return render(
        request, "report_pages.html", status_code=status_code, kinds=report_kinds(caller),
        kind=kind, values=form.values if form else {}, errors=form.errors if form else FormErrors(),
        choices=choices, **{"report_html": None, **extra},
    )


@router.get("/reports")
def reports_page(
    request: Request,
    caller: Annotated[Caller, Depends(page_caller("reports"))],
) -> Response:
    """The form of the first report the caller's role may build."""
    return _form_page(request, caller, report_kinds(caller)[0], None)


@router.get("/reports/{kind}")
def report_view(
    request: Request,
    kind: Annotated[ReportKindName, Path()],
    caller: Annotated[Caller, Depends(page_caller("reports"))],
    dataset: DatasetDep,
    cursor: CursorDep,
    models: ModelsDep,
    settings: SettingsDep,
) -> Response:
    """The report's form; with `run=1` the report built and shown, or as HTML, CSV or zip.

    `show`: page (the console page framing the report, default), html (the report's own page
    in `lang`), csv (one `table`) or zip (both languages and every CSV).
    """
    if kind not in report_kinds(caller):
        raise PageForbiddenError("reports")
    query = request.query_params
    if query.get("run") != "1":
        return _form_page(request, caller, kind, None)
    form = parse_report_form(kind, query)
    shown = query.get("show", "page")
    if shown not in SHOWN:
        form.errors.general.append(f"show must be one of {', '.join(SHOWN)}, got {shown!r} "
                                   "[one_of]")
    if form.errors:
        return _form_page(request, caller, kind, form, status_code=422)
    try:
        basis = ReportBasis(
            cursor=cursor, dataset=settings.dataset, meta=dataset.meta, tables=dataset.tables,
            as_of=resolve_as_of(form.as_of, dataset.as_of(settings), dataset.end_date),
            models=models,
        )
        report = build_report(basis, kind, **form.options)
    except (InvalidInputError, NotFoundError) as exc:
        id_field = "patents" if isinstance(exc, PatentNotFoundError) else "borrower"
        errors = service_errors(exc, REPORT_FIELDS[kind], id_field=id_field,
                                aliases={"patent_ids": "patents"})
        return _form_page(request, caller, kind, replace(form, errors=errors),
                          status_code=404 if isinstance(exc, NotFoundError) else 422)
    return _answer(request, caller, kind, form, report, shown)


def _here(request: Request, **params: str) -> str:
    """The requested page's path and query with `params` set (links stay in the console)."""
    target = request.url.include_query_params(**params)
    return f"{target.path}?{target.query}"


def _answer(request: Request, caller: Caller, kind: str, form: ReportForm, report: Report,
            shown: str) -> Response:
    """The built report in the requested form."""
    if shown == "zip":
        return Response(report_zip(report), media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{report.folder}.zip"'})
    if shown == "csv":
        tables = {t.name: t for t in report.tables()}
        table = request.query_params.get("table")
        if table not in tables:
            form.errors.general.append(f"table must be one of {', '.join(tables)}, got "
                                       f"{table!r} [one_of]")
            return _form_page(request, caller, kind, form, status_code=422)
        return Response(table_csv(tables[table]), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{report.folder}-{table}.csv"'})

    def csv_href(name: str) -> str:
        return _here(request, show="csv", table=name)

    def lang_href(lang: str) -> str:
        return _here(request, show="html", lang=lang)

    wanted = request.query_params.get("lang", "")
    lang = wanted if wanted in LANGUAGES else language(request)
    html = render_html(report, lang, csv_link=csv_href, lang_link=lang_href)
    if shown == "html":
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})
    return _form_page(request, caller, kind, form, report=report, report_html=html,
                      zip_href=_here(request, show="zip"), page_href=lang_href(lang),
                      tables=[t.name for t in report.tables()], csv_href=csv_href)
