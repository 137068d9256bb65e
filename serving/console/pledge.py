"""Bank: pledge-loan assessment (质押贷款), typed or from a CSV upload, and its printable page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from models.policy import Product
from models.policy.money import exact, money
from serving import crud
from serving.auth import Caller
from serving.charts import Interval, interval_chart
from serving.console.access import ConsoleScoring, ConsoleScoringDep, FormDep, page_caller
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
from serving.errors import AssessmentNotFoundError, ServiceError
from serving.routes.policies import PolicyDep
from serving.scoring import assess_loan
from serving.scoring.batch import csv_items, run_batch
from serving.scoring.records import answer_body
from serving.scoring.schemas import LoanAssessmentOut, LoanAssessmentRequest

router = APIRouter(prefix="/console", include_in_schema=False)

TEXT_FIELDS = ("borrower.assignee_id", "requested_amount", "term_months", "appraised_value")
KNOWN = {*TEXT_FIELDS, "pledged", "file"}
ALIASES = {"borrower": "borrower.assignee_id"}
DEFAULTS = {"requested_amount": "2000000", "term_months": "12"}
# The API's CSV batch format: `pledged` holds patent ids separated by ';'.
CSV_LISTS = {"pledged": lambda pid: {"patent_id": pid}}
MAX_CSV_BYTES = 1_000_000


def loan_request(fields: dict[str, str]) -> LoanAssessmentRequest:
    """The API request the typed form describes (pydantic's ValidationError when invalid)."""
    given: dict[str, Any] = text_fields(fields, TEXT_FIELDS)
    given["pledged"] = [{"patent_id": pid} for pid in split_ids(fields.get("pledged", ""))]
    return LoanAssessmentRequest.model_validate(nested(given))


def portfolio_chart(result: LoanAssessmentOut, t: Translator) -> str:
    """Interval chart of each pledged patent's value and the portfolio total."""
    rows = [Interval(p.patent_id, p.p10, p.p50, p.p90) for p in result.patents]
    rows.append(Interval(t("loans.total"), result.portfolio.p10, result.portfolio.p50,
                         result.portfolio.p90))
    return interval_chart(rows, t("loans.portfolio"), result.currency)


@router.get("/loans")
def loan_form(
    request: Request, _caller: Annotated[Caller, Depends(page_caller("loans"))]
) -> Response:
    """The pledge-loan form (typed fields or a CSV file)."""
    return render(request, "loans.html", values=dict(DEFAULTS), errors=FormErrors(), batch=None)


@router.post("/loans")
def loan_submit(
    request: Request,
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("loans"))],
    scoring: ConsoleScoringDep,
) -> Response:
    """Assess through the API's function; one loan opens its printable page, a CSV lists all."""
    values = {k: form.get(k) for k in KNOWN if k != "file"}
    upload = form.files.get("file")
    errors = FormErrors()
    if upload is not None:
        if len(upload) > MAX_CSV_BYTES:
            errors.fields["file"] = f"file must be at most {MAX_CSV_BYTES} bytes [max_size]"
        else:
            try:
                items = csv_items(upload.decode("utf-8-sig"), CSV_LISTS)
            except (UnicodeDecodeError, ValueError) as exc:
                errors.fields["file"] = f"file must be a UTF-8 CSV ({exc}) [csv]"
            else:
                limit = scoring.settings.max_batch_items
                if not items:
                    errors.fields["file"] = "file holds no loan rows [too_short]"
                elif len(items) > limit:
                    errors.fields["file"] = (f"file must hold at most {limit} loans "
                                             f"(max_batch_items), got {len(items)} [too_long]")
        if errors:
            return render(request, "loans.html", status_code=422, values=values, errors=errors,
                          batch=None)
        ctx = scoring.context(caller)
        ctx.require("value", "default")
        batch = run_batch(ctx, items, LoanAssessmentRequest, assess_loan)
        only = batch.items[0].result if batch.total == 1 else None
        if only is not None:
            return redirect(request, f"/console/loans/{only['assessment_id']}")
        return render(request, "loans.html", values=values, errors=errors, batch=batch)
    try:
        req = loan_request(form.fields)
    except ValidationError as exc:
        errors = validation_errors(exc, KNOWN, ALIASES)
    else:
        try:
            result = assess_loan(scoring.context(caller), req)
        except ServiceError as exc:
            if exc.status_code >= 500:
                raise
            errors = service_errors(exc, KNOWN, "borrower.assignee_id", ALIASES)
            if errors.general and exc.code == "patent_not_found":
                errors.fields["pledged"] = errors.general.pop()
        else:
            return redirect(request, f"/console/loans/{result.assessment_id}")
    # pledged[1].patent_id and the like belong to the pledged textarea
    for name in [n for n in errors.fields if n.startswith("pledged")]:
        errors.fields.setdefault("pledged", errors.fields.pop(name))
    return render(request, "loans.html", status_code=422, values=values, errors=errors,
                  batch=None)


