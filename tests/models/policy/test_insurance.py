from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.policy import (
    Applicant,
    Decision,
    Grade,
    IneligibleError,
    QuoteInputError,
    quote_insurance,
)

HOLDER = Applicant(applicant_id="firm-1", role="patent_holder")
PILOT = Applicant(applicant_id="firm-2", role="patent_holder", pilot_enterprise=True)
MAKER = Applicant(applicant_id="firm-3", role="manufacturer")
_SEVERITY = {Decision.ACCEPT: 0, Decision.REFER: 1, Decision.DECLINE: 2}


def test_worked_example_shows_every_part(policy):
    q = quote_insurance(policy, "enforcement", 0.03, 400_000, 300_000, 10_000, 12, PILOT)
    # 3 % is grade B (2 %..5 %): loading 50 %; payable = min(300k, 400k - 10k) = 300k.
    assert q.grade is Grade.B
    assert q.period_probability == pytest.approx(0.03)
    assert q.payable_per_claim == 300_000
    assert q.premium.expected_loss == 9_000.0
    assert q.premium.risk_loading_amount == 4_500.0
    assert q.premium.expense_loading == 300.0
    assert q.gross_premium == 13_800.0
    assert q.subsidy.amount == 6_900.0
    assert q.net_premium == 6_900.0
    assert q.premium_per_unit_cover == pytest.approx(0.046)
    assert q.decision is Decision.ACCEPT
    assert [r.code for r in q.reasons] == ["grade_accepted", "cover_limit_below_cost", "subsidy"]
    assert (q.policy_version, q.policy_sha256) == (policy.version, policy.sha256)
    assert json.loads(q.model_dump_json())["premium"]["gross_premium"] == 13_800.0


def test_period_probability_scales_the_12_month_probability(policy):
    q = quote_insurance(policy, "liability", 0.1, 200_000, 1_000_000, 0, 6, MAKER)
    assert q.period_probability == pytest.approx(1 - 0.9**0.5)
    assert q.premium.expected_loss == Decimal("10263.34")  # 200,000 x (1 - 0.9 ** 0.5), once
    three_years = quote_insurance(policy, "liability", 0.1, 200_000, 1_000_000, 0, 36, MAKER)
    assert three_years.period_probability == pytest.approx(1 - 0.9**3)


def test_deductible_above_cost_leaves_the_minimum_premium(policy):
    q = quote_insurance(policy, "enforcement", 0.01, 50_000, 500_000, 60_000, 12, HOLDER)
    assert q.payable_per_claim == 0.0
    assert q.premium.expected_loss == 0.0
    assert q.premium.minimum_premium_applied
    assert q.gross_premium == 1_000.0
    assert {"nothing_payable", "minimum_premium"} <= {r.code for r in q.reasons}


@pytest.mark.parametrize(
    ("p", "decision", "code"),
    [
        (0.049, Decision.ACCEPT, "grade_accepted"),
        (0.05, Decision.REFER, "grade_referred"),
        (0.2, Decision.DECLINE, "grade_declined"),
    ],
)
def test_referral_and_decline_thresholds(policy, p, decision, code):
    q = quote_insurance(policy, "enforcement", p, 100_000, 200_000, 0, 12, HOLDER)
    assert q.decision is decision
    assert q.reasons[0].code == code
    assert len(q.reasons) <= 4


def test_ineligible_applicant_is_refused(policy):
    with pytest.raises(IneligibleError, match=r"products\.liability\.eligible_roles"):
        quote_insurance(policy, "liability", 0.01, 1, 1, 0, 12, HOLDER)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"product": "pledge_loan"}, "insurance.product must be enforcement or liability"),
        ({"annual_probability": 1.5}, "insurance.annual_probability must be between 0 and 1"),
        ({"cover_limit": 0}, "insurance.cover_limit must be a positive amount, got 0"),
        ({"deductible": -5}, "insurance.deductible must be a non-negative amount, got -5"),
        ({"period_months": 48}, "insurance.period_months must be between 1 and 36, got 48"),
        ({"period_months": 0}, "insurance.period_months must be between 1 and 36, got 0"),
    ],
)
def test_bad_inputs_name_the_field(policy, kwargs, message):
    args = {
        "product": "enforcement",
        "annual_probability": 0.01,
        "expected_claim_cost": 100_000,
        "cover_limit": 200_000,
        "deductible": 0,
        "period_months": 12,
        "applicant": HOLDER,
    } | kwargs
    with pytest.raises(QuoteInputError, match=message):
        quote_insurance(policy, **args)


@given(
    product=st.sampled_from(["enforcement", "liability"]),
    p=st.floats(0.0, 1.0),
    q=st.floats(0.0, 1.0),
    cost=st.floats(0.0, 5e6),
    limit=st.floats(1.0, 5e6),
    deductible=st.floats(0.0, 1e5),
    months=st.integers(1, 36),
    used=st.floats(0.0, 6e4),
)
def test_higher_probability_never_lowers_premium_or_improves_grade(
    policy, product, p, q, cost, limit, deductible, months, used
):
    low, high = sorted((p, q))
    applicant = PILOT if product == "enforcement" else MAKER.model_copy(update={"sme": True})
    a = quote_insurance(policy, product, low, cost, limit, deductible, months, applicant, used)
    b = quote_insurance(policy, product, high, cost, limit, deductible, months, applicant, used)
    assert a.grade.rank <= b.grade.rank
    assert a.premium.expected_loss <= b.premium.expected_loss
    assert a.gross_premium <= b.gross_premium
    assert a.net_premium <= b.net_premium
    assert _SEVERITY[a.decision] <= _SEVERITY[b.decision]
    assert 0.0 <= b.subsidy.amount <= min(20_000.0, max(0.0, 50_000.0 - used)) + 1e-6
    assert b.net_premium == pytest.approx(b.gross_premium - b.subsidy.amount)


def test_premium_figures_are_decimals_rounded_once(policy):
    """The gross premium is rounded from exact parts, never from already rounded ones."""
    from models.policy.money import exact, money
    from models.policy.premium import price
    from models.policy.scale import Grade

    spec = policy.product("liability")
    loading = exact(spec.band(Grade.CCC).risk_loading)
    differs = 0
    for cents in range(100_000_00, 100_000_00 + 400):
        el = cents / 100 + 0.004  # a model's float, a fraction of a cent
        parts = price(spec, Grade.CCC, el, "CNY")
        once = money(exact(el) * (1 + loading) + exact(spec.expense_loading), "CNY")
        assert parts.gross_premium == max(once, parts.minimum_premium)
        assert parts.gross_premium.as_tuple().exponent == -2
        twice = parts.expected_loss + parts.risk_loading_amount + parts.expense_loading
        differs += twice != parts.gross_premium
    assert differs > 0  # rounding the parts first would have been a cent off
