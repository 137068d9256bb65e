"""Insurance quote: enforcement or liability form -> the quote with premium parts and subsidy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from models.policy import ApplicantRole, LicenceType, Product
from serving import crud
from serving.auth import Caller
from serving.console.access import ConsoleScoringDep, FormDep, page_caller
from serving.console.binding import BindForm, bind_form, bind_submitted, bind_values
from serving.console.forms import (
    FormErrors,
    nested,
    service_errors,
    split_ids,
    text_fields,
    validation_errors,
)
from serving.console.i18n import Translator
from serving.console.profile import reason_waterfall
from serving.console.rendering import redirect, render, translator
from serving.deps import SessionDep
from serving.errors import AssessmentNotFoundError, ServiceError
from serving.routes.policies import PolicyDep
from serving.scoring import score_enforcement, score_liability
from serving.scoring.records import answer_body
from serving.scoring.schemas import (
    EnforcementQuoteRequest,
    InsuranceQuoteOut,
    LiabilityQuoteRequest,
)

router = APIRouter(prefix="/console", include_in_schema=False)

PRODUCTS = ("enforcement", "liability")
# The model whose explanation leads each stored quote kind.
QUOTE_TASKS = {crud.AssessmentKind.enforcement_quote.value: "litigation",
               crud.AssessmentKind.liability_quote.value: "liability"}
TEXT_FIELDS = (
    "patent.patent_id", "firm.assignee_id", "annual_revenue", "applicant.applicant_id",
    "applicant.role", "applicant.licence_type", "cover_limit", "deductible", "period_months",
)
FLAGS = (
    "applicant.contract_allows_enforcement", "applicant.sme", "applicant.pilot_enterprise",
    "applicant.patent_award_winner", "applicant.high_tech_enterprise",
)
KNOWN = {*TEXT_FIELDS, *FLAGS, "product", "product_classes"}
# Errors about a whole reference land on the input that fills it.
ALIASES = {"patent": "patent.patent_id", "firm": "firm.assignee_id", "applicant": "applicant.role"}
DEFAULTS = {"cover_limit": "1000000", "deductible": "0", "period_months": "12",
            "applicant.role": "patent_holder"}


def _form_context(values: dict[str, str], errors: FormErrors) -> dict[str, Any]:
    """What the quote form template needs: values, errors and the choices."""
    return {
        "values": values, "errors": errors, "products": PRODUCTS,
        "roles": [r.value for r in ApplicantRole],
        "licence_types": [lt.value for lt in LicenceType],
        "flags": FLAGS,
    }


@router.get("/quotes")
def quote_form(
    request: Request, _caller: Annotated[Caller, Depends(page_caller("quote"))]
) -> Response:
    """The quote form, prefilled from the query (a profile links here with its patent)."""
    values = {**DEFAULTS, "product": "enforcement"}
    values.update({k: v for k, v in request.query_params.items() if k in KNOWN})
    return render(request, "quote.html", **_form_context(values, FormErrors()), quote=None)


def quote_request(product: str, fields: dict[str, str], flags: dict[str, bool]
                  ) -> EnforcementQuoteRequest | LiabilityQuoteRequest:
    """The API request the form describes (raises pydantic's ValidationError when invalid)."""
    given: dict[str, Any] = text_fields(fields, TEXT_FIELDS)
    given.update(flags)
    if product == "enforcement":
        given = {k: v for k, v in given.items()
                 if not k.startswith("firm.") and k != "annual_revenue"}
        return EnforcementQuoteRequest.model_validate(nested(given))
    given = {k: v for k, v in given.items() if not k.startswith("patent.")}
    classes = split_ids(fields.get("product_classes", ""))
    if classes:
        given["product_classes"] = classes
    return LiabilityQuoteRequest.model_validate(nested(given))


@router.post("/quotes")
def quote_submit(
    request: Request,
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("quote"))],
    scoring: ConsoleScoringDep,
) -> Response:
    """Score the quote through the API's function (stored as the API stores it) and show it."""
    t = translator(request)
    values = {k: form.get(k) for k in KNOWN if k not in FLAGS}
    values.update({k: "1" for k in FLAGS if form.checked(k)})
    product = form.get("product")
    errors = FormErrors()
    if product not in PRODUCTS:
        errors.fields["product"] = f"product must be one of {list(PRODUCTS)} [enum]"
        return render(request, "quote.html", status_code=422,
                      **_form_context(values, errors), quote=None)
    flags = {k: form.checked(k) for k in FLAGS}
    try:
        req = quote_request(product, form.fields, flags)
    except ValidationError as exc:
        errors = validation_errors(exc, KNOWN, ALIASES)
    else:
        id_field = "patent.patent_id" if product == "enforcement" else "firm.assignee_id"
        try:
            score = score_enforcement if product == "enforcement" else score_liability
            quote = score(scoring.context(caller), req)  # type: ignore[arg-type]
        except ServiceError as exc:
            if exc.status_code >= 500:
                raise
            errors = service_errors(exc, KNOWN, id_field, ALIASES)
        else:
            return render(request, "quote.html", **_form_context(values, FormErrors()),
                          **_result_context(caller, quote, t))
    return render(request, "quote.html", status_code=422, **_form_context(values, errors),
                  quote=None)


