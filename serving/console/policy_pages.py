"""Policies (保单): the list, a policy's page with its versions, endorsement and cancellation.

Lists and pages are the API's answers (`list_policies`, `policy_body`, `version_body`); the forms
run the API routes' service functions under their idempotency scopes.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from models.policy import Grade, Product
from models.policy.lifecycle import PolicyStatus
from serving.auth import CLAIM_NOTIFIERS, POLICY_WRITERS, Caller, CallerRole
from serving.claims import service as claims
from serving.console.access import ConsoleScoringDep, FormDep, page_caller
from serving.console.actions import (
    IDEMPOTENCY_FIELD,
    ActionOutcome,
    new_idempotency_key,
    run_form_action,
)
from serving.console.forms import FormErrors, split_ids, text_fields
from serving.console.rendering import redirect, render, translator
from serving.deps import SessionDep, check_roles, get_models
from serving.policies.pricing import endorse_repriced
from serving.policies.schemas import CancelRequest, EndorseRequest
from serving.policies.service import (
    PRODUCT_ROLES,
    Actor,
    cancel_policy,
    cancellation_refund,
    get_policy,
    list_policies,
    policy_body,
    version_body,
    versions_of,
)
from serving.routes.policies import PolicyDep
from serving.tables import utc_now

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE_SIZE = 25
PRODUCTS = [p.value for p in Product]
STATUSES = [s.value for s in PolicyStatus]
GRADES = [g.value for g in Grade]
ENDORSE_FIELDS = ("effective_date", "cover_limit", "deductible", "reason")
CANCEL_FIELDS = ("effective_date", "reason")


@router.get("/policies")
def policies_page(
    request: Request,
    caller: Annotated[Caller, Depends(page_caller("policies"))],
    session: SessionDep,
    product: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str, Query(max_length=20)] = "",
    applicant_id: Annotated[str, Query(max_length=128)] = "",
    grade: Annotated[str, Query(max_length=4)] = "",
    year: Annotated[str, Query(max_length=8)] = "",
    start: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Policies newest first by product, status, applicant, grade and policy year.

    A bank starts on its own guarantees (pledge loans); the filter can show every product.
    """
    if product is None:  # first visit: a bank sees its guarantees, the others everything
        product = Product.PLEDGE_LOAN.value if caller.role is CallerRole.bank else ""
    errors = FormErrors()
    if product and product not in PRODUCTS:
        errors.fields["product"] = f"product must be one of {PRODUCTS} [enum]"
    if status and status not in STATUSES:
        errors.fields["status"] = f"status must be one of {STATUSES} [enum]"
    if grade and grade not in GRADES:
        errors.fields["grade"] = f"grade must be one of {GRADES} [enum]"
    policy_year = None
    if year.strip():
        policy_year = int(year) if year.strip().isdigit() else None
        if policy_year is None or not 1900 <= policy_year <= 2200:
            errors.fields["year"] = (f"year must be a whole number between 1900 and 2200, "
                                     f"got {year!r} [range]")
    values = {"product": product, "status": status, "applicant_id": applicant_id.strip(),
              "grade": grade, "year": year.strip()}
    page: dict[str, Any] = {"items": [], "total": 0}
    if not errors:
        page = list_policies(session, utc_now().date(), product=product or None,
                             status=status or None, applicant_id=values["applicant_id"] or None,
                             limit=PAGE_SIZE, offset=start, grade=grade or None,
                             year=policy_year)
        session.rollback()
    kept = [(k, v) for k, v in values.items() if v or k == "product"]
    next_href = ("?" + urlencode([*kept, ("start", start + PAGE_SIZE)])
                 if start + PAGE_SIZE < page["total"] else None)
    t = translator(request)
    return render(request, "policies.html", status_code=422 if errors else 200, errors=errors,
                  values=values, product_options=[(p, t(f"product.{p}")) for p in PRODUCTS],
                  status_options=[(s, t(f"status.{s}")) for s in STATUSES],
                  grade_options=[(g, g) for g in GRADES], items=page["items"],
                  total=page["total"], start=start, next_href=next_href,
                  first_href="?" + urlencode(kept))


