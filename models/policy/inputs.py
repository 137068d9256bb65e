"""Checks on quote inputs; each failure names the field and what is allowed."""

from __future__ import annotations

import math

from models.policy.errors import QuoteInputError


def check_probability(field: str, value: float) -> None:
    """Refuse a probability outside [0, 1] (or not a number)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0
    if not ok:
        raise QuoteInputError(field, f"must be between 0 and 1, got {value}")


def check_amount(field: str, value: float, *, positive: bool = False) -> None:
    """Refuse a money amount that is not finite and non-negative (or positive)."""
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0.0 if positive else value >= 0.0)
    )
    if not ok:
        rule = "must be a positive amount" if positive else "must be a non-negative amount"
        raise QuoteInputError(field, f"{rule}, got {value}")


def check_months(field: str, value: int, maximum: int) -> None:
    """Refuse a period that is not a whole number of months in 1..maximum."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise QuoteInputError(field, f"must be between 1 and {maximum}, got {value}")
