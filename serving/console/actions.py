"""Policy and claim actions from console forms, run exactly as their API routes run them.

A form posts the fields of the API's request body (same names, dotted for nested ones) and a
hidden idempotency key drawn with the form. The action runs through `run_once` under the API
route's scope, so a double submit (or a retry after a lost answer) replays the first answer
instead of binding or paying twice. Refusals come back as messages on the fields they name,
with the rule, as the API's 422 and 409 answers name them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from models.policy.errors import IllegalTransitionError
from serving.auth import Caller
from serving.console.access import SubmittedForm
from serving.console.forms import FormErrors, nested, service_errors, validation_errors, with_rule
from serving.errors import NotFoundError, ServiceError
from serving.idempotency import run_once

IDEMPOTENCY_FIELD = "idempotency_key"
RequestT = TypeVar("RequestT", bound=BaseModel)


def new_idempotency_key() -> str:
    """A fresh key for one drawn form (its double submit replays, it does not act twice)."""
    return f"console-{uuid.uuid4().hex}"


@dataclass
class ActionOutcome:
    """What a form action gave: the API's answer body, or the errors and their status code."""

    body: dict[str, Any] | None
    errors: FormErrors = field(default_factory=FormErrors)
    status_code: int = 200


def run_form_action(
    session: Session,
    caller: Caller,
    form: SubmittedForm,
    model: type[RequestT],
    payload: Mapping[str, Any],
    scope: str | None,
    action: Callable[[RequestT], dict[str, Any]],
    known: Iterable[str],
    status_code: int = 200,
    id_field: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> ActionOutcome:
    """Validate `payload` as the API's `model` and run `action` as one transaction.

    `scope` is the API route's idempotency scope (`POST /v1/claims/{id}/payments`); None for
    the actions the API runs without a key (registration, reopening). Unknown ids are shown on
    `id_field` when given; 401/403/404 otherwise, and 5xx, reach the console's error pages.
    `aliases` moves errors about a whole object (`insured`) onto the input that fills it.
    """
    known = set(known)
    try:
        req = model.model_validate(nested(payload))
    except ValidationError as exc:
        return ActionOutcome(None, validation_errors(exc, known, aliases), 422)
    key = (form.get(IDEMPOTENCY_FIELD) or None) if scope else None
    try:
        _status, body = run_once(
            session, caller, key, scope or "", req.model_dump(mode="json") if scope else None,
            lambda: action(req), status_code)
    except IllegalTransitionError as exc:
        errors = FormErrors()
        errors.general.append(with_rule(str(exc), "illegal_transition"))
        return ActionOutcome(None, errors, 409)
    except ServiceError as exc:
        passes = exc.status_code >= 500 or exc.status_code in (401, 403) or (
            isinstance(exc, NotFoundError) and id_field is None)
        if passes:
            raise
        return ActionOutcome(None, service_errors(exc, known, id_field, aliases), exc.status_code)
    out: dict[str, Any] = body
    return ActionOutcome(out)
