"""Money as `Decimal` in a currency's minor unit: parse, round once, and convert for storage.

Amounts are computed at full `Decimal` precision and rounded once, half up, to the currency's
minor unit when they become a figure someone pays or reads. They are stored as integers of minor
units (cents, fen), which both SQLite and PostgreSQL sum exactly.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import PlainSerializer

from models.policy.errors import QuoteInputError

# An amount of a quote: a `Decimal` at the currency's precision, a JSON number in answers.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]

# Minor-unit exponents of ISO 4217; currencies not listed have two decimals, as most do.
MINOR_UNITS: dict[str, int] = {"JPY": 0, "KRW": 0, "VND": 0, "KWD": 3, "BHD": 3, "TND": 3}
ZERO = Decimal(0)
# Largest amount accepted from a client: far above any patent cover, and well inside the
# precision Decimal keeps (a larger number cannot be rounded to cents).
MAX_AMOUNT = Decimal(10) ** 15


def minor_units(currency: str) -> int:
    """Number of decimals of `currency` (ISO 4217)."""
    return MINOR_UNITS.get(currency, 2)


def rounded(value: Decimal, currency: str) -> Decimal:
    """`value` rounded half up to the minor unit of `currency` (the one rounding of an amount)."""
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def exact(value: float | int | Decimal) -> Decimal:
    """A model's float (or an int) as the `Decimal` of its shortest repr: no binary noise."""
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def money(value: float | int | Decimal, currency: str) -> Decimal:
    """A figure computed at full precision, rounded once (half up) to the currency's unit."""
    return rounded(exact(value), currency)


def money_down(value: Decimal, currency: str) -> Decimal:
    """`value` rounded down to the currency's unit (what is left of a cap is never exceeded)."""
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_DOWN)


def to_minor(value: Decimal, currency: str) -> int:
    """An amount already in the currency's precision as an integer of minor units."""
    scaled = value.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more decimals than {currency} allows; round it first")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """An integer of minor units as a `Decimal` amount of `currency`."""
    return rounded(Decimal(minor).scaleb(-minor_units(currency)), currency)


def parse_amount(
    field: str, value: Decimal | float | int | str, currency: str, *, positive: bool = False
) -> Decimal:
    """A client's amount as `Decimal` in `currency`; refuses more decimals than the currency has."""
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise QuoteInputError(field, f"must be an amount, got {value!r}") from None
    if not amount.is_finite():
        raise QuoteInputError(field, f"must be a finite amount, got {value!r}")
    if abs(amount) > MAX_AMOUNT:
        raise QuoteInputError(field, f"must be at most {MAX_AMOUNT:,}, got {amount}")
    if amount < 0 or (positive and amount == 0):
        rule = "must be a positive amount" if positive else "must not be negative"
        raise QuoteInputError(field, f"{rule}, got {amount}")
    if rounded(amount, currency) != amount:
        raise QuoteInputError(
            field, f"must have at most {minor_units(currency)} decimals in {currency}, got {amount}"
        )
    return rounded(amount, currency)
