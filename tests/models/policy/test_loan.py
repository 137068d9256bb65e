from __future__ import annotations

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
    assess_pledge_loan,
    load_policy,
)

BORROWER = Applicant(applicant_id="firm-1", role="borrower")
_SEVERITY = {Decision.ACCEPT: 0, Decision.REFER: 1, Decision.DECLINE: 2}


def _assess(policy, **kw):
    args = {
        "default_probability": 0.04,
        "portfolio_p10": 2_000_000.0,
        "portfolio_p50": 3_000_000.0,
        "requested_amount": 300_000.0,
        "term_months": 24,
        "patent_types": ["invention"],
        "applicant": BORROWER,
    } | kw
    return assess_pledge_loan(policy, **args)


def test_worked_example(policy):
    q = _assess(policy)
    # 4 % over 24 months is 2.02 % a year: grade BB (1 %..3 %), LTV 20 %, loading 50 %.
    assert q.annual_default_probability == pytest.approx(1 - 0.96**0.5)
    assert q.grade is Grade.BB
    assert (q.ltv_grade, q.ltv_patent_type_cap, q.ltv_applied) == (0.2, 0.25, 0.2)
    assert q.max_loan == 400_000.0
    assert not q.over_limit
    assert (q.amount_that_fits, q.excess_amount) == (300_000.0, 0.0)
    # Recovery 2m x (1 - 50 %) x (1 - 20 %) = 800k covers the loan: LGD is the 25 % floor.
    assert q.recovery_value == 800_000.0
    assert q.lgd == 0.25
    assert q.expected_loss == 3_000.0
    assert q.expected_loss_by_party.model_dump() == {
        "insurer": 1_800.0,
        "bank": 600.0,
        "guarantor": 600.0,
    }
    assert q.premium.expected_loss == 1_800.0
    assert q.gross_premium == 1_800.0 + 900.0 + 500.0
    assert q.decision is Decision.ACCEPT
    assert (q.policy_version, q.policy_sha256) == (policy.version, policy.sha256)


def test_request_above_the_limit_is_flagged_with_the_amount_that_fits(policy):
    q = _assess(policy, requested_amount=500_000.0)
    assert q.over_limit
    assert (q.max_loan, q.amount_that_fits, q.excess_amount) == (400_000.0, 400_000.0, 100_000.0)
    assert q.exposure == 400_000.0
    assert q.requested_ltv_p10 == 0.25
    assert q.decision is Decision.REFER
    over = next(r for r in q.reasons if r.code == "over_limit")
    assert "400,000 CNY fits" in over.message


def test_weakest_patent_type_caps_the_loan_to_value(policy):
    q = _assess(policy, patent_types=["invention", "utility_model", "invention"])
    assert (q.ltv_applied, q.binding_patent_type, q.max_loan) == (0.15, "utility_model", 300_000.0)
    assert "patent_type_cap" in {r.code for r in q.reasons}
    design = _assess(policy, default_probability=0.0001, patent_types=["design"])
    assert design.grade is Grade.AAA
    assert (design.ltv_grade, design.ltv_applied, design.max_loan) == (0.4, 0.1, 200_000.0)


def test_loss_given_default_above_the_floor_when_recovery_is_short(write_policy):
    policy = load_policy(write_policy(lambda d: d["loan"]["recovery"].update(haircut=0.9)))
    q = _assess(policy, requested_amount=400_000.0)
    # Recovery 2m x 0.1 x 0.8 = 160k against 400k: LGD = 1 - 0.4 = 0.6.
    assert q.lgd == pytest.approx(0.6)
    assert q.expected_loss == pytest.approx(0.04 * 0.6 * 400_000, abs=0.01)


def test_money_is_decimal_rounded_once_to_the_currency_unit(policy):
    # Odd values so that every figure has decimals to round: each is Decimal at 2 decimals, and
    # the shares are the exact expected loss's shares rounded (not the rounded loss's).
    q = _assess(policy, default_probability=0.0371, portfolio_p10=1_234_567.891,
                portfolio_p50=2_000_000.0, requested_amount=300_000.005)
    money = {"max_loan": q.max_loan, "amount_that_fits": q.amount_that_fits,
             "excess_amount": q.excess_amount, "exposure": q.exposure,
             "recovery_value": q.recovery_value, "expected_loss": q.expected_loss,
             **{f"by_party.{k}": v for k, v in q.expected_loss_by_party},
             "gross_premium": q.gross_premium, "net_premium": q.net_premium}
    for name, value in money.items():
        assert isinstance(value, Decimal), name
        assert value == value.quantize(Decimal("0.01")), name
    assert q.max_loan == Decimal("246913.58")  # 1,234,567.891 x 20 % = 246,913.5782
    assert q.recovery_value == Decimal("493827.16")  # x 50 % x 80 % = 493,827.1564
    exact = Decimal("0.0371") * Decimal(repr(q.lgd)) * q.exposure
    assert q.expected_loss == exact.quantize(Decimal("0.01"))
    assert q.expected_loss_by_party.insurer == (exact * Decimal("0.6")).quantize(Decimal("0.01"))
    assert q.model_dump(mode="json")["max_loan"] == 246913.58  # a JSON number, as premiums


