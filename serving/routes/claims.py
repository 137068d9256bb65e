"""Claims (理赔): notice, registration, assessment, reserve, decision, payments, closure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from models.policy import Product
from models.policy.lifecycle import ClaimState
from serving.auth import CLAIM_HANDLERS, CLAIM_NOTIFIERS, CLAIM_READERS, Caller
from serving.claims import service
from serving.claims.cases import notice_suit
from serving.claims.estimates import assess_with_models
from serving.claims.schemas import (
    AdvanceRequest,
    AssessRequest,
    ClaimOut,
    ClaimPage,
    DecideRequest,
    NotifyRequest,
    PaymentRequest,
    ReasonRequest,
    RecoveryRequest,
    RegisterRequest,
    ReserveRequest,
    SaleRequest,
)
from serving.deps import PageLimit, PageOffset, SessionDep, active_dataset, require_roles
from serving.idempotency import IdempotencyKey, run_once
from serving.policies.service import Actor
from serving.routes.policies import PolicyDep
from serving.schemas import ERROR_RESPONSES, ErrorOut
from serving.scoring.context import SessionScoringDep
from serving.tables import utc_now

router = APIRouter(
    prefix="/v1/claims", tags=["claims"],
    responses={**ERROR_RESPONSES,
               404: {"model": ErrorOut, "description": "Unknown policy, claim or entry."},
               409: {"model": ErrorOut, "description": "Illegal transition: names the current "
                     "state and the allowed next states; or a rule of state."}},
)

AdjusterDep = Annotated[Caller, Depends(require_roles(*CLAIM_HANDLERS))]
NotifierDep = Annotated[Caller, Depends(require_roles(*CLAIM_NOTIFIERS))]
ReaderDep = Annotated[Caller, Depends(require_roles(*CLAIM_READERS))]


def _run(session: SessionDep, caller: Caller, key: str | None, scope: str, payload: Any,
         action: Callable[[], dict[str, Any]], status_code: int = 200) -> JSONResponse:
    """Run one claim action as one transaction (replayed when its Idempotency-Key repeats)."""
    status, out = run_once(session, caller, key, scope, payload, action, status_code)
    return JSONResponse(out, status_code=status)


@router.post("", status_code=201, response_model=ClaimOut,
             summary="Notify a claim (报案)")
def notify(caller: NotifierDep, body: NotifyRequest, session: SessionDep, policy: PolicyDep,
           request: Request, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """First notice of loss on a policy: the incident, the court or agency, what is claimed.

    A `case_id` names the suit in the dataset's litigation table; its filing date is checked
    against the binding date at registration (known circumstances are excluded).
    """
    actor = Actor(caller, utc_now())
    case = notice_suit(active_dataset(request), body.case_id)
    return _run(session, caller, idempotency_key, "POST /v1/claims", body.model_dump(mode="json"),
                lambda: service.notify_claim(session, policy, actor, body, case=case), 201)


@router.get("", response_model=ClaimPage, summary="List claims")
def list_(
    _caller: ReaderDep, session: SessionDep, policy: PolicyDep,
    state: Annotated[ClaimState | None, Query()] = None,
    policy_id: Annotated[str | None, Query(max_length=40)] = None,
    product: Annotated[Product | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Only claims past (or within) a "
                                          "deadline of Art. 23.")] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """Claims newest first, with reserve, paid and deadline flags."""
    return service.list_claims(
        session, policy, utc_now().date(), state=state.value if state else None,
        policy_id=policy_id, product=product.value if product else None, overdue=overdue,
        limit=limit, offset=offset,
    )


@router.get("/{claim_id}", response_model=ClaimOut, summary="Read a claim")
def read(claim_id: str, _caller: ReaderDep, session: SessionDep, policy: PolicyDep
         ) -> dict[str, Any]:
    """State, allowed actions, timeline, reserve, ledger and deadline warnings."""
    return service.claim_body(session, service.get_claim(session, claim_id), policy,
                              utc_now().date())


@router.post("/{claim_id}/registration", response_model=ClaimOut,
             summary="Register the claim (立案): checks cover, or denies with reasons")
def register(claim_id: str, caller: AdjusterDep, body: RegisterRequest, session: SessionDep,
             policy: PolicyDep) -> JSONResponse:
    """Registration checks; a failed check is a reasoned denial (200), not an error."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, None, "", None,
                lambda: service.register_claim(session, policy, actor, claim_id, body))


