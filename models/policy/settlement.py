"""What a claim pays: reserve from the expected cost, payable amount, pledge-loan loss sharing.

Order of the terms on a claim's assessed loss (kind by kind): the deductible comes off the total
first (shared over the kinds in proportion), then the insurer's share (1 - co-pay; for the
pledge-loan guarantee also the insurer's part of the loss-sharing split), then each kind's remaining
sub-limit, then the policy's remaining aggregate limit. Every figure is computed at full precision
and rounded once.

Advance payment (先予支付, PRC Insurance Law Art. 25; the domain brief lists it with Art. 23's
deadlines): while the amount cannot be fixed, the insurer pays the part it can determine. That part
is the payable amount of the loss determined so far (the costs already documented or agreed, kind
by kind) under the same terms, less what was already advanced. The payable amount grows with the
assessed amounts, and the aggregate limit's pro-rata cut never takes a kind below what this claim
has already paid of it, so a decision on at least the determined amounts pays at least the
advances; the advances count against it.
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
    *,
    already_paid: Mapping[str, Decimal] | None = None,
) -> Payable:
    """Payable amount of assessed losses by kind under deductible, share, sub-limits, aggregate.

    `sub_limit_left` and `aggregate_left` are what is left for this claim (its own payments not
    counted as used); `already_paid` is what this claim has paid by kind (advances): when the
    aggregate limit cuts the kinds pro rata, no kind is cut below it.
    """
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
    floors = {k: min(v, max(ZERO, (already_paid or {}).get(k, ZERO))) for k, v in exact.items()}
    if capped_total > agg:
        limited.append("aggregate_limit")
        exact = _cut_to_aggregate(exact, floors, agg)
    by_kind = {k: rounded(v, currency) for k, v in exact.items()}
    paid = sum(by_kind.values(), ZERO)
    cap = rounded(min(capped_total, agg), currency)
    if paid > cap and by_kind:
        # Rounding each kind half up can overshoot the cap by a minor unit: take it off the kind
        # with the most above its floor.
        largest = max(by_kind, key=lambda k: (by_kind[k] - floors[k], k))
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


def _cut_to_aggregate(exact: dict[str, Decimal], floors: dict[str, Decimal], agg: Decimal
                      ) -> dict[str, Decimal]:
    """Cut the kinds to `agg` pro rata to what each has above its floor (its floor is kept)."""
    floor_total = sum(floors.values(), ZERO)
    if floor_total >= agg:
        # Cannot happen when the floors were paid within the limit; scale them all the same.
        return {k: v * agg / floor_total for k, v in floors.items()} if floor_total else floors
    excess = {k: v - floors[k] for k, v in exact.items()}
    excess_total = sum(excess.values(), ZERO)
    rest = agg - floor_total
    return {k: floors[k] + excess[k] * rest / excess_total for k in exact}


class AdvanceLimit(BaseModel):
    """What a claim under assessment may be advanced: determined part's payable less advances."""

    model_config = ConfigDict(frozen=True)

    determined: Payable
    advanced: dict[str, Decimal]
    advanceable: dict[str, Decimal]
    over_advanced: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        """Everything still advanceable, over the kinds."""
        return sum(self.advanceable.values(), ZERO)


def advance_limit(
    determined: Mapping[str, Decimal],
    deductible: Decimal,
    insurer_share: Decimal,
    sub_limit_left: Mapping[str, Decimal],
    aggregate_left: Decimal,
    advanced: Mapping[str, Decimal],
    currency: str,
) -> AdvanceLimit:
    """The advanceable part of a claim (Art. 25) from the loss determined so far, by kind.

    The determined loss pays under the claim's terms (deductible first, co-pay, sub-limits and
    the aggregate left for this claim) what a decision on it alone would pay; the advances already
    made by kind come off. `over_advanced` names the kinds whose advances exceed that payable
    (the determination was lowered below what was advanced).
    """
    payable = compute_payable(determined, deductible, insurer_share, sub_limit_left,
                              aggregate_left, currency, already_paid=advanced)
    left = {k: payable.by_kind.get(k, ZERO) - advanced.get(k, ZERO)
            for k in sorted(set(payable.by_kind) | set(advanced))}
    return AdvanceLimit(
        determined=payable,
        advanced={k: rounded(v, currency) for k, v in advanced.items()},
        advanceable={k: max(ZERO, v) for k, v in left.items()},
        over_advanced={k: -v for k, v in left.items() if v < 0},
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
