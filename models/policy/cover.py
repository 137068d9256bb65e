"""The schedule of a bound policy (period, limits, co-pay, sub-limits) and pro-rata premium."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.policy.document import Policy, Product
from models.policy.errors import QuoteInputError
from models.policy.money import ZERO, rounded


class CoverSchedule(BaseModel):
    """What a policy covers and pays: period, retroactive date, limits, deductible, co-pay."""

    model_config = ConfigDict(frozen=True)

    product: Product
    currency: str
    start_date: dt.date
    end_date: dt.date
    retroactive_date: dt.date
    aggregate_limit: Decimal
    deductible: Decimal
    co_pay: Decimal
    insurer_share: Decimal
    sub_limits: dict[str, Decimal]


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by `months` calendar months (the day clipped to the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(start: dt.date, months: int) -> dt.date:
    """Last day of cover of a period of `months` starting on `start`."""
    return add_months(start, months) - dt.timedelta(days=1)


def schedule_cover(
    policy: Policy,
    product: Product | str,
    start: dt.date,
    period_months: int,
    aggregate_limit: Decimal,
    deductible: Decimal,
) -> CoverSchedule:
    """The schedule of a policy of `product` from the policy file's cover terms."""
    product = Product(product)
    terms = policy.product(product).cover
    if aggregate_limit <= 0:
        raise QuoteInputError("cover_limit", f"must be a positive amount, got {aggregate_limit}")
    cur = policy.currency
    co_pay = Decimal(str(terms.co_pay))
    share = Decimal(1) - co_pay
    if product is Product.PLEDGE_LOAN:
        share *= Decimal(str(policy.loan.loss_sharing.insurer))
    return CoverSchedule(
        product=product,
        currency=cur,
        start_date=start,
        end_date=period_end(start, period_months),
        retroactive_date=add_months(start, -terms.retroactive_months),
        aggregate_limit=rounded(aggregate_limit, cur),
        deductible=rounded(deductible, cur),
        co_pay=co_pay,
        insurer_share=share.normalize(),
        sub_limits={
            kind: rounded(aggregate_limit * Decimal(str(s)), cur)
            for kind, s in terms.sub_limits.items()
        },
    )


def earned_fraction(start: dt.date, end: dt.date, on: dt.date) -> Decimal:
    """Share of the period [start, end] run by the end of day `on` (0 before, 1 after)."""
    total = (end - start).days + 1
    run = min(max((on - start).days + 1, 0), total)
    return Decimal(run) / Decimal(total)


def pro_rata_refund(amount: Decimal, start: dt.date, end: dt.date, cancel_on: dt.date,
                    currency: str) -> Decimal:
    """The unearned part of `amount` when cover stops at the start of day `cancel_on`."""
    earned_to = cancel_on - dt.timedelta(days=1)
    return rounded(amount * (Decimal(1) - earned_fraction(start, end, earned_to)), currency)


def pro_rata_change(delta: Decimal, start: dt.date, end: dt.date, effective: dt.date,
                    currency: str) -> Decimal:
    """The part of a premium change `delta` due for the rest of the period from `effective`."""
    if delta == ZERO:
        return ZERO
    return pro_rata_refund(delta, start, end, effective, currency)
