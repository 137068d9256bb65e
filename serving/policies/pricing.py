"""Re-pricing an endorsement through the same scoring path and policy as the original quote."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from models.policy import Policy, Product
from models.policy.errors import QuoteInputError
from models.policy.money import ZERO, parse_amount, rounded
from models.policy.scale import Decision
from serving.errors import ConflictError
from serving.policies.schemas import EndorseRequest
from serving.policies.service import (
    Actor,
    Repricer,
    endorse_policy,
    get_policy,
    input_error,
)
from serving.scoring import ScoringContext, assess_loan, score_enforcement, score_liability
from serving.scoring.schemas import (
    EnforcementQuoteRequest,
    LiabilityQuoteRequest,
    LoanAssessmentRequest,
    PatentRef,
)


def _checked(answer: Any, what: str) -> Any:
    """Refuse an endorsement the policy would decline (409 naming the rule)."""
    if answer.decision == Decision.DECLINE.value:
        raise ConflictError("endorsement", "declined_on_repricing",
                            f"the changed cover is declined on re-pricing ({what}, grade "
                            f"{answer.grade})")
    return answer


def repricer(ctx: ScoringContext, product: Product) -> Repricer:
    """A function that prices changed cover for `product` and stores the new quotes."""
    cur = ctx.policy.currency

    def reprice(quote_request: dict[str, Any], limit: Decimal, deductible: Decimal,
                patents: list[str]) -> tuple[Decimal, Decimal, list[str]]:
        gross, expected, ids = ZERO, ZERO, []
        if product is Product.ENFORCEMENT:
            # Each insured patent is priced as its own quote at the policy's limit; the policy's
            # premium is their sum (per-patent pricing, as the early Chinese schemes did).
            base = EnforcementQuoteRequest.model_validate(quote_request)
            for pid in patents:
                ref = base.patent if base.patent.key == pid else PatentRef(patent_id=pid)
                req = base.model_copy(update={"patent": ref, "cover_limit": float(limit),
                                              "deductible": float(deductible)})
                q = _checked(score_enforcement(ctx, req), f"patent {pid}")
                gross += Decimal(str(q.gross_premium))
                expected += Decimal(str(q.premium.expected_loss))
                ids.append(q.assessment_id)
        elif product is Product.LIABILITY:
            req_b = LiabilityQuoteRequest.model_validate(quote_request).model_copy(
                update={"cover_limit": float(limit), "deductible": float(deductible)})
            q = _checked(score_liability(ctx, req_b), "liability")
            gross, expected, ids = (Decimal(str(q.gross_premium)),
                                    Decimal(str(q.premium.expected_loss)), [q.assessment_id])
        else:
            req_l = LoanAssessmentRequest.model_validate(quote_request).model_copy(
                update={"requested_amount": float(limit)})
            a = _checked(assess_loan(ctx, req_l), "pledge loan")
            if a.over_limit:
                raise ConflictError("cover_limit", "over_max_loan",
                                    f"cover_limit {limit} is above the max loan {a.max_loan}")
            gross, expected, ids = (Decimal(str(a.gross_premium)),
                                    Decimal(str(a.premium.expected_loss)), [a.assessment_id])
        return rounded(gross, cur), rounded(expected, cur), ids

    return reprice


def endorse_repriced(session: Session, policy: Policy, ctx: ScoringContext, actor: Actor,
                     policy_id: str, req: EndorseRequest) -> dict[str, Any]:
    """Endorse a policy: amounts in the policy's currency, re-priced by the models in service."""
    cur = policy.currency
    try:
        limit = (parse_amount("cover_limit", req.cover_limit, cur, positive=True)
                 if req.cover_limit is not None else None)
        deductible = (parse_amount("deductible", req.deductible, cur)
                      if req.deductible is not None else None)
    except QuoteInputError as exc:
        raise input_error(exc) from None
    head = get_policy(session, policy_id)
    return endorse_policy(session, policy, actor, head.id, req.effective_date, limit, deductible,
                          req.add_patents or [], req.reason, repricer(ctx, Product(head.product)))