def _result_context(caller: Caller, quote: InsuranceQuoteOut, t: Translator,
                    bind: BindForm | None = None) -> dict[str, Any]:
    """What the quote card needs: the quote, its reason waterfall and the bind form."""
    task = "litigation" if quote.product == "enforcement" else "liability"
    waterfall = reason_waterfall(
        quote.explanations[task].model_dump(), t, t("profile.waterfall"),
        "profile.score" if quote.product == "enforcement" else "quote.this_firm")
    bind = bind or bind_form(caller, Product(quote.product), quote.decision,
                             f"/console/quotes/{quote.assessment_id}/bind")
    return {"quote": quote, "waterfall": waterfall, "bind": bind}


def stored_quote(session: Session, assessment_id: str, caller: Caller) -> InsuranceQuoteOut:
    """A stored quote the caller may read, as the API answered it (404 for other kinds)."""
    row = crud.visible_assessment(session, assessment_id, caller)
    task = QUOTE_TASKS.get(row.kind)
    if task is None:
        raise AssessmentNotFoundError(assessment_id)
    quote = InsuranceQuoteOut.model_validate(answer_body(row, task))
    session.rollback()
    return quote


@router.get("/quotes/{assessment_id}")
def quote_page(
    request: Request,
    assessment_id: Annotated[str, Path(max_length=64)],
    caller: Annotated[Caller, Depends(page_caller("quote"))],
    session: SessionDep,
) -> Response:
    """A stored quote with its bind form."""
    quote = stored_quote(session, assessment_id, caller)
    return render(request, "quote_stored.html",
                  **_result_context(caller, quote, translator(request)))


@router.post("/quotes/{assessment_id}/bind")
def quote_bind(
    request: Request,
    assessment_id: Annotated[str, Path(max_length=64)],
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("quote"))],
    session: SessionDep,
    policy: PolicyDep,
) -> Response:
    """Bind the stored quote as `POST /v1/policies` does, then open the new policy."""
    quote = stored_quote(session, assessment_id, caller)
    outcome = bind_submitted(form, caller, session, policy, quote.assessment_id)
    if outcome.body is not None:
        return redirect(request, f"/console/policies/{outcome.body['id']}")
    bind = bind_form(caller, Product(quote.product), quote.decision,
                     f"/console/quotes/{quote.assessment_id}/bind", bind_values(form),
                     outcome.errors)
    return render(request, "quote_stored.html", status_code=outcome.status_code,
                  **_result_context(caller, quote, translator(request), bind))
