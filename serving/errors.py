"""Errors of the service and the one place that maps every error to an HTTP answer.

The service's own errors are `ServiceError` subclasses carrying their status and code; the
policy's domain errors (`models.policy.errors`) become service errors through
`policy_input_error` and `ineligible_error`, which name the request field. Responses never carry
stack traces: known errors get their status and message, validation
errors a list of `{field, location, rule, message}`, anything else a generic 500 whose details go
to the log under an error id that the response repeats.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from features.schema import SchemaError
from models.policy import IneligibleError, QuoteInputError
from models.policy.errors import IllegalTransitionError

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error the service answers with `status_code` and a machine-readable `code`."""

    status_code = 500
    code = "service_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationError(ServiceError):
    """No API key, or one that is unknown or revoked (401)."""

    status_code = 401
    code = "not_authenticated"


class PermissionDeniedError(ServiceError):
    """The caller's role may not use this endpoint (403)."""

    status_code = 403
    code = "forbidden"


class NotFoundError(ServiceError):
    """A requested entity does not exist (or is not visible to the caller) (404)."""

    status_code = 404
    code = "not_found"


class PatentNotFoundError(NotFoundError):
    """A patent id is not in the active dataset (404)."""

    code = "patent_not_found"

    def __init__(self, patent_id: str) -> None:
        super().__init__(f"patent_id {patent_id!r} is not in the active dataset")
        self.patent_id = patent_id


class FirmNotFoundError(NotFoundError):
    """An assignee id is not in the active dataset (404)."""

    code = "firm_not_found"

    def __init__(self, assignee_id: str) -> None:
        super().__init__(f"assignee_id {assignee_id!r} is not in the active dataset")
        self.assignee_id = assignee_id


class AssessmentNotFoundError(NotFoundError):
    """An assessment id is unknown, or belongs to another key (404)."""

    code = "assessment_not_found"

    def __init__(self, assessment_id: str) -> None:
        super().__init__(f"assessment {assessment_id!r} not found")
        self.assessment_id = assessment_id


class ApiKeyNotFoundError(NotFoundError):
    """An API key id is unknown (404)."""

    code = "api_key_not_found"


class InvalidInputError(ServiceError):
    """Input that passed the schema but breaks a domain rule; names the field and rule (422)."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule


class IneligibleApplicantError(InvalidInputError):
    """The applicant may not buy the product under the policy (422, code `ineligible`)."""

    code = "ineligible"


class ConflictError(ServiceError):
    """The request is valid but conflicts with what is stored or with a rule of state (409)."""

    status_code = 409
    code = "conflict"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule


class PayloadTooLargeError(ServiceError):
    """The request body is larger than `Settings.max_body_bytes` (413)."""

    status_code = 413
    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body must be at most {limit} bytes")
        self.limit = limit


class BatchTooLargeError(ServiceError):
    """A batch holds more items than `Settings.max_batch_items` (413)."""

    status_code = 413
    code = "batch_too_large"

    def __init__(self, limit: int, got: int) -> None:
        super().__init__(f"a batch must hold at most {limit} items (max_batch_items), got {got}")
        self.limit = limit


class UnavailableError(ServiceError):
    """A component the request needs is not available right now (503)."""

    status_code = 503
    code = "unavailable"


class ModelNotLoadedError(UnavailableError):
    """The model a request needs is not loaded (503)."""

    code = "model_not_loaded"

    def __init__(self, task: str) -> None:
        super().__init__(f"no model is loaded for task {task!r}; try again after a reload")
        self.task = task


class DatasetUnavailableError(UnavailableError):
    """The active dataset is not present or could not be opened (503)."""

    code = "dataset_unavailable"


class AssessmentNotStoredError(UnavailableError):
    """The assessment could not be written, so no answer is given (503)."""

    code = "assessment_not_stored"


# Request field that decides each kind of eligibility rule (the rest name the role).
_INELIGIBLE_FIELDS = {
    "licensee.if_contract_allows": "applicant.contract_allows_enforcement",
    "licensee": "applicant.licence_type",
}


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


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every non-validation error answer."""
    return {"detail": message, "code": code, **extra}


