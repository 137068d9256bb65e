"""Pledge-loan guarantee (专利权质押贷款保证保险): grade, loss given default, max loan, premium."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from models.policy.applicant import Applicant
from models.policy.document import Policy, Product, ProductPolicy
from models.policy.eligibility import check_eligibility
from models.policy.errors import QuoteInputError
from models.policy.inputs import check_amount, check_months, check_probability
from models.policy.insurance import grade_reason, premium_reasons
from models.policy.money import Money
from models.policy.premium import PremiumParts, annual_probability, no_premium, price
from models.policy.reasons import Reason, top_reasons
from models.policy.scale import Decision, Grade
from models.policy.subsidy import Subsidy, compute_subsidy

# The longest term accepted at all; terms beyond the policy's max_period_months are referred.
LOAN_TERM_MAX_MONTHS = 120
_SEVERITY = {Decision.ACCEPT: 0, Decision.REFER: 1, Decision.DECLINE: 2}


class LossShares(BaseModel):
    """Expected loss carried by each party under the policy's loss-sharing ratio."""

    model_config = ConfigDict(frozen=True)

    insurer: float
    bank: float
    guarantor: float


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
    max_loan: float
    requested_amount: float
    over_limit: bool
    amount_that_fits: float
    excess_amount: float
    requested_ltv_p10: float | None
    exposure: float
    recovery_value: float
    lgd: float
    expected_loss: float
    loss_sharing: LossShares
    expected_loss_by_party: LossShares
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
    max_loan: float
    over_limit: bool
    fits: float


def _loan_limit(
    spec: ProductPolicy, grade: Grade, type_cap: tuple[float, str], portfolio_p10: float,
    requested_amount: float,
) -> _LoanLimit:
    """The max loan: the lower of the grade's and the weakest patent type's LTV, times P10."""
    ltv_grade = spec.band(grade).ltv or 0.0
    cap, binding_type = type_cap
    ltv = min(ltv_grade, cap)
    max_loan = round(portfolio_p10 * ltv, 2)
    return _LoanLimit(
        ltv_grade=ltv_grade, type_cap=cap, binding_type=binding_type, ltv=ltv,
        max_loan=max_loan, over_limit=requested_amount > max_loan,
        fits=min(requested_amount, max_loan),
    )


def _loss_given_default(
    policy: Policy, portfolio_p10: float, exposure: float, requested_amount: float
) -> tuple[float, float]:
    """The recovery from selling the pledged P10 value after haircut and costs, and the LGD."""
    recovery = policy.loan.recovery
    recovery_value = portfolio_p10 * (1.0 - recovery.haircut) * (1.0 - recovery.recovery_cost_rate)
    basis = exposure if exposure > 0 else requested_amount
    lgd = min(1.0, max(recovery.lgd_floor, 1.0 - recovery_value / basis))
    return recovery_value, lgd


def _loss_by_party(policy: Policy, expected_loss: float) -> LossShares:
    """The expected loss split between insurer, bank and guarantor by the policy's shares."""
    sharing = policy.loan.loss_sharing
    return LossShares(
        insurer=round(expected_loss * sharing.insurer, 2),
        bank=round(expected_loss * sharing.bank, 2),
        guarantor=round(expected_loss * sharing.guarantor, 2),
    )


def _guarantee_premium(
    spec: ProductPolicy, grade: Grade, insurer_loss: float, exposure: float, currency: str
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
    if max_loan == 0.0:
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
    limit = _loan_limit(spec, grade, type_cap, portfolio_p10, requested_amount)
    exposure = limit.fits
    recovery_value, lgd = _loss_given_default(policy, portfolio_p10, exposure, requested_amount)
    expected_loss = default_probability * lgd * exposure
    sharing = policy.loan.loss_sharing
    parts = _guarantee_premium(spec, grade, expected_loss * sharing.insurer, exposure,
                               policy.currency)
    subsidy = compute_subsidy(
        policy, product, applicant, parts.gross_premium, subsidy_used_this_year
    )
    cur = policy.currency
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
        excess_amount=round(max(0.0, requested_amount - limit.max_loan), 2),
        requested_ltv_p10=requested_amount / portfolio_p10 if portfolio_p10 > 0 else None,
        exposure=exposure,
        recovery_value=round(recovery_value, 2),
        lgd=lgd,
        expected_loss=round(expected_loss, 2),
        loss_sharing=LossShares(
            insurer=sharing.insurer, bank=sharing.bank, guarantor=sharing.guarantor
        ),
        expected_loss_by_party=_loss_by_party(policy, expected_loss),
        premium=parts,
        gross_premium=parts.gross_premium,
        subsidy=subsidy,
        net_premium=parts.gross_premium - subsidy.amount,  # both already at the unit: exact
        premium_per_unit_cover=float(parts.gross_premium) / exposure if exposure > 0 else 0.0,
        decision=decision,
        reasons=top_reasons(reasons),
    )