@router.post("/{claim_id}/assessment", response_model=ClaimOut,
             summary="Open the assessment (查勘/定损): reserve from the models")
def assess(claim_id: str, caller: AdjusterDep, body: AssessRequest, session: SessionDep,
           policy: PolicyDep, ctx: SessionScoringDep,
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Open the assessment with a reserve from the models.

    Enforcement and liability: the severity model's expected cost; pledge loans: the value
    model's P10-P50. Stored with the model version and explanation.
    """
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key, f"POST /v1/claims/{claim_id}/assessment",
                body.model_dump(mode="json"),
                lambda: assess_with_models(session, policy, ctx, actor, claim_id, body))


@router.post("/{claim_id}/reserve", response_model=ClaimOut,
             summary="Revise the reserve with a reason")
def reserve(claim_id: str, caller: AdjusterDep, body: ReserveRequest, session: SessionDep,
            policy: PolicyDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """The adjuster's new reserve; the ledger records the change."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key, f"POST /v1/claims/{claim_id}/reserve",
                body.model_dump(mode="json"),
                lambda: service.revise_reserve(session, policy, actor, claim_id, body))


@router.post("/{claim_id}/sale", response_model=ClaimOut,
             summary="Pledge loan: record the sale of the pledged patents")
def sale(claim_id: str, caller: AdjusterDep, body: SaleRequest, session: SessionDep,
         policy: PolicyDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """The real sale replaces the P10-P50 estimate of the recovery."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key, f"POST /v1/claims/{claim_id}/sale",
                body.model_dump(mode="json"),
                lambda: service.record_sale(session, policy, actor, claim_id, body))


@router.post("/{claim_id}/decision", response_model=ClaimOut,
             summary="Decide: payable after deductible, co-pay, sub-limits, aggregate")
def decide(claim_id: str, caller: AdjusterDep, body: DecideRequest, session: SessionDep,
           policy: PolicyDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Approve, partly approve or deny; the reserve becomes the agreed amount."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key, f"POST /v1/claims/{claim_id}/decision",
                body.model_dump(mode="json"),
                lambda: service.decide_claim(session, policy, actor, claim_id, body))


@router.post("/{claim_id}/advances", status_code=201, response_model=ClaimOut,
             summary="Advance the part already determined (先予支付) during the assessment")
def advance(claim_id: str, caller: AdjusterDep, body: AdvanceRequest, session: SessionDep,
            policy: PolicyDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Pay in advance the part of the loss that can already be determined (Insurance Law Art. 25).

    The determined loss (cumulative, by kind) pays under the claim's terms (deductible, co-pay,
    sub-limits, aggregate left); less earlier advances, that is the most that can be advanced.
    The claim stays under assessment; at the decision the advances count against the agreed
    amount. Above the authority limit an advance waits for a second approver.
    """
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key, f"POST /v1/claims/{claim_id}/advances",
                body.model_dump(mode="json"),
                lambda: service.pay_advance(session, policy, actor, claim_id, body), 201)


@router.post("/{claim_id}/advances/{entry_id}/approval", response_model=ClaimOut,
             summary="Approve an advance above the authority limit (second approver)")
def approve_advance(claim_id: str, entry_id: str, caller: AdjusterDep, body: ReasonRequest,
                    session: SessionDep, policy: PolicyDep,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Another key than the one that made the advance releases it."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key,
                f"POST /v1/claims/{claim_id}/advances/{entry_id}/approval",
                body.model_dump(mode="json"),
                lambda: service.approve_payment(session, policy, actor, claim_id, entry_id,
                                                body.reason, only_advances=True))


