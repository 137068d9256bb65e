"""Bind (投保/承保): the form under a quote or loan assessment, run as `POST /v1/policies` runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from models.policy import Policy, Product
from models.policy.circumstances import CircumstanceKind
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
KNOWN = {*BIND_FIELDS, "product_classes", "known_circumstances"}
ALIASES = {"insured": "insured.name"}
BIND_SCOPE = "POST /v1/policies"  # the API route's idempotency scope: a key replays across both
# A declared circumstance's inputs: `known_circumstances.{row}.{field}`, as the API's field names.
CIRCUMSTANCE_FIELDS = ("kind", "counterparty", "patent_ids", "date", "description")
CIRCUMSTANCE_KINDS = tuple(k.value for k in CircumstanceKind)
ROWS_FIELD = "circumstance_rows"  # how many rows the form drew
ADD_ROW = "add_circumstance"  # the button that draws one more row instead of binding
MAX_ROWS = 50  # the API's `known_circumstances` max_length


@dataclass(frozen=True)
class BindForm:
    """The bind form of one quote: where it posts, whether the caller may bind, its state."""

    action: str
    product: str
    decision: str | None
    allowed: bool
    values: dict[str, str] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)

    @property
    def circumstance_rows(self) -> int:
        """How many known-circumstance rows to draw (at least one)."""
        return max(1, min(MAX_ROWS, int(self.values.get(ROWS_FIELD) or 1)))

    @property
    def circumstance_kinds(self) -> tuple[str, ...]:
        """The kinds of circumstance the API takes."""
        return CIRCUMSTANCE_KINDS

    @property
    def declares_circumstances(self) -> bool:
        """Whether the product takes known circumstances (enforcement and liability cover)."""
        return self.product != Product.PLEDGE_LOAN.value


def bind_form(caller: Caller, product: Product, decision: str | None, action: str,
              values: dict[str, str] | None = None, errors: FormErrors | None = None) -> BindForm:
    """The bind form for `caller`: shown when its role binds `product` and it is not declined."""
    allowed = caller.has_role(PRODUCT_ROLES[product]) and decision != "decline"
    defaults = {"start_date": utc_now().date().isoformat(),
                IDEMPOTENCY_FIELD: new_idempotency_key()}
    return BindForm(action=action, product=product.value, decision=decision, allowed=allowed,
                    values=values if values is not None else defaults,
                    errors=errors or FormErrors())


def _rows(form: SubmittedForm) -> int:
    """The number of known-circumstance rows the submitted form had."""
    typed = form.get(ROWS_FIELD)
    return max(1, min(MAX_ROWS, int(typed) if typed.isdigit() else 1))


def bind_values(form: SubmittedForm) -> dict[str, str]:
    """The bind form's fields as typed, to draw it again with its errors (or one more row)."""
    rows = _rows(form)
    names = (*BIND_FIELDS, "product_classes", IDEMPOTENCY_FIELD,
             *(f"known_circumstances.{i}.{f}" for i in range(rows) for f in CIRCUMSTANCE_FIELDS))
    values = {n: form.get(n) for n in names}
    values[ROWS_FIELD] = str(min(MAX_ROWS, rows + 1) if form.get(ADD_ROW) else rows)
    return values


def circumstances_typed(form: SubmittedForm) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The filled known-circumstance rows as the API takes them, and where their errors go.

    Empty rows are left out, so the API's index of a row can differ from the form's: the aliases
    move the API's field names (`known_circumstances.0.date`, `known_circumstances[0].date`)
    onto the form row's inputs.
    """
    out: list[dict[str, Any]] = []
    aliases: dict[str, str] = {}
    for row in range(_rows(form)):
        typed = {f: form.get(f"known_circumstances.{row}.{f}").strip()
                 for f in CIRCUMSTANCE_FIELDS}
        if not any(typed.values()):
            continue
        item: dict[str, Any] = {f: v for f, v in typed.items() if v and f != "patent_ids"}
        item["patent_ids"] = split_ids(typed["patent_ids"])
        index = len(out)
        out.append(item)
        target = f"known_circumstances.{row}"
        for name in (f"known_circumstances.{index}", f"known_circumstances[{index}]"):
            aliases[name] = f"{target}.kind"
            for f in CIRCUMSTANCE_FIELDS:
                aliases[f"{name}.{f}"] = f"{target}.{f}"
            for i in range(MAX_ROWS):
                aliases[f"{name}.patent_ids.{i}"] = f"{target}.patent_ids"
    return out, aliases


def bind_submitted(form: SubmittedForm, caller: Caller, session: Session, policy: Policy,
                   quote_id: str) -> ActionOutcome:
    """Bind stored quote `quote_id` with the form's insured, start date and referral reason."""
    check_roles(caller, POLICY_WRITERS)
    if form.get(ADD_ROW):
        return ActionOutcome(None)  # only one more row is drawn; nothing is bound
    payload: dict[str, Any] = text_fields(form.fields, BIND_FIELDS)
    classes = split_ids(form.get("product_classes"))
    if classes:
        payload["product_classes"] = classes
    circumstances, row_aliases = circumstances_typed(form)
    if circumstances:
        payload["known_circumstances"] = circumstances
    payload["quote_id"] = quote_id
    actor = Actor(caller, utc_now())
    known = {*KNOWN, *(f"known_circumstances.{i}.{f}" for i in range(_rows(form))
                       for f in CIRCUMSTANCE_FIELDS)}
    return run_form_action(
        session, caller, form, BindRequest, payload, BIND_SCOPE,
        lambda req: bind_policy(session, policy, actor, req), known, status_code=201,
        aliases={**ALIASES, **row_aliases},
    )
