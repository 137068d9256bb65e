"""Pledge-loan guarantee (专利权质押贷款保证保险): grade, loss given default, max loan, premium.

Money figures (max loan, exposure, recovery, expected losses, premium) are `Decimal` computed at
full precision from the model's floats and rounded once, half up, to the policy currency's minor
unit, as quotes' premiums are; ratios and probabilities stay floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.policy.applicant import Applicant
from models.policy.document import Policy, Product, ProductPolicy
from models.policy.eligibility import check_eligibility
from models.policy.errors import QuoteInputError
from models.policy.inputs import check_amount, check_months, check_probability
from models.policy.insurance import grade_reason, premium_reasons
from models.policy.money import ZERO, Money, exact, money
from models.policy.premium import PremiumParts, annual_probability, no_premium, price
from models.policy.reasons import Reason, top_reasons
from models.policy.scale import Decision, Grade
from models.policy.subsidy import Subsidy, compute_subsidy

# The longest term accepted at all; terms beyond the policy's max_period_months are referred.
LOAN_TERM_MAX_MONTHS = 120
_SEVERITY = {Decision.ACCEPT: 0, Decision.REFER: 1, Decision.DECLINE: 2}


class LossShares(BaseModel):
    """The policy's loss-sharing ratio: the share of a loss each party carries."""

    model_config = ConfigDict(frozen=True)

    insurer: float
    bank: float
    guarantor: float


class LossByParty(BaseModel):
    """Expected loss carried by each party under the policy's loss-sharing ratio (money)."""

    model_config = ConfigDict(frozen=True)

    insurer: Money
    bank: Money
    guarantor: Money


class LoanQuote(BaseModel):
    """A pledge-loan guarantee assessment: max loan, loss given default, premium and decision."""

    model_config = ConfigDict(frozen=True)

    product: Product
    product_name_zh: str
    applicant_id: str
    currency: str
    policy_version: str
    policy_sha256: str
    term_months: int
    default_probability: float
    annual_default_probability: float
    grade: Grade
    portfolio_p10: float
    portfolio_p50: float
    patent_types: list[str]
    ltv_grade: float
    ltv_patent_type_cap: float
    binding_patent_type: str
    ltv_applied: float
    max_loan: Money
    requested_amount: float
    over_limit: bool
    amount_that_fits: Money
    excess_amount: Money
    requested_ltv_p10: float | None
    exposure: Money
    recovery_value: Money
    lgd: float
    expected_loss: Money
    loss_sharing: LossShares
    expected_loss_by_party: LossByParty
    premium: PremiumParts
    gross_premium: Money
    subsidy: Subsidy
    net_premium: Money
    premium_per_unit_cover: float
    decision: Decision
    reasons: list[Reason]


def _worse(a: Decision, b: Decision) -> Decision:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def _type_cap(policy: Policy, patent_types: Sequence[str]) -> tuple[float, str]:
    """The loan-to-value cap of the portfolio's weakest patent type, and that type."""
    caps = policy.loan.patent_type_caps
    if isinstance(patent_types, str) or len(patent_types) == 0:
        raise QuoteInputError("loan.patent_types", "must list at least one patent type")
    for i, kind in enumerate(patent_types):
        if kind not in caps:
            allowed = ", ".join(sorted(caps))
            raise QuoteInputError(
                f"loan.patent_types[{i}]", f"must be one of {allowed}, got {kind!r}"
            )
    weakest = min(patent_types, key=lambda k: caps[k])
    return caps[weakest], weakest


@dataclass(frozen=True)
class _LoanLimit:
    """How much may be lent: the grade's and the patent type's LTV, the max loan, what fits."""

    ltv_grade: float
    type_cap: float
    binding_type: str
    ltv: float
    max_loan: Decimal
    requested: Decimal
    over_limit: bool
    fits: Decimal


