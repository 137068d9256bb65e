"""What a claim pays: reserve from the expected cost, payable amount, pledge-loan loss sharing.

Order of the terms on a claim's assessed loss (kind by kind): the deductible comes off the total
first (shared over the kinds in proportion), then the insurer's share (1 - co-pay; for the
pledge-loan guarantee also the insurer's part of the loss-sharing split), then each kind's remaining
sub-limit, then the policy's remaining aggregate limit. Every figure is computed at full precision
and rounded once.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.policy.document import LossSharing, Recovery
from models.policy.errors import QuoteInputError
from models.policy.money import ZERO, rounded


class Payable(BaseModel):
    """The payable amount of a claim, kind by kind, and which terms cut it."""

    model_config = ConfigDict(frozen=True)

    assessed: dict[str, Decimal]
    assessed_total: Decimal
    deductible_applied: Decimal
    after_deductible: Decimal
    after_share: Decimal
    by_kind: dict[str, Decimal]
    limited_by: list[str]
    total: Decimal


def compute_payable(
    assessed: Mapping[str, Decimal],
    deductible: Decimal,
    insurer_share: Decimal,
    sub_limit_left: Mapping[str, Decimal],
    aggregate_left: Decimal,
    currency: str,
) -> Payable:
    """Payable amount of assessed losses by kind under deductible, share, sub-limits, aggregate."""
    for kind, amount in assessed.items():
        if kind not in sub_limit_left:
            allowed = ", ".join(sorted(sub_limit_left))
            raise QuoteInputError(f"assessed.{kind}", f"is not a kind of loss this policy pays "
                                                      f"({allowed})")
        if amount < 0:
            raise QuoteInputError(f"assessed.{kind}", f"must not be negative, got {amount}")
    total = sum(assessed.values(), ZERO)
    after_ded = max(ZERO, total - deductible)
    ratio = after_ded / total if total > 0 else ZERO
    limited: list[str] = []
    exact: dict[str, Decimal] = {}
    for kind, amount in assessed.items():
        share = amount * ratio * insurer_share
        left = max(ZERO, sub_limit_left[kind])
        if share > left:
            limited.append(f"sub_limit:{kind}")
            share = left
        exact[kind] = share
    capped_total = sum(exact.values(), ZERO)
    agg = max(ZERO, aggregate_left)
    if capped_total > agg:
        limited.append("aggregate_limit")
        exact = {k: v * agg / capped_total for k, v in exact.items()}
    by_kind = {k: rounded(v, currency) for k, v in exact.items()}
    paid = sum(by_kind.values(), ZERO)
    cap = rounded(min(capped_total, agg), currency)
    if paid > cap and by_kind:
        # Rounding each kind half up can overshoot the cap by a minor unit: take it off the largest.
        largest = max(by_kind, key=lambda k: (by_kind[k], k))
        by_kind[largest] -= paid - cap
        paid = cap
    return Payable(
        assessed={k: rounded(v, currency) for k, v in assessed.items()},
        assessed_total=rounded(total, currency),
        deductible_applied=rounded(min(total, deductible), currency),
        after_deductible=rounded(after_ded, currency),
        after_share=rounded(after_ded * insurer_share, currency),
        by_kind=by_kind,
        limited_by=limited,
        total=paid,
    )


def reserve_for_cost(
    expected_cost: Decimal,
    deductible: Decimal,
    insurer_share: Decimal,
    aggregate_left: Decimal,
    currency: str,
) -> Decimal:
    """Initial reserve: the insurer's part of the expected cost within the remaining aggregate.

    Sub-limits are left out because the expected cost is not split by kind of loss yet; the
    adjuster revises the reserve once the costs are known.
    """
    if expected_cost < 0:
        raise QuoteInputError("expected_cost", f"must not be negative, got {expected_cost}")
    after = max(ZERO, expected_cost - deductible) * insurer_share
    return rounded(min(after, max(ZERO, aggregate_left)), currency)


class LenderLoss(BaseModel):
    """The lender's loss on a defaulted pledge loan and each party's share of it."""

    model_config = ConfigDict(frozen=True)

    outstanding: Decimal
    recovery: Decimal
    loss: Decimal
    insurer: Decimal
    bank: Decimal
    guarantor: Decimal


def share_loss(outstanding: Decimal, net_recovery: Decimal, sharing: LossSharing,
               currency: str) -> LenderLoss:
    """Split the lender's loss (outstanding minus net recovery) by the loss-sharing ratio."""
    loss = max(ZERO, outstanding - net_recovery)
    insurer = rounded(loss * Decimal(str(sharing.insurer)), currency)
    guarantor = rounded(loss * Decimal(str(sharing.guarantor)), currency)
    loss_r = rounded(loss, currency)
    return LenderLoss(
        outstanding=rounded(outstanding, currency),
        recovery=rounded(net_recovery, currency),
        loss=loss_r,
        insurer=insurer,
        guarantor=guarantor,
        bank=loss_r - insurer - guarantor,  # the bank keeps the rest, so the shares add up
    )


class LenderLossEstimate(BaseModel):
    """The lender's loss before the sale, from the pledged portfolio's P10 and P50 values."""

    model_config = ConfigDict(frozen=True)

    at_p10: LenderLoss
    at_p50: LenderLoss


def estimate_lender_loss(
    outstanding: Decimal, p10: Decimal, p50: Decimal, recovery: Recovery,
    sharing: LossSharing, currency: str,
) -> LenderLossEstimate:
    """Loss range if the portfolio sells at its P10 (conservative) or P50 value, net of costs."""
    keep = Decimal(1) - Decimal(str(recovery.recovery_cost_rate))
    return LenderLossEstimate(
        at_p10=share_loss(outstanding, p10 * keep, sharing, currency),
        at_p50=share_loss(outstanding, p50 * keep, sharing, currency),
    )
