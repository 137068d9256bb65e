"""The premium formula shared by all products: expected loss, loadings and the minimum premium."""

from __future__ import annotations

import math
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.policy.document import ProductPolicy
from models.policy.money import Money, exact, money
from models.policy.scale import Grade


class PremiumParts(BaseModel):
    """Gross premium = max(expected loss x (1 + risk loading) + expense loading, minimum)."""

    model_config = ConfigDict(frozen=True)

    expected_loss: Money
    risk_loading: float
    risk_loading_amount: Money
    expense_loading: Money
    minimum_premium: Money
    minimum_premium_applied: bool
    gross_premium: Money


def period_probability(annual_probability: float, months: int) -> float:
    """Probability over `months` from a 12-month probability: 1 - (1 - p) ** (months / 12)."""
    if annual_probability >= 1.0:
        return 1.0
    return -math.expm1(months / 12.0 * math.log1p(-annual_probability))


def annual_probability(term_probability: float, months: int) -> float:
    """12-month probability equivalent to a probability over `months` (inverse of the above)."""
    if term_probability >= 1.0:
        return 1.0
    return -math.expm1(12.0 / months * math.log1p(-term_probability))


def price(
    spec: ProductPolicy, grade: Grade, expected_loss: float | Decimal, currency: str
) -> PremiumParts:
    """Premium parts for an expected loss at a grade, each figure rounded once in `currency`.

    The gross premium is rounded from the exact expected loss and loading, not from their
    rounded figures, so no amount is rounded twice.
    """
    loading = spec.band(grade).risk_loading
    el = exact(expected_loss)
    loading_amount = el * exact(loading)
    expense = exact(spec.expense_loading)
    minimum = money(spec.minimum_premium, currency)
    formula = money(el + loading_amount + expense, currency)
    return PremiumParts(
        expected_loss=money(el, currency),
        risk_loading=loading,
        risk_loading_amount=money(loading_amount, currency),
        expense_loading=money(expense, currency),
        minimum_premium=minimum,
        minimum_premium_applied=formula < minimum,
        gross_premium=max(formula, minimum),
    )


def no_premium(spec: ProductPolicy, grade: Grade, currency: str) -> PremiumParts:
    """The parts of a premium that is not charged (nothing to cover)."""
    zero = money(Decimal(0), currency)
    return PremiumParts(
        expected_loss=zero, risk_loading=spec.band(grade).risk_loading, risk_loading_amount=zero,
        expense_loading=zero, minimum_premium=money(spec.minimum_premium, currency),
        minimum_premium_applied=False, gross_premium=zero,
    )