def _loan_limit(
    spec: ProductPolicy, grade: Grade, type_cap: tuple[float, str], portfolio_p10: float,
    requested_amount: float, currency: str,
) -> _LoanLimit:
    """The max loan: the lower of the grade's and the weakest patent type's LTV, times P10."""
    ltv_grade = spec.band(grade).ltv or 0.0
    cap, binding_type = type_cap
    ltv = min(ltv_grade, cap)
    max_loan = money(exact(portfolio_p10) * exact(ltv), currency)
    requested = money(requested_amount, currency)
    return _LoanLimit(
        ltv_grade=ltv_grade, type_cap=cap, binding_type=binding_type, ltv=ltv,
        max_loan=max_loan, requested=requested, over_limit=requested > max_loan,
        fits=min(requested, max_loan),
    )


def _loss_given_default(
    policy: Policy, portfolio_p10: float, exposure: Decimal, requested_amount: float
) -> tuple[Decimal, float]:
    """The recovery from selling the pledged P10 value after haircut and costs (exact), the LGD."""
    recovery = policy.loan.recovery
    recovery_value = (exact(portfolio_p10) * (1 - exact(recovery.haircut))
                      * (1 - exact(recovery.recovery_cost_rate)))
    basis = exposure if exposure > 0 else exact(requested_amount)
    lgd = min(1.0, max(recovery.lgd_floor, float(1 - recovery_value / basis)))
    return recovery_value, lgd


def _loss_by_party(policy: Policy, expected_loss: Decimal) -> LossByParty:
    """The exact expected loss split by the policy's shares, each share rounded once."""
    sharing, cur = policy.loan.loss_sharing, policy.currency
    return LossByParty(
        insurer=money(expected_loss * exact(sharing.insurer), cur),
        bank=money(expected_loss * exact(sharing.bank), cur),
        guarantor=money(expected_loss * exact(sharing.guarantor), cur),
    )


def _guarantee_premium(
    spec: ProductPolicy, grade: Grade, insurer_loss: Decimal, exposure: Decimal, currency: str
) -> PremiumParts:
    """The premium on the insurer's share of the expected loss (nothing when no loan fits)."""
    if exposure > 0:
        return price(spec, grade, insurer_loss, currency)
    return no_premium(spec, grade, currency)


def _decide(
    spec: ProductPolicy,
    grade: Grade,
    limit: _LoanLimit,
    portfolio_p10: float,
    requested_amount: float,
    default_probability: float,
    term_months: int,
    currency: str,
) -> tuple[Decision, list[Reason]]:
    """The grade's decision, made stricter by the loan limit and the term, with its reasons."""
    decision = spec.decision_for(grade)
    reasons = [
        grade_reason(
            spec,
            grade,
            decision,
            f"default probability {default_probability:.2%} over {term_months} months",
            f"{term_months}个月违约概率{default_probability:.2%}",
        )
    ]
    cur, ltv, max_loan = currency, limit.ltv, limit.max_loan
    if max_loan == ZERO:
        decision = Decision.DECLINE
        reasons.append(
            Reason(
                code="no_loan_value",
                message=f"no loan fits: loan-to-value {ltv:.0%} of the P10 value "
                f"{portfolio_p10:,.0f} {cur}",
                message_zh=f"可贷额度为零：质押率{ltv:.0%}，保守估值{portfolio_p10:,.0f}{cur}",
            )
        )
    elif limit.over_limit:
        decision = _worse(decision, Decision.REFER)
        reasons.append(
            Reason(
                code="over_limit",
                message=f"requested {requested_amount:,.0f} {cur} exceeds the max loan "
                f"{max_loan:,.0f} {cur} (loan-to-value {ltv:.0%} of P10); "
                f"{limit.fits:,.0f} {cur} fits",
                message_zh=f"申请金额{requested_amount:,.0f}{cur}超过最高可贷额{max_loan:,.0f}"
                f"{cur}（质押率{ltv:.0%}）",
            )
        )
    if term_months > spec.max_period_months:
        decision = _worse(decision, Decision.REFER)
        reasons.append(
            Reason(
                code="term_over_policy",
                message=f"term {term_months} months exceeds the policy maximum of "
                f"{spec.max_period_months} months",
                message_zh=f"贷款期限{term_months}个月超过政策上限{spec.max_period_months}个月",
            )
        )
    if limit.type_cap < limit.ltv_grade:
        reasons.append(
            Reason(
                code="patent_type_cap",
                message=f"loan-to-value capped at {limit.type_cap:.0%} by patent type "
                f"{limit.binding_type}",
                message_zh=f"质押率受专利类型{limit.binding_type}上限{limit.type_cap:.0%}限制",
            )
        )
    return decision, reasons


