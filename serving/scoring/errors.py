"""Errors of the scoring endpoints: policy refusals as 422s naming field and rule, batch limit."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from models.policy import IneligibleError, QuoteInputError
from serving.errors import InvalidInputError, ServiceError

# Request field that decides each kind of eligibility rule (the rest name the role).
_INELIGIBLE_FIELDS = {
    "licensee.if_contract_allows": "applicant.contract_allows_enforcement",
    "licensee": "applicant.licence_type",
}


class IneligibleApplicantError(InvalidInputError):
    """The applicant may not buy the product under the policy (422, code `ineligible`)."""

    code = "ineligible"


class BatchTooLargeError(ServiceError):
    """A batch holds more items than `Settings.max_batch_items` (413)."""

    status_code = 413
    code = "batch_too_large"

    def __init__(self, limit: int, got: int) -> None:
        super().__init__(f"a batch must hold at most {limit} items (max_batch_items), got {got}")
        self.limit = limit


def policy_input_error(exc: QuoteInputError, prefix: str) -> InvalidInputError:
    """A policy input refusal as a 422 naming the request field (`insurance.x` -> `x`)."""
    field = exc.field.removeprefix(prefix)
    return InvalidInputError(field, exc.rule, f"{field} {exc.rule}")


def ineligible_error(exc: IneligibleError) -> IneligibleApplicantError:
    """An eligibility refusal as a 422 naming the applicant field and the policy rule."""
    field = "applicant.role"
    for suffix, name in _INELIGIBLE_FIELDS.items():
        if exc.rule.endswith(suffix):
            field = name
            break
    return IneligibleApplicantError(field, exc.rule, str(exc))


def install_scoring_error_handlers(app: FastAPI) -> None:
    """Answer ineligible applicants with 422, the field and rule, and code `ineligible`."""

    @app.exception_handler(IneligibleApplicantError)
    def _ineligible(_request: Request, exc: IneligibleApplicantError) -> JSONResponse:
        body = {
            "detail": [{"field": exc.field, "location": "body", "rule": exc.rule,
                        "message": exc.message}],
            "code": exc.code,
        }
        return JSONResponse(body, status_code=422)
