"""The first reserve of a claim from the models in service (定损的初始估损).

Enforcement and liability: the severity model's expected cost for this claim's facts (the patent
in suit, or the product class when the asserted patent is unknown), with its model version and
explanation. Pledge loans: the lender's loss if the pledged portfolio sells at the value model's
P10 (the reserve) or P50, shared by the policy's loss-sharing split.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from models.policy import Policy, Product
from models.policy.cover import CoverSchedule
from models.policy.lifecycle import ClaimState, check_claim_action
from models.policy.money import rounded
from models.policy.settlement import estimate_lender_loss, reserve_for_cost
from serving.claims import service
from serving.claims.schemas import AssessRequest
from serving.claims.tables import ClaimRecord
from serving.errors import InvalidInputError
from serving.policies.service import Actor, current_version, schedule_from
from serving.policies.tables import PolicyRecord
from serving.scoring.context import ScoringContext
from serving.scoring.entities import (
    class_only_severity_frame,
    request_patent_features,
    severity_frame,
)
from serving.scoring.explanations import explanation, predict
from serving.scoring.lending import value_patents
from serving.scoring.schemas import PatentRef, ValuationRequest


def _patent_ref(pid: str, quote_request: dict[str, Any]) -> PatentRef:
    """The claim's patent as the quote described it (stored id or the facts given then)."""
    patent = (quote_request or {}).get("patent") or {}
    facts = patent.get("facts")
    if facts and facts.get("patent_id") == pid:
        return PatentRef.model_validate(patent)
    return PatentRef(patent_id=pid)


def estimate_claim(
    ctx: ScoringContext, claim: ClaimRecord, cover: CoverSchedule, document: dict[str, Any],
    aggregate_left: Decimal,
) -> dict[str, Any]:
    """The model estimate of a claim and the reserve it implies, as stored JSON."""
    cur = claim.currency
    inc = claim.incident
    if claim.product == Product.PLEDGE_LOAN.value:
        ctx.require("value")
        refs = [PatentRef(patent_id=p) for p in document["insured_patents"]]
        valuation = value_patents(ctx, ValuationRequest(patents=refs))
        total = valuation.total
        p10 = rounded(Decimal(str(total.p10)), cur)
        p50 = rounded(Decimal(str(total.p50)), cur)
        est = estimate_lender_loss(Decimal(inc["outstanding_amount"]), p10, p50,
                                   ctx.policy.loan.recovery, ctx.policy.loan.loss_sharing, cur)
        reserve = min(est.at_p10.insurer, aggregate_left)
        return {
            "basis": "insurer share of the lender's loss at the pledged portfolio's P10 value",
            "model": valuation.model["value"].model_dump() if "value" in valuation.model else None,
            "valuation_id": valuation.assessment_id,
            "portfolio_p10": str(p10), "portfolio_p50": str(p50),
            "loss_at_p10": est.at_p10.model_dump(mode="json"),
            "loss_at_p50": est.at_p50.model_dump(mode="json"),
            "reserve": str(reserve),
        }
    ctx.require("severity")
    kind = "enforcement" if claim.product == Product.ENFORCEMENT.value else "liability"
    pids = inc.get("patent_ids") or []
    if kind == "enforcement" and not pids:
        raise InvalidInputError("patent_ids", "required", "an enforcement claim names its patent")
    if pids:
        ref = _patent_ref(pids[0], document["quote_request"])
        patents = request_patent_features(ctx.cursor, [ref], ctx.as_of)
        frame = severity_frame(patents, kind)
    else:
        frame = class_only_severity_frame(inc.get("product_class"), kind)
    served = ctx.models.require("severity")
    out = predict(served, frame)
    cost = rounded(Decimal(str(float(out["expected_cost"].iloc[0]))), cur)
    reserve = reserve_for_cost(cost, cover.deductible, cover.insurer_share, aggregate_left, cur)
    return {
        "basis": f"severity model expected {kind} cost less deductible, times the insurer share",
        "model": {"name": served.name, "version": served.version},
        "as_of": ctx.as_of.isoformat(),
        "expected_cost": str(cost),
        "explanation": explanation("severity", out.iloc[0], frame.iloc[0]),
        "reserve": str(reserve),
    }


def assess_with_models(session: Session, policy: Policy, ctx: ScoringContext, actor: Actor,
                       claim_id: str, req: AssessRequest) -> dict[str, Any]:
    """Open the assessment of a claim with the first reserve from the models in service."""
    claim = service.get_claim(session, claim_id)
    check_claim_action(ClaimState(claim.state), "assess")
    head = session.get(PolicyRecord, claim.policy_id)
    assert head is not None, f"claim {claim.id} has no policy {claim.policy_id}"
    version = current_version(session, head)
    cover = schedule_from(version, head.currency)
    left = service.aggregate_left(session, head)
    estimate = estimate_claim(ctx, claim, cover, version.document, left)
    return service.open_assessment(session, policy, actor, claim.id, req, estimate)