def assess_pledge_loan(
    policy: Policy,
    default_probability: float,
    portfolio_p10: float,
    portfolio_p50: float,
    requested_amount: float,
    term_months: int,
    patent_types: Sequence[str],
    applicant: Applicant,
    subsidy_used_this_year: float = 0.0,
) -> LoanQuote:
    """Assess a pledge-loan guarantee from the term default probability and the P10/P50 values."""
    product = Product.PLEDGE_LOAN
    spec = policy.product(product)
    check_probability("loan.default_probability", default_probability)
    check_amount("loan.portfolio_p10", portfolio_p10)
    check_amount("loan.portfolio_p50", portfolio_p50)
    if portfolio_p50 < portfolio_p10:
        raise QuoteInputError(
            "loan.portfolio_p50",
            f"must be at least loan.portfolio_p10 ({portfolio_p10}), got {portfolio_p50}",
        )
    check_amount("loan.requested_amount", requested_amount, positive=True)
    check_months("loan.term_months", term_months, LOAN_TERM_MAX_MONTHS)
    type_cap = _type_cap(policy, patent_types)
    check_eligibility(policy, product, applicant)

    # Bands are on 12-month probabilities so that loans of different terms share one scale.
    annual = annual_probability(default_probability, term_months)
    grade = policy.grade(product, annual)
    cur = policy.currency
    limit = _loan_limit(spec, grade, type_cap, portfolio_p10, requested_amount, cur)
    exposure = limit.fits
    recovery_value, lgd = _loss_given_default(policy, portfolio_p10, exposure, requested_amount)
    # Exact until each figure is shown: the premium prices the insurer's unrounded share.
    expected_loss = exact(default_probability) * exact(lgd) * exposure
    sharing = policy.loan.loss_sharing
    parts = _guarantee_premium(spec, grade, expected_loss * exact(sharing.insurer), exposure, cur)
    subsidy = compute_subsidy(
        policy, product, applicant, parts.gross_premium, subsidy_used_this_year
    )
    decision, reasons = _decide(spec, grade, limit, portfolio_p10, requested_amount,
                                default_probability, term_months, cur)
    reasons += premium_reasons(parts, subsidy, cur)

    return LoanQuote(
        product=product,
        product_name_zh=spec.name_zh,
        applicant_id=applicant.applicant_id,
        currency=cur,
        policy_version=policy.version,
        policy_sha256=policy.sha256,
        term_months=term_months,
        default_probability=default_probability,
        annual_default_probability=annual,
        grade=grade,
        portfolio_p10=portfolio_p10,
        portfolio_p50=portfolio_p50,
        patent_types=list(patent_types),
        ltv_grade=limit.ltv_grade,
        ltv_patent_type_cap=limit.type_cap,
        binding_patent_type=limit.binding_type,
        ltv_applied=limit.ltv,
        max_loan=limit.max_loan,
        requested_amount=requested_amount,
        over_limit=limit.over_limit,
        amount_that_fits=limit.fits,
        excess_amount=money(max(ZERO, limit.requested - limit.max_loan), cur),
        requested_ltv_p10=requested_amount / portfolio_p10 if portfolio_p10 > 0 else None,
        exposure=exposure,
        recovery_value=money(recovery_value, cur),
        lgd=lgd,
        expected_loss=money(expected_loss, cur),
        loss_sharing=LossShares(
            insurer=sharing.insurer, bank=sharing.bank, guarantor=sharing.guarantor
        ),
        expected_loss_by_party=_loss_by_party(policy, expected_loss),
        premium=parts,
        gross_premium=parts.gross_premium,
        subsidy=subsidy,
        net_premium=parts.gross_premium - subsidy.amount,  # both already at the unit: exact
        premium_per_unit_cover=float(parts.gross_premium / exposure) if exposure > 0 else 0.0,
        decision=decision,
        reasons=top_reasons(reasons),
    )
