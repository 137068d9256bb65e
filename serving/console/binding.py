"""Bind (投保/承保): the form under a quote or loan assessment, run as `POST /v1/policies` runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from models.policy import Policy, Product
from serving.auth import POLICY_WRITERS, Caller
from serving.console.access import SubmittedForm
from serving.console.actions import (
    IDEMPOTENCY_FIELD,
    ActionOutcome,
    new_idempotency_key,
    run_form_action,
)
from serving.console.forms import FormErrors, split_ids, text_fields
from serving.deps import check_roles
from serving.policies.schemas import BindRequest
from serving.policies.service import PRODUCT_ROLES, Actor, bind_policy
from serving.tables import utc_now

BIND_FIELDS = ("insured.name", "insured.registration_number", "insured.contact", "start_date",
               "referral_reason", "reason")
# The quote id is the page's, not an input: its refusals (expired, already bound) show generally.
KNOWN = {*BIND_FIELDS, "product_classes"}
ALIASES = {"insured": "insured.name"}
BIND_SCOPE = "POST /v1/policies"  # the API route's idempotency scope: a key replays across both


@dataclass(frozen=True)
class BindForm:
    """The bind form of one quote: where it posts, whether the caller may bind, its state."""

    action: str
    product: str
    decision: str | None
    allowed: bool
    values: dict[str, str] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)


def bind_form(caller: Caller, product: Product, decision: str | None, action: str,
              values: dict[str, str] | None = None, errors: FormErrors | None = None) -> BindForm:
    """The bind form for `caller`: shown when its role binds `product` and it is not declined."""
    allowed = caller.has_role(PRODUCT_ROLES[product]) and decision != "decline"
    defaults = {"start_date": utc_now().date().isoformat(),
                IDEMPOTENCY_FIELD: new_idempotency_key()}
    return BindForm(action=action, product=product.value, decision=decision, allowed=allowed,
                    values=values if values is not None else defaults,
                    errors=errors or FormErrors())


def bind_values(form: SubmittedForm) -> dict[str, str]:
    """The bind form's fields as typed, to draw it again with its errors."""
    names = (*BIND_FIELDS, "product_classes", IDEMPOTENCY_FIELD)
    return {n: form.get(n) for n in names}


def bind_submitted(form: SubmittedForm, caller: Caller, session: Session, policy: Policy,
                   quote_id: str) -> ActionOutcome:
    """Bind stored quote `quote_id` with the form's insured, start date and referral reason."""
    check_roles(caller, POLICY_WRITERS)
    payload: dict[str, Any] = text_fields(form.fields, BIND_FIELDS)
    classes = split_ids(form.get("product_classes"))
    if classes:
        payload["product_classes"] = classes
    payload["quote_id"] = quote_id
    actor = Actor(caller, utc_now())
    return run_form_action(
        session, caller, form, BindRequest, payload, BIND_SCOPE,
        lambda req: bind_policy(session, policy, actor, req), KNOWN, status_code=201,
        aliases=ALIASES,
    )