@router.post("/{claim_id}/advances/{entry_id}/reversal", response_model=ClaimOut,
             summary="Reverse an advance (returned by the insured, or made in error)")
def reverse_advance(claim_id: str, entry_id: str, caller: AdjusterDep, body: ReasonRequest,
                    session: SessionDep, policy: PolicyDep,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """A reversal entry takes the advance back and restores the reserve."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key,
                f"POST /v1/claims/{claim_id}/advances/{entry_id}/reversal",
                body.model_dump(mode="json"),
                lambda: service.reverse_payment(session, policy, actor, claim_id, entry_id,
                                                body.reason, only_advances=True))


@router.post("/{claim_id}/payments", status_code=201, response_model=ClaimOut,
             summary="Pay (part of) the agreed amount")
def pay(claim_id: str, caller: AdjusterDep, body: PaymentRequest, session: SessionDep,
        policy: PolicyDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Above the authority limit the payment waits for a second approver."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key, f"POST /v1/claims/{claim_id}/payments",
                body.model_dump(mode="json"),
                lambda: service.pay_claim(session, policy, actor, claim_id, body), 201)


@router.post("/{claim_id}/payments/{entry_id}/approval", response_model=ClaimOut,
             summary="Approve a payment above the authority limit (second approver)")
def approve(claim_id: str, entry_id: str, caller: AdjusterDep, body: ReasonRequest,
            session: SessionDep, policy: PolicyDep,
            idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Another key than the payer's releases the payment."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key,
                f"POST /v1/claims/{claim_id}/payments/{entry_id}/approval",
                body.model_dump(mode="json"),
                lambda: service.approve_payment(session, policy, actor, claim_id, entry_id,
                                                body.reason))


@router.post("/{claim_id}/payments/{entry_id}/reversal", response_model=ClaimOut,
             summary="Reverse a payment")
def reverse(claim_id: str, entry_id: str, caller: AdjusterDep, body: ReasonRequest,
            session: SessionDep, policy: PolicyDep,
            idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """A reversal entry takes the payment back and restores the reserve."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key,
                f"POST /v1/claims/{claim_id}/payments/{entry_id}/reversal",
                body.model_dump(mode="json"),
                lambda: service.reverse_payment(session, policy, actor, claim_id, entry_id,
                                                body.reason))


@router.post("/{claim_id}/recoveries", status_code=201, response_model=ClaimOut,
             summary="Record a recovery (subrogation, salvage, the winner's repayment)")
def recover(claim_id: str, caller: AdjusterDep, body: RecoveryRequest, session: SessionDep,
            policy: PolicyDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Money recovered on the claim."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key, f"POST /v1/claims/{claim_id}/recoveries",
                body.model_dump(mode="json"),
                lambda: service.record_recovery(session, policy, actor, claim_id, body), 201)


@router.post("/{claim_id}/closure", response_model=ClaimOut, summary="Close the claim")
def close(claim_id: str, caller: AdjusterDep, body: ReasonRequest, session: SessionDep,
          policy: PolicyDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Close a paid or denied claim; the reserve left is released."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, idempotency_key, f"POST /v1/claims/{claim_id}/closure",
                body.model_dump(mode="json"),
                lambda: service.close_claim(session, policy, actor, claim_id, body.reason))


@router.post("/{claim_id}/reopening", response_model=ClaimOut, summary="Reopen a closed claim")
def reopen(claim_id: str, caller: AdjusterDep, body: ReasonRequest, session: SessionDep,
           policy: PolicyDep) -> JSONResponse:
    """Reopen with a reason; the claim goes back to assessment."""
    actor = Actor(caller, utc_now())
    return _run(session, caller, None, "", None,
                lambda: service.reopen_claim(session, policy, actor, claim_id, body.reason))