def _policy_page(request: Request, caller: Caller, session: SessionDep, policy_id: str,
                 forms: dict[str, dict[str, str]] | None = None,
                 errors: dict[str, FormErrors] | None = None, status_code: int = 200
                 ) -> Response:
    """A policy: status, schedule, premium and subsidy, versions, claims, allowed actions."""
    policy = get_models(request).policy
    head = get_policy(session, policy_id)
    today = utc_now().date()
    body = policy_body(session, head, today)
    versions = versions_of(session, head.id)
    history = [version_body(v, head.currency) for v in versions]
    earliest = max(head.start_date, today)
    refund = None
    if "cancel" in body["allowed_actions"] and head.cancelled_from is None:
        gross, returned = cancellation_refund(head, versions, earliest)
        refund = {"from": earliest, "gross": gross, "subsidy_returned": returned,
                  "to_insured": gross - returned}
    claim_page = (claims.list_claims(session, policy, today, state=None, policy_id=head.id,
                                     product=None, overdue=None, limit=50, offset=0)
                  if policy is not None else {"items": [], "total": 0})
    session.rollback()
    changes = caller.has_role(*POLICY_WRITERS) and caller.has_role(
        PRODUCT_ROLES[Product(head.product)])
    fresh = {IDEMPOTENCY_FIELD: new_idempotency_key(), "effective_date": earliest.isoformat()}
    forms = {"endorse": dict(fresh), "cancel": {**fresh, IDEMPOTENCY_FIELD: new_idempotency_key()},
             **(forms or {})}
    return render(
        request, "policy.html", status_code=status_code, p=body, versions=history,
        refund=refund, claims=claim_page["items"], may_change=changes,
        may_notify=caller.has_role(*CLAIM_NOTIFIERS) and "claim" in body["allowed_actions"],
        forms=forms,
        form_errors={"endorse": FormErrors(), "cancel": FormErrors(), **(errors or {})},
    )


@router.get("/policies/{policy_id}")
def policy_page(
    request: Request,
    policy_id: Annotated[str, Path(max_length=40)],
    caller: Annotated[Caller, Depends(page_caller("policy"))],
    session: SessionDep,
) -> Response:
    """The policy page (by id or number)."""
    return _policy_page(request, caller, session, policy_id)


def _after(request: Request, caller: Caller, session: SessionDep, policy_id: str, name: str,
           form: FormDep, fields: tuple[str, ...], outcome: ActionOutcome) -> Response:
    """Open the changed policy, or draw its page again with the form's errors."""
    if outcome.body is not None:
        return redirect(request, f"/console/policies/{outcome.body['id']}")
    values = {n: form.get(n) for n in (*fields, IDEMPOTENCY_FIELD, "add_patents")}
    return _policy_page(request, caller, session, policy_id, {name: values},
                        {name: outcome.errors}, outcome.status_code)


@router.post("/policies/{policy_id}/endorsement")
def endorse_submit(
    request: Request,
    policy_id: Annotated[str, Path(max_length=40)],
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("policy"))],
    scoring: ConsoleScoringDep,
    policy: PolicyDep,
) -> Response:
    """Endorse (批改) as `POST /v1/policies/{id}/endorsements`: re-priced by the same models."""
    check_roles(caller, POLICY_WRITERS)
    head_id = get_policy(scoring.session, policy_id).id
    payload: dict[str, Any] = text_fields(form.fields, ENDORSE_FIELDS)
    patents = split_ids(form.get("add_patents"))
    if patents:
        payload["add_patents"] = patents
    actor = Actor(caller, utc_now())
    ctx = scoring.context(caller)
    outcome = run_form_action(
        scoring.session, caller, form, EndorseRequest, payload,
        f"POST /v1/policies/{head_id}/endorsements",
        lambda req: endorse_repriced(scoring.session, policy, ctx, actor, head_id, req),
        {*ENDORSE_FIELDS, "add_patents", "policy_version"}, status_code=201,
    )
    return _after(request, caller, scoring.session, head_id, "endorse", form, ENDORSE_FIELDS,
                  outcome)


@router.post("/policies/{policy_id}/cancellation")
def cancel_submit(
    request: Request,
    policy_id: Annotated[str, Path(max_length=40)],
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("policy"))],
    session: SessionDep,
) -> Response:
    """Cancel (退保) as `POST /v1/policies/{id}/cancellation`: unearned premium refunded."""
    check_roles(caller, POLICY_WRITERS)
    head_id = get_policy(session, policy_id).id
    actor = Actor(caller, utc_now())
    outcome = run_form_action(
        session, caller, form, CancelRequest, text_fields(form.fields, CANCEL_FIELDS),
        f"POST /v1/policies/{head_id}/cancellation",
        lambda req: cancel_policy(session, actor, head_id, req), CANCEL_FIELDS, status_code=201,
    )
    return _after(request, caller, session, head_id, "cancel", form, CANCEL_FIELDS, outcome)

