"""Policies (保单): bind a quote, read, list, endorse, cancel; each change a new version."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from models.policy import Policy, Product
from models.policy.lifecycle import PolicyStatus
from models.policy.scale import Grade
from serving.auth import POLICY_READERS, POLICY_WRITERS, Caller
from serving.deps import ModelsDep, PageLimit, PageOffset, SessionDep, require_roles
from serving.errors import UnavailableError
from serving.idempotency import IdempotencyKey, run_once
from serving.policies.pricing import endorse_repriced
from serving.policies.schemas import (
    BindRequest,
    CancelRequest,
    EndorseRequest,
    PolicyOut,
    PolicyPage,
    VersionOut,
)
from serving.policies.service import (
    Actor,
    bind_policy,
    cancel_policy,
    get_policy,
    list_policies,
    policy_body,
    version_body,
    versions_of,
)
from serving.schemas import ERROR_RESPONSES, ErrorOut
from serving.scoring.context import SessionScoringDep
from serving.tables import utc_now

router = APIRouter(
    prefix="/v1/policies", tags=["policies"],
    responses={**ERROR_RESPONSES,
               404: {"model": ErrorOut, "description": "Unknown quote or policy."},
               409: {"model": ErrorOut, "description": "Expired quote, other policy version, "
                     "illegal change for the policy's status (names the rule or the state)."}},
)

WriterDep = Annotated[Caller, Depends(require_roles(*POLICY_WRITERS))]
ReaderDep = Annotated[Caller, Depends(require_roles(*POLICY_READERS))]


def served_policy(models: ModelsDep) -> Policy:
    """The policy file in service; 503 when none is loaded."""
    if models.policy is None:
        raise UnavailableError("no rating policy is loaded; try again after a reload")
    policy: Policy = models.policy
    return policy


PolicyDep = Annotated[Policy, Depends(served_policy)]


@router.post("", status_code=201, response_model=PolicyOut,
             summary="Bind a quote or loan assessment into a policy (投保/承保)")
def bind(caller: WriterDep, body: BindRequest, session: SessionDep, policy: PolicyDep,
         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Bind a stored, unexpired quote; the subsidy is granted now, within its caps."""
    actor = Actor(caller, utc_now())
    status, out = run_once(session, caller, idempotency_key, "POST /v1/policies",
                           body.model_dump(mode="json"),
                           lambda: bind_policy(session, policy, actor, body))
    return JSONResponse(out, status_code=status)


@router.get("", response_model=PolicyPage, summary="List policies")
def list_(
    _caller: ReaderDep, session: SessionDep,
    product: Annotated[Product | None, Query()] = None,
    status: Annotated[PolicyStatus | None, Query(description="Status today.")] = None,
    applicant_id: Annotated[str | None, Query(max_length=128)] = None,
    grade: Annotated[Grade | None, Query(description="Grade at binding.")] = None,
    year: Annotated[int | None, Query(ge=1900, le=2200, description="Policy year (the year "
                                      "cover starts).")] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> dict[str, Any]:
    """Policies newest first, with their status today."""
    return list_policies(
        session, utc_now().date(), product=product.value if product else None,
        status=status.value if status else None, applicant_id=applicant_id, limit=limit,
        offset=offset, grade=grade.value if grade else None, year=year,
    )


@router.get("/{policy_id}", response_model=PolicyOut, summary="Read a policy")
def read(policy_id: str, _caller: ReaderDep, session: SessionDep) -> dict[str, Any]:
    """The policy's current version and status (by id or number)."""
    return policy_body(session, get_policy(session, policy_id), utc_now().date())


@router.get("/{policy_id}/versions", response_model=list[VersionOut],
            summary="Every version of a policy")
def versions(policy_id: str, _caller: ReaderDep, session: SessionDep) -> list[dict[str, Any]]:
    """The immutable versions, oldest first: what changed, who, when, why."""
    head = get_policy(session, policy_id)
    return [version_body(v, head.currency) for v in versions_of(session, head.id)]


@router.post("/{policy_id}/endorsements", status_code=201, response_model=PolicyOut,
             summary="Endorse: change the limit, deductible or insured patents (批改)")
def endorse(policy_id: str, caller: WriterDep, body: EndorseRequest, session: SessionDep,
            policy: PolicyDep, ctx: SessionScoringDep,
            idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Re-price the changed cover through the same models and policy.

    The difference in premium is due pro rata from the effective date.
    """
    actor = Actor(caller, utc_now())
    status, out = run_once(session, caller, idempotency_key,
                           f"POST /v1/policies/{policy_id}/endorsements",
                           body.model_dump(mode="json"),
                           lambda: endorse_repriced(session, policy, ctx, actor, policy_id, body))
    return JSONResponse(out, status_code=status)


@router.post("/{policy_id}/cancellation", status_code=201, response_model=PolicyOut,
             summary="Cancel a policy with a pro-rata refund (退保)")
def cancel(policy_id: str, caller: WriterDep, body: CancelRequest, session: SessionDep,
           idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Cover stops from the effective date; the unearned premium and subsidy go back."""
    actor = Actor(caller, utc_now())
    status, out = run_once(session, caller, idempotency_key,
                           f"POST /v1/policies/{policy_id}/cancellation",
                           body.model_dump(mode="json"),
                           lambda: cancel_policy(session, actor, policy_id, body))
    return JSONResponse(out, status_code=status)
