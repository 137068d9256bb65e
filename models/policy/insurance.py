"""Quotes for the two patent insurance products: enforcement and infringement liability."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from models.policy.applicant import Applicant
from models.policy.document import Policy, Product, ProductPolicy
from models.policy.eligibility import check_eligibility
from models.policy.errors import QuoteInputError
from models.policy.inputs import check_amount, check_months, check_probability
from models.policy.money import Money, money
from models.policy.premium import PremiumParts, period_probability, price
from models.policy.reasons import Reason, top_reasons
from models.policy.scale import Decision, Grade
from models.policy.subsidy import Subsidy, compute_subsidy

INSURANCE_PRODUCTS = (Product.ENFORCEMENT, Product.LIABILITY)


class InsuranceQuote(BaseModel):
    """A priced insurance quote with every part of the premium, the decision and the policy used."""

    model_config = ConfigDict(frozen=True)

    product: Product
    product_name_zh: str
    applicant_id: str
    currency: str
    policy_version: str
    policy_sha256: str
    annual_probability: float
    period_months: int
    period_probability: float
    grade: Grade
    expected_claim_cost: float
    deductible: float
    cover_limit: float
    payable_per_claim: Money
    premium: PremiumParts
    gross_premium: Money
    subsidy: Subsidy
    net_premium: Money
    premium_per_unit_cover: float
    decision: Decision
    reasons: list[Reason]


def grade_reason(
    spec: ProductPolicy, grade: Grade, decision: Decision, what: str, what_zh: str
) -> Reason:
    """The reason that states the grade and where it stands against the thresholds."""
    if decision is Decision.DECLINE:
        return Reason(
            code="grade_declined",
            message=f"grade {grade} ({what}) is at or beyond the decline threshold "
            f"{spec.decline_at}",
            message_zh=f"评级{grade}（{what_zh}）达到拒保线{spec.decline_at}",
        )
    if decision is Decision.REFER:
        return Reason(
            code="grade_referred",
            message=f"grade {grade} ({what}) is at or beyond the referral threshold "
            f"{spec.refer_at}: an underwriter decides",
            message_zh=f"评级{grade}（{what_zh}）达到转人工核保线{spec.refer_at}",
        )
    return Reason(
        code="grade_accepted",
        message=f"grade {grade} ({what}) is better than the referral threshold {spec.refer_at}",
        message_zh=f"评级{grade}（{what_zh}）优于转人工核保线{spec.refer_at}",
    )


def premium_reasons(parts: PremiumParts, subsidy: Subsidy, currency: str) -> list[Reason]:
    """Reasons about the minimum premium and the subsidy, when they shaped the figures."""
    reasons = []
    if parts.minimum_premium_applied:
        reasons.append(
            Reason(
                code="minimum_premium",
                message=f"the minimum premium of {parts.minimum_premium:,.2f} {currency} applies",
                message_zh=f"适用最低保费{parts.minimum_premium:,.2f}{currency}",
            )
        )
    if subsidy.capped_by == "per_applicant_year":
        reasons.append(
            Reason(
                code="subsidy_year_cap",
                message=f"subsidy limited to {subsidy.amount:,.2f} {currency} left under the "
                "per-applicant yearly cap",
                message_zh=f"保费补贴受年度上限限制，本次补贴{subsidy.amount:,.2f}{currency}",
            )
        )
    elif subsidy.capped_by == "per_policy":
        reasons.append(
            Reason(
                code="subsidy_policy_cap",
                message=f"subsidy limited to the per-policy cap of {subsidy.amount:,.2f} "
                f"{currency}",
                message_zh=f"保费补贴受单笔上限限制，本次补贴{subsidy.amount:,.2f}{currency}",
            )
        )
    elif subsidy.amount > 0:
        reasons.append(
            Reason(
                code="subsidy",
                message=f"premium subsidy of {subsidy.share:.0%} "
                f"({', '.join(subsidy.matched_rules)})",
                message_zh=f"享受保费补贴{subsidy.share:.0%}",
            )
        )
    return reasons


def insurance_premium(
    policy: Policy,
    product: Product,
    annual_probability: float,
    expected_claim_cost: float,
    cover_limit: float,
    deductible: float,
    period_months: int,
) -> tuple[Grade, float, float, PremiumParts]:
    """Grade, period probability, payable per claim and premium parts of a cover.

    The pricing core of `quote_insurance` (inputs already checked), also used to reprice whole
    books in the rate backtest without building a quote per row.
    """
    spec = policy.product(product)
    grade = policy.grade(product, annual_probability)
    p_period = period_probability(annual_probability, period_months)
    # Applied to the expected cost, not a cost distribution: a first-order approximation that
    # the severity model's expected cost supports; docs/policy.md states it.
    payable = min(cover_limit, max(0.0, expected_claim_cost - deductible))
    return grade, p_period, payable, price(spec, grade, p_period * payable, policy.currency)


def quote_insurance(
    policy: Policy,
    product: Product | str,
    annual_probability: float,
    expected_claim_cost: float,
    cover_limit: float,
    deductible: float,
    period_months: int,
    applicant: Applicant,
    subsidy_used_this_year: float = 0.0,
) -> InsuranceQuote:
    """Price enforcement or liability cover for an eligible applicant from its 12-month risk."""
    spec = policy.product(product)
    product = Product(product)
    if product not in INSURANCE_PRODUCTS:
        raise QuoteInputError(
            "insurance.product",
            f"must be enforcement or liability, got {product.value!r} "
            "(pledge loans are assessed by assess_pledge_loan)",
        )
    check_probability("insurance.annual_probability", annual_probability)
    check_amount("insurance.expected_claim_cost", expected_claim_cost)
    check_amount("insurance.cover_limit", cover_limit, positive=True)
    check_amount("insurance.deductible", deductible)
    check_months("insurance.period_months", period_months, spec.max_period_months)
    check_eligibility(policy, product, applicant)

    grade, p_period, payable, parts = insurance_premium(
        policy, product, annual_probability, expected_claim_cost, cover_limit, deductible,
        period_months,
    )
    subsidy = compute_subsidy(
        policy, product, applicant, parts.gross_premium, subsidy_used_this_year
    )
    decision = spec.decision_for(grade)

    reasons = [
        grade_reason(
            spec,
            grade,
            decision,
            f"12-month probability {annual_probability:.2%}",
            f"12个月出险概率{annual_probability:.2%}",
        )
    ]
    if expected_claim_cost - deductible > cover_limit:
        reasons.append(
            Reason(
                code="cover_limit_below_cost",
                message=f"cover limit {cover_limit:,.0f} is below the expected claim cost net of "
                f"the deductible ({expected_claim_cost - deductible:,.0f}): the insured keeps "
                "the excess",
                message_zh="保险限额低于预期赔付成本，超出部分由被保险人自担",
            )
        )
    if payable == 0.0:
        reasons.append(
            Reason(
                code="nothing_payable",
                message="the deductible is at or above the expected claim cost: little is payable",
                message_zh="免赔额不低于预期赔付成本",
            )
        )
    reasons += premium_reasons(parts, subsidy, policy.currency)

    return InsuranceQuote(
        product=product,
        product_name_zh=spec.name_zh,
        applicant_id=applicant.applicant_id,
        currency=policy.currency,
        policy_version=policy.version,
        policy_sha256=policy.sha256,
        annual_probability=annual_probability,
        period_months=period_months,
        period_probability=p_period,
        grade=grade,
        expected_claim_cost=expected_claim_cost,
        deductible=deductible,
        cover_limit=cover_limit,
        payable_per_claim=money(payable, policy.currency),
        premium=parts,
        gross_premium=parts.gross_premium,
        subsidy=subsidy,
        net_premium=parts.gross_premium - subsidy.amount,  # both already at the unit: exact
        premium_per_unit_cover=float(parts.gross_premium) / cover_limit,
        decision=decision,
        reasons=top_reasons(reasons),
    )
