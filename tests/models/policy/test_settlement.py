"""Payable amounts, reserves and pledge-loan loss sharing: worked examples and invariants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.policy import Policy
from models.policy.errors import QuoteInputError
from models.policy.settlement import (
    advance_limit,
    compute_payable,
    estimate_lender_loss,
    reserve_for_cost,
    share_loss,
)

D = Decimal
money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False)


def test_worked_enforcement_claim() -> None:
    """Investigation 40,000 + legal 160,000, deductible 10,000, co-pay 10 %, sub-limit 30,000."""
    p = compute_payable(
        {"investigation_costs": D("40000"), "legal_costs": D("160000")}, D("10000"), D("0.9"),
        {"investigation_costs": D("30000"), "legal_costs": D("1000000")}, D("1000000"), "CNY",
    )
    # after deductible 190,000 shared 40:160 -> 38,000 and 152,000; x 0.9 -> 34,200 and 136,800;
    # investigation capped at its 30,000 sub-limit.
    assert p.by_kind == {"investigation_costs": D("30000.00"), "legal_costs": D("136800.00")}
    assert p.total == D("166800.00")
    assert p.limited_by == ["sub_limit:investigation_costs"]


def test_aggregate_limit_scales_every_kind() -> None:
    """Only 50,000 left of the aggregate: the kinds share it in proportion."""
    p = compute_payable({"damages": D("90000"), "defence_costs": D("30000")}, D(0), D("1"),
                        {"damages": D("1e6"), "defence_costs": D("1e6")}, D("50000"), "CNY")
    assert p.by_kind == {"damages": D("37500.00"), "defence_costs": D("12500.00")}
    assert p.limited_by == ["aggregate_limit"]


def test_unknown_kind_and_negative_are_refused() -> None:
    """A kind the policy does not pay, or a negative amount, names the field."""
    with pytest.raises(QuoteInputError, match="assessed.damages"):
        compute_payable({"damages": D(1)}, D(0), D(1), {"legal_costs": D(1)}, D(1), "CNY")
    with pytest.raises(QuoteInputError, match="must not be negative"):
        compute_payable({"legal_costs": D(-1)}, D(0), D(1), {"legal_costs": D(1)}, D(1), "CNY")


@settings(max_examples=200, deadline=None)
@given(a=money, b=money, ded=money, share=st.decimals(min_value=0, max_value=1, places=3),
       sub_a=money, sub_b=money, agg=money)
def test_payable_never_exceeds_any_limit(
    a: Decimal, b: Decimal, ded: Decimal, share: Decimal, sub_a: Decimal, sub_b: Decimal,
    agg: Decimal,
) -> None:
    """Payable <= each sub-limit, the aggregate, the shared loss after deductible; cents exact."""
    p = compute_payable({"x": a, "y": b}, ded, share, {"x": sub_a, "y": sub_b}, agg, "CNY")
    assert p.total == sum(p.by_kind.values())
    assert p.total <= agg
    assert p.by_kind["x"] <= sub_a
    assert p.by_kind["y"] <= sub_b
    assert p.total <= max(D(0), a + b - ded) * share + D("0.01")
    assert all(v >= 0 and v == v.quantize(D("0.01")) for v in p.by_kind.values())


@settings(max_examples=100, deadline=None)
@given(a=money, extra=money, ded=money, agg=money)
def test_payable_is_monotone_in_the_loss(a: Decimal, extra: Decimal, ded: Decimal,
                                         agg: Decimal) -> None:
    """A larger assessed loss never pays less."""
    lim = {"x": D("1e9")}
    low = compute_payable({"x": a}, ded, D("0.8"), lim, agg, "CNY").total
    high = compute_payable({"x": a + extra}, ded, D("0.8"), lim, agg, "CNY").total
    assert high >= low


def test_reserve_from_expected_cost() -> None:
    """Expected cost 120,000, deductible 20,000, share 0.9 -> 90,000 within the aggregate."""
    assert reserve_for_cost(D("120000"), D("20000"), D("0.9"), D("1e6"), "CNY") == D("90000.00")
    assert reserve_for_cost(D("120000"), D("20000"), D("0.9"), D("5000"), "CNY") == D("5000.00")
    assert reserve_for_cost(D("1000"), D("20000"), D("0.9"), D("1e6"), "CNY") == D("0.00")


def test_lender_loss_is_shared_60_20_20(policy: Policy) -> None:
    """Outstanding 1,000,000, sale nets 400,000: loss 600,000 -> 360,000 : 120,000 : 120,000."""
    loss = share_loss(D("1000000"), D("400000"), policy.loan.loss_sharing, "CNY")
    assert (loss.loss, loss.insurer, loss.guarantor, loss.bank) == (
        D("600000.00"), D("360000.00"), D("120000.00"), D("120000.00"))


def test_lender_loss_range_from_p10_and_p50(policy: Policy) -> None:
    """Recovery at P10 nets 80 % (recovery cost rate 20 %): the P10 loss is the larger one."""
    est = estimate_lender_loss(D("500000"), D("300000"), D("450000"), policy.loan.recovery,
                               policy.loan.loss_sharing, "CNY")
    assert est.at_p10.recovery == D("240000.00")
    assert est.at_p10.loss == D("260000.00")
    assert est.at_p50.loss == D("140000.00")
    assert est.at_p10.insurer == D("156000.00")


@settings(max_examples=100, deadline=None)
@given(out=money, rec=money)
def test_loss_shares_add_up(out: Decimal, rec: Decimal) -> None:
    """The three shares add up to the loss to the cent."""
    from models.policy import load_policy

    loss = share_loss(out, rec, load_policy().loan.loss_sharing, "CNY")
    assert loss.insurer + loss.bank + loss.guarantor == loss.loss


def test_advance_of_the_determined_part_worked_example() -> None:
    """Deductible 10,000, co-pay 10 %, investigation sub-limit 30,000: advances step by step."""
    subs = {"investigation_costs": D("30000"), "legal_costs": D("1000000")}
    first = advance_limit({"investigation_costs": D("20000")}, D("10000"), D("0.9"), subs,
                          D("1000000"), {}, "CNY")
    # (20,000 - 10,000) x 0.9 = 9,000: the whole deductible comes off the part already determined
    assert first.advanceable == {"investigation_costs": D("9000.00")}
    assert first.total == D("9000.00")
    later = advance_limit({"investigation_costs": D("40000"), "legal_costs": D("60000")},
                          D("10000"), D("0.9"), subs, D("1000000"),
                          {"investigation_costs": D("9000.00")}, "CNY")
    # 100,000 - 10,000 = 90,000 shared 40:60 -> 36,000 x 0.9 = 32,400 capped at 30,000 and
    # 54,000 x 0.9 = 48,600; the 9,000 advanced before comes off investigation
    assert later.determined.by_kind == {"investigation_costs": D("30000.00"),
                                        "legal_costs": D("48600.00")}
    assert later.advanceable == {"investigation_costs": D("21000.00"),
                                 "legal_costs": D("48600.00")}
    assert later.over_advanced == {}
    lowered = advance_limit({"investigation_costs": D("5000")}, D("10000"), D("0.9"), subs,
                            D("1000000"), {"investigation_costs": D("9000.00")}, "CNY")
    assert lowered.over_advanced == {"investigation_costs": D("9000.00")}
    assert lowered.advanceable == {"investigation_costs": D(0)}


def test_aggregate_cut_keeps_what_the_claim_already_paid() -> None:
    """100,000 left; damages 40,000 advanced: the pro-rata cut shares only the other 60,000."""
    subs = {"damages": D("1e6"), "defence_costs": D("1e6")}
    loss = {"damages": D("100000"), "defence_costs": D("100000")}
    plain = compute_payable(loss, D(0), D(1), subs, D("100000"), "CNY")
    assert plain.by_kind == {"damages": D("50000.00"), "defence_costs": D("50000.00")}
    kept = compute_payable(loss, D(0), D(1), subs, D("100000"), "CNY",
                           already_paid={"damages": D("40000")})
    # damages keep 40,000, then 60,000 shared 60:100 -> 22,500 and 37,500
    assert kept.by_kind == {"damages": D("62500.00"), "defence_costs": D("37500.00")}
    full = compute_payable(loss, D(0), D(1), subs, D("100000"), "CNY",
                           already_paid={"damages": D("100000")})
    assert full.by_kind == {"damages": D("100000.00"), "defence_costs": D("0.00")}


@settings(max_examples=200, deadline=None)
@given(inv=money, legal=money, more_inv=money, more_legal=money, ded=money,
       share=st.decimals(min_value=0, max_value=1, places=2), agg=money, sub=money)
def test_a_decision_on_more_than_the_determined_part_pays_at_least_the_advances(
    inv: Decimal, legal: Decimal, more_inv: Decimal, more_legal: Decimal, ded: Decimal,
    share: Decimal, agg: Decimal, sub: Decimal,
) -> None:
    """Advance all that is advanceable; a final assessment at least as large pays every kind."""
    subs = {"investigation_costs": sub, "legal_costs": D("1e7")}
    limit = advance_limit({"investigation_costs": inv, "legal_costs": legal}, ded, share, subs,
                          agg, {}, "CNY")
    advanced = dict(limit.advanceable)
    final = compute_payable({"investigation_costs": inv + more_inv, "legal_costs": legal +
                             more_legal}, ded, share, subs, agg, "CNY", already_paid=advanced)
    for kind, amount in advanced.items():
        assert final.by_kind[kind] >= amount
    assert final.total <= max(D(0), agg).quantize(D("0.01"))
