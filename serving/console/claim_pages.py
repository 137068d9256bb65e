"""Claims (理赔): the list, the notice form, and a claim's page with only its allowed next steps.

The page is the API's claim body (`claim_body`): state, timeline, reserve, ledger and the
Insurance Law Art. 23 deadlines. Its forms are the claim's `allowed_actions` for a caller whose
role the API admits to them, and each posts to the service function the API route calls, under
the route's idempotency scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from models.policy import Policy, Product
from models.policy.circumstances import ReferencedSuit
from models.policy.lifecycle import ClaimState
from serving.auth import CLAIM_HANDLERS, CLAIM_NOTIFIERS, Caller
from serving.claims import service
from serving.claims.cases import notice_suit
from serving.claims.estimates import assess_with_models
from serving.claims.ledger import balances, claim_entries
from serving.claims.schemas import (
    AdvanceRequest,
    AssessRequest,
    DecideRequest,
    NotifyRequest,
    PaymentRequest,
    ReasonRequest,
    RecoveryRequest,
    RegisterRequest,
    ReserveRequest,
    SaleRequest,
)
from serving.console.access import ConsoleScoring, ConsoleScoringDep, FormDep, page_caller
from serving.console.actions import (
    IDEMPOTENCY_FIELD,
    ActionOutcome,
    new_idempotency_key,
    run_form_action,
)
from serving.console.forms import (
    FormErrors,
    nested,
    service_errors,
    split_ids,
    text_fields,
    validation_errors,
)
from serving.console.rendering import redirect, render, translator
from serving.deps import SessionDep, check_roles, get_dataset
from serving.errors import NotFoundError, ServiceError
from serving.policies.service import Actor, current_version, get_policy, schedule_from
from serving.routes.policies import PolicyDep
from serving.tables import utc_now

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE_SIZE = 25
STATES = [s.value for s in ClaimState]
PRODUCTS = [p.value for p in Product]
NOTICE_FIELDS = ("policy_id", "incident_date", "filed_date", "counterparty", "court_or_agency",
                 "case_id", "product_class", "loss_kind", "outstanding_amount", "description")
RECOVERY_SOURCES = ("subrogation", "salvage", "winner_repayment", "other")


@router.get("/claims")
def claims_page(
    request: Request,
    _caller: Annotated[Caller, Depends(page_caller("claims"))],
    session: SessionDep,
    policy: PolicyDep,
    state: Annotated[str, Query(max_length=24)] = "",
    overdue: Annotated[str, Query(max_length=5)] = "",
    product: Annotated[str, Query(max_length=20)] = "",
    policy_id: Annotated[str, Query(max_length=40)] = "",
    start: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Claims newest first by state, deadline flag, product and policy."""
    errors = FormErrors()
    if state and state not in STATES:
        errors.fields["state"] = f"state must be one of {STATES} [enum]"
    if overdue and overdue not in ("true", "false"):
        errors.fields["overdue"] = "overdue must be one of ['true', 'false'] [enum]"
    if product and product not in PRODUCTS:
        errors.fields["product"] = f"product must be one of {PRODUCTS} [enum]"
    values = {"state": state, "overdue": overdue, "product": product,
              "policy_id": policy_id.strip()}
    page: dict[str, Any] = {"items": [], "total": 0}
    if not errors:
        page = service.list_claims(
            session, policy, utc_now().date(), state=state or None,
            policy_id=values["policy_id"] or None, product=product or None,
            overdue=None if not overdue else overdue == "true", limit=PAGE_SIZE, offset=start)
        session.rollback()
    kept = [(k, v) for k, v in values.items() if v]
    next_href = ("?" + urlencode([*kept, ("start", start + PAGE_SIZE)])
                 if start + PAGE_SIZE < page["total"] else None)
    t = translator(request)
    return render(
        request, "claims.html", status_code=422 if errors else 200, errors=errors, values=values,
        state_options=[(s, t(f"state.{s}")) for s in STATES],
        product_options=[(p, t(f"product.{p}")) for p in PRODUCTS],
        overdue_options=[("true", t("yes")), ("false", t("no"))], items=page["items"],
        total=page["total"], start=start, next_href=next_href, first_href="?" + urlencode(kept),
    )