def test_grades_without_loan_value_are_declined(policy):
    q = _assess(policy, default_probability=0.2, term_months=12)
    assert q.grade is Grade.CC
    assert (q.max_loan, q.amount_that_fits, q.gross_premium) == (0.0, 0.0, 0.0)
    assert q.decision is Decision.DECLINE


def test_term_beyond_policy_is_referred_and_beyond_120_refused(policy):
    q = _assess(policy, term_months=48)
    assert q.decision is Decision.REFER
    assert "term_over_policy" in {r.code for r in q.reasons}
    with pytest.raises(QuoteInputError) as info:
        _assess(policy, term_months=240)
    assert str(info.value) == "loan.term_months must be between 1 and 120, got 240"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"default_probability": -0.1}, "loan.default_probability must be between 0 and 1"),
        ({"portfolio_p10": -1.0}, "loan.portfolio_p10 must be a non-negative amount"),
        ({"portfolio_p50": 1_000.0}, r"loan.portfolio_p50 must be at least loan.portfolio_p10"),
        ({"requested_amount": 0.0}, "loan.requested_amount must be a positive amount"),
        ({"term_months": 0}, "loan.term_months must be between 1 and 120, got 0"),
        ({"patent_types": []}, "loan.patent_types must list at least one patent type"),
        ({"patent_types": ["invention", "trademark"]}, r"loan.patent_types\[1\] must be one of"),
    ],
)
def test_bad_inputs_name_the_field(policy, kwargs, message):
    with pytest.raises(QuoteInputError, match=message):
        _assess(policy, **kwargs)


def test_ineligible_role_is_refused(policy):
    seller = Applicant(applicant_id="x", role="seller")
    with pytest.raises(IneligibleError, match=r"products\.pledge_loan\.eligible_roles"):
        _assess(policy, applicant=seller)


def test_subsidy_applies_to_the_guarantee_premium(policy):
    pilot = BORROWER.model_copy(update={"pilot_enterprise": True})
    q = _assess(policy, applicant=pilot)
    assert q.subsidy.amount == 1_600.0
    assert q.net_premium == 1_600.0


terms = st.integers(1, 120)
pds = st.floats(0.0, 1.0)


@given(
    p=pds,
    q=pds,
    term=terms,
    p10=st.floats(0.0, 1e8),
    types=st.sampled_from([["invention"], ["utility_model"], ["design", "invention"], ["utility"]]),
)
def test_higher_default_probability_never_raises_the_max_loan(policy, p, q, term, p10, types):
    low, high = sorted((p, q))
    a = _assess(
        policy,
        default_probability=low,
        term_months=term,
        portfolio_p10=p10,
        portfolio_p50=p10,
        patent_types=types,
    )
    b = _assess(
        policy,
        default_probability=high,
        term_months=term,
        portfolio_p10=p10,
        portfolio_p50=p10,
        patent_types=types,
    )
    assert a.grade.rank <= b.grade.rank
    assert a.max_loan >= b.max_loan
    assert _SEVERITY[a.decision] <= _SEVERITY[b.decision]


@given(p10=st.floats(1.0, 1e8), r1=st.floats(0.01, 1e8), r2=st.floats(0.01, 1e8), pd=pds)
def test_higher_requested_loan_to_value_never_improves_the_decision(policy, p10, r1, r2, pd):
    small, large = sorted((r1, r2))
    a = _assess(
        policy,
        default_probability=pd,
        portfolio_p10=p10,
        portfolio_p50=p10,
        requested_amount=small,
        term_months=12,
    )
    b = _assess(
        policy,
        default_probability=pd,
        portfolio_p10=p10,
        portfolio_p50=p10,
        requested_amount=large,
        term_months=12,
    )
    assert a.max_loan == b.max_loan
    assert a.amount_that_fits <= b.amount_that_fits <= b.max_loan
    assert b.over_limit == (large > b.max_loan)
    assert _SEVERITY[a.decision] <= _SEVERITY[b.decision]


@given(p=st.floats(0.0, 0.149), q=st.floats(0.0, 0.149))
def test_higher_default_probability_never_lowers_the_premium_on_a_loan_that_fits(policy, p, q):
    low, high = sorted((p, q))
    a = _assess(policy, default_probability=low, term_months=12, requested_amount=10_000.0)
    b = _assess(policy, default_probability=high, term_months=12, requested_amount=10_000.0)
    assert not b.over_limit
    assert a.gross_premium <= b.gross_premium


@given(p10a=st.floats(0.0, 1e8), p10b=st.floats(0.0, 1e8), pd=pds)
def test_lower_collateral_value_never_raises_the_max_loan(policy, p10a, p10b, pd):
    low, high = sorted((p10a, p10b))
    a = _assess(policy, default_probability=pd, portfolio_p10=low, portfolio_p50=high)
    b = _assess(policy, default_probability=pd, portfolio_p10=high, portfolio_p50=high)
    assert a.max_loan <= b.max_loan