def validation_items(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI validation errors reshaped as `{field, location, rule, message}`."""
    items = []
    # For `Model | None` pydantic reports the failed `None` branch beside the real errors.
    if any(e.get("type") != "none_required" for e in errors):
        errors = [e for e in errors if e.get("type") != "none_required"]
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if not _union_branch_tag(p)]
        location = loc[0] if loc and loc[0] in {"body", "query", "path", "header", "cookie"} else ""
        parts = loc[1:] if location else loc
        field = ".".join(parts) or location or "request"
        rule = err.get("type", "invalid")
        message = f"{field}: {err.get('msg', 'invalid value')}"
        ctx = err.get("ctx") or {}
        if "input" in err and _short_scalar(err["input"]) and rule != "missing":
            message += f", got {err['input']!r}"
        item: dict[str, Any] = {"field": field, "location": location, "rule": rule}
        if ctx:
            item["constraint"] = {k: _jsonable(v) for k, v in ctx.items()}
        item["message"] = message
        items.append(item)
    return items


# Names pydantic puts in an error's location for the branch of a union it tried.
_BRANCH_TYPES = frozenset({"none", "str", "int", "float", "bool", "dict", "list", "tuple", "date",
                           "datetime", "decimal"})


def _union_branch_tag(part: Any) -> bool:
    """Whether a location part is pydantic's union-branch tag (e.g. `function-after[...]`)."""
    text = str(part)
    return isinstance(part, str) and ("[" in text or text in _BRANCH_TYPES)


def _short_scalar(value: Any) -> bool:
    """Whether `value` is small enough to echo back in an error message."""
    if isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and len(value) <= 80


def _jsonable(value: Any) -> Any:
    """Constraint values (numbers, strings, patterns) as JSON scalars."""
    return value if isinstance(value, bool | int | float | str) or value is None else str(value)


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping from every error type to its HTTP answer on `app`."""

    @app.exception_handler(ServiceError)
    def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "APIKey"} if exc.status_code == 401 else None
        if isinstance(exc, InvalidInputError):
            body: dict[str, Any] = {"detail": [{"field": exc.field, "location": "body",
                                                "rule": exc.rule, "message": exc.message}]}
            if isinstance(exc, IneligibleApplicantError):
                body["code"] = exc.code
            return JSONResponse(body, status_code=422)
        if isinstance(exc, ConflictError):
            return JSONResponse(
                error_body(exc.code, exc.message, field=exc.field, rule=exc.rule),
                status_code=409,
            )
        if exc.status_code >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.message)
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(IllegalTransitionError)
    def _illegal_transition(_request: Request, exc: IllegalTransitionError) -> JSONResponse:
        body = error_body(
            "illegal_transition", str(exc), entity=exc.entity, current_state=exc.current,
            attempted=exc.attempted, allowed=exc.allowed,
        )
        return JSONResponse(body, status_code=409)

    @app.exception_handler(SchemaError)
    def _schema_error(_request: Request, exc: SchemaError) -> JSONResponse:
        field = exc.column or exc.table
        body = {"detail": [{"field": field, "location": "body", "rule": exc.rule,
                            "message": str(exc)}]}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(RequestValidationError)
    def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_items(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI answers 400 when it cannot parse a body (bad JSON or form): that is
            # invalid input like any other, so it gets the documented 422 naming the body.
            item = {"field": "body", "location": "body", "rule": "parse",
                    "message": f"body: {exc.detail}"}
            return JSONResponse({"detail": [item]}, status_code=422)
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        log.error(
            "unhandled error %s on %s %s", error_id, request.method, request.url.path,
            exc_info=exc,
        )
        return JSONResponse(
            error_body("internal_error", "internal error; the service logged it",
                       error_id=error_id),
            status_code=500,
        )