@router.get("/loans/{assessment_id}")
def loan_result(
    request: Request,
    assessment_id: Annotated[str, Path(max_length=64)],
    caller: Annotated[Caller, Depends(page_caller("loans"))],
    scoring: ConsoleScoringDep,
) -> Response:
    """The printable page of a stored loan assessment, built from the stored row."""
    return _loan_page(request, stored_loan(scoring.session, assessment_id, caller), caller,
                      scoring)


def stored_loan(session: Session, assessment_id: str, caller: Caller) -> LoanAssessmentOut:
    """A stored loan assessment the caller may read, as the API answered it."""
    row = crud.visible_assessment(session, assessment_id, caller)
    if row.kind != crud.AssessmentKind.loan_assessment.value:
        raise AssessmentNotFoundError(assessment_id)
    result = LoanAssessmentOut.model_validate(answer_body(row, "default"))
    session.rollback()
    return result


def _loan_page(request: Request, result: LoanAssessmentOut, caller: Caller,
               scoring: ConsoleScoring, bind: BindForm | None = None, status_code: int = 200
               ) -> Response:
    """The loan result page with its charts and the guarantee's bind form."""
    t = translator(request)
    policy = scoring.models.policy
    sharing = policy.loan.loss_sharing if policy is not None else None
    # The stored expected loss split by the policy's shares, each share rounded once (Decimal).
    loss_by_party = None if sharing is None else [
        money(result.expected_loss * exact(share), result.currency)
        for share in (sharing.insurer, sharing.bank, sharing.guarantor)]
    bind = bind or bind_form(caller, Product.PLEDGE_LOAN, result.decision,
                             f"/console/loans/{result.assessment_id}/bind")
    return render(
        request, "loan_result.html", status_code=status_code, r=result,
        chart=portfolio_chart(result, t),
        waterfall=reason_waterfall(result.explanation.model_dump(), t, t("profile.waterfall"),
                                   "loans.this_loan"),
        sharing=sharing, loss_by_party=loss_by_party,
        same_policy=policy is not None and policy.sha256 == result.policy_hash,
        bind=bind,
    )


@router.post("/loans/{assessment_id}/bind")
def loan_bind(
    request: Request,
    assessment_id: Annotated[str, Path(max_length=64)],
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("loans"))],
    scoring: ConsoleScoringDep,
    policy: PolicyDep,
) -> Response:
    """Bind the assessment into a pledge-loan guarantee as `POST /v1/policies` does."""
    result = stored_loan(scoring.session, assessment_id, caller)
    outcome = bind_submitted(form, caller, scoring.session, policy, result.assessment_id)
    if outcome.body is not None:
        return redirect(request, f"/console/policies/{outcome.body['id']}")
    bind = bind_form(caller, Product.PLEDGE_LOAN, result.decision,
                     f"/console/loans/{result.assessment_id}/bind", bind_values(form),
                     outcome.errors)
    return _loan_page(request, result, caller, scoring, bind, outcome.status_code)