def _notice_page(request: Request, session: SessionDep, values: dict[str, str],
                 errors: FormErrors, status_code: int = 200) -> Response:
    """The notice form; the policy's kinds of loss give its claimed-amount inputs."""
    head = None
    kinds: list[str] = []
    if values.get("policy_id"):
        try:
            head = get_policy(session, values["policy_id"])
        except NotFoundError:
            errors.fields.setdefault("policy_id", f"policy {values['policy_id']!r} not found "
                                     "[not_found]")
        else:
            kinds = sorted(schedule_from(current_version(session, head), head.currency)
                           .sub_limits)
    session.rollback()
    return render(request, "claim_new.html", status_code=status_code, values=values,
                  errors=errors, head=head, kinds=kinds)


@router.get("/claims/new")
def notice_form(
    request: Request,
    _caller: Annotated[Caller, Depends(page_caller("claim_notice"))],
    session: SessionDep,
    policy_id: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Report a claim (报案) on a policy."""
    today = utc_now().date().isoformat()
    values = {"policy_id": policy_id, "incident_date": today, "filed_date": today,
              IDEMPOTENCY_FIELD: new_idempotency_key()}
    return _notice_page(request, session, values, FormErrors())


@router.post("/claims/new")
def notice_submit(
    request: Request,
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("claim_notice"))],
    session: SessionDep,
    policy: PolicyDep,
) -> Response:
    """Notify the claim as `POST /v1/claims` does, then open it."""
    check_roles(caller, CLAIM_NOTIFIERS)
    payload: dict[str, Any] = text_fields(form.fields, NOTICE_FIELDS)
    patents = split_ids(form.get("patent_ids"))
    if patents:
        payload["patent_ids"] = patents
    claimed = {name: form.get(name) for name in form.fields
               if name.startswith("claimed.") and form.get(name)}
    payload.update(claimed)
    actor = Actor(caller, utc_now())
    known = {*NOTICE_FIELDS, "patent_ids", "claimed", *claimed,
             *(n for n in form.fields if n.startswith("claimed."))}
    outcome = run_form_action(
        session, caller, form, NotifyRequest, payload, "POST /v1/claims",
        lambda req: service.notify_claim(session, policy, actor, req,
                                         case=_notice_suit(request, req.case_id)),
        known, status_code=201,
        id_field="policy_id", aliases={f"patent_ids[{i}]": "patent_ids" for i in range(50)},
    )
    if outcome.body is not None:
        return redirect(request, f"/console/claims/{outcome.body['id']}")
    values = {name: form.get(name) for name in form.fields}
    return _notice_page(request, session, values, outcome.errors, outcome.status_code)


def _notice_suit(request: Request, case_id: str | None) -> ReferencedSuit | None:
    """The suit the notice names, looked up as `POST /v1/claims` does (None when none named)."""
    return notice_suit(get_dataset(request), case_id) if case_id is not None else None


@dataclass(frozen=True)
class ClaimStep:
    """One next step of a claim as a form: the API's action, request, path and inputs."""

    action: str  # the name in `models.policy.lifecycle.CLAIM_ACTIONS`
    path: str  # the API route's path after /v1/claims/{id}/
    model: type[BaseModel]
    fields: tuple[str, ...]
    run: Callable[[StepContext, Any], dict[str, Any]]
    status_code: int = 200
    keyed: bool = True  # the API route takes an Idempotency-Key


@dataclass(frozen=True)
class StepContext:
    """What a claim step runs with: the request's store and models, the actor, the claim."""

    scoring: ConsoleScoring
    policy: Policy
    actor: Actor
    claim_id: str
    entry_id: str | None = None


STEPS: dict[str, ClaimStep] = {step.path: step for step in (
    ClaimStep("register", "registration", RegisterRequest, ("documents_complete_on", "reason"),
              lambda c, r: service.register_claim(c.scoring.session, c.policy, c.actor,
                                                  c.claim_id, r), keyed=False),
    ClaimStep("assess", "assessment", AssessRequest, ("reason",),
              lambda c, r: assess_with_models(c.scoring.session, c.policy,
                                              c.scoring.context(c.actor.caller), c.actor,
                                              c.claim_id, r)),
    ClaimStep("revise_reserve", "reserve", ReserveRequest, ("amount", "reason"),
              lambda c, r: service.revise_reserve(c.scoring.session, c.policy, c.actor,
                                                  c.claim_id, r)),
    ClaimStep("record_sale", "sale", SaleRequest,
              ("proceeds", "disposal_costs", "sold_on", "reason"),
              lambda c, r: service.record_sale(c.scoring.session, c.policy, c.actor,
                                               c.claim_id, r)),
    ClaimStep("decide", "decision", DecideRequest, ("outstanding_amount", "reason"),
              lambda c, r: service.decide_claim(c.scoring.session, c.policy, c.actor,
                                                c.claim_id, r)),
    ClaimStep("pay_advance", "advances", AdvanceRequest, ("amount", "loss_kind", "reason"),
              lambda c, r: service.pay_advance(c.scoring.session, c.policy, c.actor, c.claim_id,
                                               r), status_code=201),
    ClaimStep("pay", "payments", PaymentRequest, ("amount", "loss_kind", "reason"),
              lambda c, r: service.pay_claim(c.scoring.session, c.policy, c.actor, c.claim_id,
                                             r), status_code=201),
    ClaimStep("record_recovery", "recoveries", RecoveryRequest, ("amount", "source", "reason"),
              lambda c, r: service.record_recovery(c.scoring.session, c.policy, c.actor,
                                                   c.claim_id, r), status_code=201),
    ClaimStep("close", "closure", ReasonRequest, ("reason",),
              lambda c, r: service.close_claim(c.scoring.session, c.policy, c.actor,
                                               c.claim_id, r.reason)),
    ClaimStep("reopen", "reopening", ReasonRequest, ("reason",),
              lambda c, r: service.reopen_claim(c.scoring.session, c.policy, c.actor,
                                                c.claim_id, r.reason), keyed=False),
)}
# Steps on one payment (`payments/{entry_id}/...`).
ENTRY_STEPS: dict[str, ClaimStep] = {step.path: step for step in (
    ClaimStep("approve_payment", "approval", ReasonRequest, ("reason",),
              lambda c, r: service.approve_payment(c.scoring.session, c.policy, c.actor,
                                                   c.claim_id, str(c.entry_id), r.reason)),
    ClaimStep("reverse_payment", "reversal", ReasonRequest, ("reason",),
              lambda c, r: service.reverse_payment(c.scoring.session, c.policy, c.actor,
                                                   c.claim_id, str(c.entry_id), r.reason)),
)}
# Steps on one advance before the decision (`advances/{entry_id}/...`); once the claim is decided
# an advance is approved or reversed as a payment.
ADVANCE_STEPS: dict[str, ClaimStep] = {step.path: step for step in (
    ClaimStep("approve_advance", "approval", ReasonRequest, ("reason",),
              lambda c, r: service.approve_payment(c.scoring.session, c.policy, c.actor,
                                                   c.claim_id, str(c.entry_id), r.reason,
                                                   only_advances=True)),
    ClaimStep("reverse_advance", "reversal", ReasonRequest, ("reason",),
              lambda c, r: service.reverse_payment(c.scoring.session, c.policy, c.actor,
                                                   c.claim_id, str(c.entry_id), r.reason,
                                                   only_advances=True)),
)}
ENTRY_ROUTES = {"payments": ENTRY_STEPS, "advances": ADVANCE_STEPS}
ADVANCE = "advance_payment"  # the ledger kind of an advance (`serving.claims.ledger.EntryKind`)


def _forms_of(claim: dict[str, Any], caller: Caller) -> list[str]:
    """The step forms the page shows: the allowed actions, for a role the API admits to them."""
    if not caller.has_role(*CLAIM_HANDLERS):
        return []
    allowed = set(claim["allowed_actions"])
    shown = [s.path for s in STEPS.values() if s.action in allowed]
    if claim["product"] != Product.PLEDGE_LOAN.value and "sale" in shown:
        shown.remove("sale")  # the service refuses a sale on insurance claims
    if claim["product"] == Product.PLEDGE_LOAN.value and "advances" in shown:
        shown.remove("advances")  # a pledge-loan loss is fixed by the sale: no advances
    return shown


@dataclass(frozen=True)
class AdvanceView:
    """The advance limit shown on the form: by kind, determined, payable, advanced, left."""

    rows: list[tuple[str, Decimal | None, Decimal | None, Decimal | None, Decimal | None]]
    total: Decimal
    typed: bool  # worked out from the amounts typed in the form (else the stored determination)


def _advance_view(session: Session, claim_id: str, determined: dict[str, Decimal] | None,
                  typed: bool) -> AdvanceView | None:
    """The limit `pay_advance` applies now (its own rule function); None when none is known."""
    try:
        given, limit = service.preview_advance(session, claim_id, determined)
    except ServiceError:
        return None
    kinds = sorted(set(given) | set(limit.advanced))
    rows = [(k, given.get(k), limit.determined.by_kind.get(k), limit.advanced.get(k),
             limit.advanceable.get(k)) for k in kinds]
    return AdvanceView(rows, limit.total, typed)


def _claim_page(request: Request, caller: Caller, scoring: ConsoleScoring, policy: Policy,
                claim_id: str, values: dict[str, dict[str, str]] | None = None,
                errors: dict[str, FormErrors] | None = None, status_code: int = 200,
                advance: AdvanceView | None = None) -> Response:
    """A claim: state, deadlines, money, timeline, ledger, and its allowed next steps."""
    session = scoring.session
    record = service.get_claim(session, claim_id)
    claim = service.claim_body(session, record, policy, utc_now().date())
    effective = balances(claim_entries(session, record.id), record.currency).effective_payment_ids
    session.rollback()
    shown = _forms_of(claim, caller)
    handler = caller.has_role(*CLAIM_HANDLERS)
    approvable = handler and "approve_payment" in claim["allowed_actions"]
    reversible = handler and "reverse_payment" in claim["allowed_actions"]
    pending = [e for e in claim["ledger"]
               if approvable and e["id"] in claim["pending_payments"]]
    payments = [e for e in claim["ledger"] if reversible and e["id"] in effective]
    # Under assessment the advances are approved and reversed by their own routes.
    allowed = claim["allowed_actions"]
    pending_advances = [e for e in claim["ledger"] if handler and "approve_advance" in allowed
                        and e["kind"] == ADVANCE and e["id"] in claim["pending_payments"]]
    advances = [e for e in claim["ledger"] if handler and "reverse_advance" in allowed
                and e["kind"] == ADVANCE and e["id"] in effective]
    names = [*shown, *(f"approval-{e['id']}" for e in pending),
             *(f"reversal-{e['id']}" for e in payments),
             *(f"advance-approval-{e['id']}" for e in pending_advances),
             *(f"advance-reversal-{e['id']}" for e in advances)]
    if advance is None and "advances" in shown:
        advance = _advance_view(session, record.id, None, typed=False)
    forms = {name: {IDEMPOTENCY_FIELD: new_idempotency_key()} for name in names}
    forms.update(values or {})
    form_errors = {name: FormErrors() for name in names}
    # A step that is not (or no longer) offered still shows why it was refused, at the top.
    stray = FormErrors()
    for name, found in (errors or {}).items():
        if name in form_errors:
            form_errors[name] = found
        else:
            stray.general.extend([*found.general, *found.fields.values()])
    head = get_policy(session, record.policy_id)
    cover_kinds = sorted(schedule_from(current_version(session, head), head.currency).sub_limits)
    session.rollback()
    t = translator(request)
    return render(
        request, "claim.html", status_code=status_code, c=claim, shown=shown, pending=pending,
        stray=stray,
        payments=payments, handler=handler, forms=forms, form_errors=form_errors,
        approvable=approvable, reversible=reversible, pending_advances=pending_advances,
        advances=advances, advance=advance,
        determined=((claim["assessment"] or {}).get("advances") or {}).get("determined", {}),
        cover_kinds=cover_kinds, kind_options=[(k, t(f"loss.{k}")) for k in cover_kinds],
        agreed_kinds=sorted((claim["payable"] or {}).get("by_kind", {})),
        recovery_sources=RECOVERY_SOURCES, me=caller.key_id, rules=policy.claims,
    )


@router.get("/claims/{claim_id}")
def claim_page(
    request: Request,
    claim_id: Annotated[str, Path(max_length=40)],
    caller: Annotated[Caller, Depends(page_caller("claim"))],
    scoring: ConsoleScoringDep,
    policy: PolicyDep,
) -> Response:
    """The claim page (by id or number)."""
    return _claim_page(request, caller, scoring, policy, claim_id)


def _run_step(request: Request, form: FormDep, caller: Caller, scoring: ConsoleScoring,
              policy: Policy, claim_id: str, step: ClaimStep, form_name: str, scope: str,
              entry_id: str | None = None) -> Response:
    """Run one step as its API route does; back to the claim, with the errors on its form."""
    check_roles(caller, CLAIM_HANDLERS)
    claim = service.get_claim(scoring.session, claim_id)
    payload: dict[str, Any] = text_fields(form.fields, step.fields)
    assessed = {n: form.get(n) for n in form.fields if n.startswith("assessed.") and form.get(n)}
    determined = {n: form.get(n) for n in form.fields
                  if n.startswith("determined.") and form.get(n)}
    if step.path == "decision":
        payload.update(assessed)
    if step.path == "advances" and entry_id is None:
        payload.update(determined)
    ctx = StepContext(scoring, policy, Actor(caller, utc_now()), claim.id, entry_id)
    known = {*step.fields, "assessed", *assessed, "determined", *determined, "currency"}
    if step.path == "advances" and entry_id is None and form.get("preview"):
        return _advance_preview(request, form, caller, scoring, policy, claim.id, payload,
                                known)
    outcome: ActionOutcome = run_form_action(
        scoring.session, caller, form, step.model, payload,
        scope if step.keyed else None, lambda req: step.run(ctx, req), known,
        status_code=step.status_code,
    )
    if outcome.body is not None:
        return redirect(request, f"/console/claims/{claim.id}")
    values = {n: form.get(n) for n in form.fields}
    return _claim_page(request, caller, scoring, policy, claim.id, {form_name: values},
                       {form_name: outcome.errors}, outcome.status_code)


def _advance_preview(request: Request, form: FormDep, caller: Caller,
                     scoring: ConsoleScoring, policy: Policy, claim_id: str,
                     payload: dict[str, Any], known: set[str]) -> Response:
    """The advance form again with the limit its typed determination gives; nothing is paid."""
    errors = FormErrors()
    view = None
    try:
        req = AdvanceRequest.model_validate(nested(payload))
    except ValidationError as exc:
        errors = validation_errors(exc, known)
    else:
        try:
            service.preview_advance(scoring.session, claim_id, req.determined, req.currency)
        except ServiceError as exc:
            errors = service_errors(exc, known)
        else:
            view = _advance_view(scoring.session, claim_id, req.determined, typed=True)
    scoring.session.rollback()
    values = {n: form.get(n) for n in form.fields if n != "preview"}
    return _claim_page(request, caller, scoring, policy, claim_id, {"advances": values},
                       {"advances": errors}, 422 if errors else 200, advance=view)


@router.post("/claims/{claim_id}/{kind}/{entry_id}/{step}")
def claim_entry_step(
    request: Request,
    claim_id: Annotated[str, Path(max_length=40)],
    kind: Annotated[str, Path(max_length=20)],
    entry_id: Annotated[str, Path(max_length=40)],
    step: Annotated[str, Path(max_length=20)],
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("claim"))],
    scoring: ConsoleScoringDep,
    policy: PolicyDep,
) -> Response:
    """Approve (second adjuster) or reverse one payment or advance."""
    steps = ENTRY_ROUTES.get(kind)
    chosen = steps.get(step) if steps is not None else None
    if steps is None or chosen is None:
        raise NotFoundError(f"no claim step {kind}/{{entry_id}}/{step!r}; known: "
                            f"{sorted(f'{k}/{s}' for k, v in ENTRY_ROUTES.items() for s in v)}")
    claim = service.get_claim(scoring.session, claim_id)
    name = f"{step}-{entry_id}" if kind == "payments" else f"advance-{step}-{entry_id}"
    return _run_step(request, form, caller, scoring, policy, claim.id, chosen, name,
                     f"POST /v1/claims/{claim.id}/{kind}/{entry_id}/{step}", entry_id)


@router.post("/claims/{claim_id}/{step}")
def claim_step(
    request: Request,
    claim_id: Annotated[str, Path(max_length=40)],
    step: Annotated[str, Path(max_length=20)],
    form: FormDep,
    caller: Annotated[Caller, Depends(page_caller("claim"))],
    scoring: ConsoleScoringDep,
    policy: PolicyDep,
) -> Response:
    """Run one next step of the claim (registration, assessment, reserve, decision, ...)."""
    chosen = STEPS.get(step)
    if chosen is None:
        raise NotFoundError(f"no claim step {step!r}; known: {sorted(STEPS)}")
    claim = service.get_claim(scoring.session, claim_id)
    return _run_step(request, form, caller, scoring, policy, claim.id, chosen, step,
                     f"POST /v1/claims/{claim.id}/{step}")

