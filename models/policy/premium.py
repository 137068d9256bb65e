"""The premium formula shared by all products: expected loss, loadings and the minimum premium."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from models.policy.document import ProductPolicy
from models.policy.scale import Grade


class PremiumParts(BaseModel):
    """Gross premium = max(expected loss x (1 + risk loading) + expense loading, minimum)."""

    model_config = ConfigDict(frozen=True)

    expected_loss: float
    risk_loading: float
    risk_loading_amount: float
    expense_loading: float
    minimum_premium: float
    minimum_premium_applied: bool
    gross_premium: float


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


def price(spec: ProductPolicy, grade: Grade, expected_loss: float) -> PremiumParts:
    """Premium parts for an expected loss at a grade, in currency units rounded to cents."""
    loading = spec.band(grade).risk_loading
    el = round(expected_loss, 2)
    loading_amount = round(expected_loss * loading, 2)
    formula = round(el + loading_amount + spec.expense_loading, 2)
    gross = max(formula, spec.minimum_premium)
    return PremiumParts(
        expected_loss=el,
        risk_loading=loading,
        risk_loading_amount=loading_amount,
        expense_loading=spec.expense_loading,
        minimum_premium=spec.minimum_premium,
        minimum_premium_applied=formula < spec.minimum_premium,
        gross_premium=gross,
    )
