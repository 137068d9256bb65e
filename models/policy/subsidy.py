"""Government premium subsidy (保费补贴): a share of the premium, capped per policy and per year."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from models.policy.applicant import Applicant
from models.policy.document import Policy, Product
from models.policy.errors import QuoteInputError
from models.policy.money import Money, exact, money, money_down

# Which cap limited a subsidy: the per-policy cap or what is left of the applicant's year.
SubsidyCap = Literal["per_policy", "per_applicant_year"]


class Subsidy(BaseModel):
    """The subsidy on one premium: the rules that matched, the share, the caps that bit."""

    model_config = ConfigDict(frozen=True)

    matched_rules: list[str]
    share: float
    uncapped_amount: Money
    amount: Money
    capped_by: SubsidyCap | None
    used_before_this_year: Money
    remaining_this_year: Money


def compute_subsidy(
    policy: Policy,
    product: Product | str,
    applicant: Applicant,
    gross_premium: Decimal | float,
    used_this_year: Decimal | float = 0.0,
) -> Subsidy:
    """Subsidy on a gross premium for this applicant, given what it already received this year."""
    if not (math.isfinite(used_this_year) and used_this_year >= 0):
        raise QuoteInputError(
            "subsidy_used_this_year", f"must be a non-negative amount, got {used_this_year}"
        )
    rules = policy.subsidy
    cur = policy.currency
    used = money(used_this_year, cur)
    # Rounded down to the unit so that the subsidy never exceeds what is left of the yearly cap.
    year_left = max(money(0, cur), money_down(
        exact(rules.cap_per_applicant_year) - exact(used_this_year), cur))
    matched = [r for r in rules.rules if getattr(applicant, r.attribute)]
    if Product(product) not in rules.products or not matched:
        return Subsidy(
            matched_rules=[],
            share=0.0,
            uncapped_amount=money(0, cur),
            amount=money(0, cur),
            capped_by=None,
            used_before_this_year=used,
            remaining_this_year=year_left,
        )
    shares = [r.share for r in matched]
    share = min(rules.max_share, max(shares) if rules.combine == "max" else sum(shares))
    uncapped = money(exact(gross_premium) * exact(share), cur)
    amount = uncapped
    capped_by: SubsidyCap | None = None
    per_policy = money(rules.cap_per_policy, cur)
    if amount > per_policy:
        amount, capped_by = per_policy, "per_policy"
    if amount > year_left:
        amount, capped_by = year_left, "per_applicant_year"
    return Subsidy(
        matched_rules=[r.attribute for r in matched],
        share=share,
        uncapped_amount=uncapped,
        amount=amount,
        capped_by=capped_by,
        used_before_this_year=used,
        remaining_this_year=max(money(0, cur), year_left - amount),
    )
