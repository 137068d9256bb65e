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
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DisconnectionError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from features.schema import SchemaError
from models.policy import IneligibleError, QuoteInputError
from models.policy.errors import IllegalTransitionError
from serving.logs import REQUEST_ID_HEADER, current_request_id

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error the service answers with `status_code` and a machine-readable `code`."""

    status_code = 500
    code = "service_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the body (none by default)."""
        return {}


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


class RateLimitedError(ServiceError):
    """The caller's key sent more requests than its rate limit allows (429, `Retry-After`)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, key_id: str, per_minute: int, retry_after: int) -> None:
        super().__init__(
            f"key {key_id!r} passed its rate limit of {per_minute} requests per minute "
            f"(rate_limit_per_minute); retry after {retry_after} s"
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """`Retry-After` in whole seconds."""
        return {"Retry-After": str(self.retry_after)}


class CurrencyMismatchError(ConflictError):
    """The dataset's amounts are in another currency than the policy prices in (409)."""

    code = "currency_mismatch"

    def __init__(self, dataset_currency: str, policy_currency: str, policy_version: str) -> None:
        super().__init__(
            "currency", "currency_mismatch",
            f"the active dataset's amounts are in {dataset_currency} (dataset.json currency) but "
            f"policy {policy_version} prices in {policy_currency} and gives no exchange rate for "
            f"{dataset_currency} (exchange_rates in the policy file); add one, or serve a "
            f"policy in {dataset_currency} or a dataset in {policy_currency}"
        )


class UnavailableError(ServiceError):
    """A component the request needs is not available right now (503, `Retry-After`)."""

    status_code = 503
    code = "unavailable"
    retry_after = 5

    def headers(self) -> dict[str, str]:
        """`Retry-After`: when trying again is worth it, in seconds."""
        return {"Retry-After": str(self.retry_after)}


class DatabaseUnavailableError(UnavailableError):
    """The assessment store does not answer; nothing was answered without its record (503)."""

    code = "database_unavailable"


class ModelReloadError(UnavailableError):
    """A reload found champions it could not load; the previous models stay in service (503)."""

    code = "model_reload_failed"

    def __init__(self, failures: Mapping[str, str]) -> None:
        named = "; ".join(f"{task}: {reason}" for task, reason in sorted(failures.items()))
        super().__init__(
            f"model reload failed for task(s) {', '.join(sorted(failures))} ({named}); "
            "the previous models stay in service"
        )
        self.failures = dict(failures)


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
    """The JSON body of every non-validation error answer, with the request's id."""
    return {"detail": message, "code": code, **extra, "request_id": current_request_id()}


def _field_errors(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The JSON body of a 422 answer: its field errors and the request's id."""
    return {"detail": items, **extra, "request_id": current_request_id()}


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
        headers = exc.headers()
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "APIKey"
        if isinstance(exc, InvalidInputError):
            item = {"field": exc.field, "location": "body", "rule": exc.rule,
                    "message": exc.message}
            extra = {"code": exc.code} if isinstance(exc, IneligibleApplicantError) else {}
            return JSONResponse(_field_errors([item], **extra), status_code=422)
        if isinstance(exc, ConflictError):
            return JSONResponse(
                error_body(exc.code, exc.message, field=exc.field, rule=exc.rule),
                status_code=409, headers=headers,
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

    @app.exception_handler(OperationalError)
    @app.exception_handler(DisconnectionError)
    def _database_down(request: Request, exc: Exception) -> JSONResponse:
        # The store is down or the connection dropped: nothing was answered without its record,
        # and the pool's pre-ping reconnects by itself once the database is back.
        log.warning("%s %s: database unavailable: %s", request.method, request.url.path,
                    str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__)
        return _service_error(request, DatabaseUnavailableError(
            "the assessment store is not reachable; no answer is given without its record, "
            "try again shortly"
        ))

    @app.exception_handler(SchemaError)
    def _schema_error(_request: Request, exc: SchemaError) -> JSONResponse:
        field = exc.column or exc.table
        item = {"field": field, "location": "body", "rule": exc.rule, "message": str(exc)}
        return JSONResponse(_field_errors([item]), status_code=422)

    @app.exception_handler(RequestValidationError)
    def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_field_errors(validation_items(exc.errors())), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI answers 400 when it cannot parse a body (bad JSON or form): that is
            # invalid input like any other, so it gets the documented 422 naming the body.
            item = {"field": "body", "location": "body", "rule": "parse",
                    "message": f"body: {exc.detail}"}
            return JSONResponse(_field_errors([item]), status_code=422)
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
        # This answer is sent outside the request-id middleware, so it adds the header itself.
        return JSONResponse(
            error_body("internal_error", "internal error; the service logged it",
                       error_id=error_id),
            status_code=500, headers={REQUEST_ID_HEADER: current_request_id()},
        )
