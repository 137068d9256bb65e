"""Policy status and claim state machine, cover schedule, pro-rata, deadlines, registration."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.policy import Policy
from models.policy.cover import earned_fraction, period_end, pro_rata_refund, schedule_cover
from models.policy.deadlines import claim_deadlines
from models.policy.errors import IllegalTransitionError
from models.policy.lifecycle import (
    CLAIM_ACTIONS,
    CLAIM_TRANSITIONS,
    ClaimState,
    PolicyAction,
    PolicyStatus,
    check_claim_action,
    check_claim_transition,
    check_policy_action,
    claim_actions,
    policy_status,
)
from models.policy.money import from_minor, parse_amount, rounded, to_minor
from models.policy.registration import IncidentFacts, InsuredObjects, registration_denials

D = Decimal
day = dt.date


def test_policy_status_follows_the_dates() -> None:
    """Bound before the start, in force in the period, expired after, cancelled from a day."""
    s, e = day(2025, 1, 1), day(2025, 12, 31)
    assert policy_status(s, e, None, day(2024, 12, 31)) is PolicyStatus.BOUND
    assert policy_status(s, e, None, e) is PolicyStatus.IN_FORCE
    assert policy_status(s, e, None, day(2026, 1, 1)) is PolicyStatus.EXPIRED
    assert policy_status(s, e, day(2025, 7, 1), day(2025, 7, 1)) is PolicyStatus.CANCELLED


def test_expired_policy_cannot_be_endorsed() -> None:
    """The error names the current status and what is allowed."""
    with pytest.raises(IllegalTransitionError) as err:
        check_policy_action(PolicyStatus.EXPIRED, PolicyAction.ENDORSE)
    assert err.value.current == "expired"
    assert err.value.allowed == ["claim"]


def test_claim_happy_path_is_allowed() -> None:
    """notified -> registered -> under_assessment -> approved -> paid -> closed."""
    path = ["notified", "registered", "under_assessment", "approved", "paid", "closed",
            "reopened", "under_assessment"]
    for a, b in zip(path, path[1:], strict=False):
        check_claim_transition(ClaimState(a), ClaimState(b), "move")


def test_illegal_claim_transition_names_state_and_allowed() -> None:
    """Paying a notified claim: 409-style error with the allowed next states."""
    with pytest.raises(IllegalTransitionError) as err:
        check_claim_action(ClaimState.NOTIFIED, "pay")
    assert err.value.current == "notified"
    assert err.value.allowed == ["registered", "denied"]
    with pytest.raises(IllegalTransitionError):
        check_claim_transition(ClaimState.PARTIALLY_PAID, ClaimState.CLOSED, "close")


@given(st.sampled_from(list(ClaimState)))
def test_every_action_offered_leads_somewhere_allowed(state: ClaimState) -> None:
    """Offered actions are exactly those allowed; closed claims can only be reopened."""
    offered = claim_actions(state)
    for action in offered:
        check_claim_action(state, action)
    for action in set(CLAIM_ACTIONS) - set(offered):
        with pytest.raises(IllegalTransitionError):
            check_claim_action(state, action)
    assert all(t in ClaimState for t in CLAIM_TRANSITIONS[state])
    if state is ClaimState.CLOSED:
        assert offered == ["record_recovery", "reopen"]


def test_schedule_from_policy_file(policy: Policy) -> None:
    """Enforcement: co-pay 10 %, investigation sub-limit 30 % of the limit, 24 months retro."""
    cover = schedule_cover(policy, "enforcement", day(2025, 3, 1), 12, D("1000000"), D("5000"))
    assert cover.end_date == day(2026, 2, 28)
    assert cover.retroactive_date == day(2023, 3, 1)
    assert cover.sub_limits == {"investigation_costs": D("300000.00"),
                                "legal_costs": D("1000000.00")}
    assert cover.insurer_share == D("0.9")
    loan = schedule_cover(policy, "pledge_loan", day(2025, 3, 1), 12, D("500000"), D(0))
    assert loan.insurer_share == D("0.6")


def test_pro_rata_refund_worked() -> None:
    """365-day period cancelled from day 74 (15 March): 292 of 365 days unearned."""
    s = day(2025, 1, 1)
    refund = pro_rata_refund(D("3650.00"), s, period_end(s, 12), day(2025, 3, 15), "CNY")
    assert refund == D("2920.00")


@given(st.integers(0, 400), st.decimals(min_value=0, max_value=10**7, places=2))
def test_refund_plus_earned_is_the_premium(offset: int, premium: Decimal) -> None:
    """Refund never exceeds the premium and falls as the cancellation day moves later."""
    s = day(2025, 1, 1)
    e = period_end(s, 12)
    on = s + dt.timedelta(days=offset)
    refund = pro_rata_refund(premium, s, e, on, "CNY")
    later = pro_rata_refund(premium, s, e, on + dt.timedelta(days=1), "CNY")
    assert D(0) <= later <= refund <= premium
    assert 0 <= earned_fraction(s, e, on) <= 1


def test_deadlines_of_article_23(policy: Policy) -> None:
    """Decision due 30 days after complete documents; payment due 10 days after the decision."""
    rules = policy.claims
    docs = day(2025, 5, 1)
    open_ = claim_deadlines(rules, docs, None, False, None, day(2025, 6, 1))
    assert open_.decision_due == day(2025, 5, 31)
    assert open_.decision_overdue
    decided = claim_deadlines(rules, docs, day(2025, 5, 20), True, None, day(2025, 5, 30))
    assert decided.payment_due == day(2025, 5, 30)
    assert not decided.overdue
    assert claim_deadlines(rules, docs, day(2025, 5, 20), True, None, day(2025, 5, 31)).overdue


def test_registration_checks(policy: Policy) -> None:
    """Each failed check is a reason: retroactive date, period, patent, product class."""
    cover = schedule_cover(policy, "enforcement", day(2025, 1, 1), 12, D("1e6"), D(0))
    insured = InsuredObjects(patent_ids=("P1",))
    ok = IncidentFacts(incident_date=day(2024, 6, 1), filed_date=day(2025, 2, 1),
                       patent_ids=("P1",))
    assert registration_denials(cover, insured, ok) == []
    bad = IncidentFacts(incident_date=day(2022, 6, 1), filed_date=day(2026, 2, 1),
                        patent_ids=("P2",))
    codes = [r.code for r in registration_denials(cover, insured, bad)]
    assert codes == ["before_retroactive_date", "not_accepted_in_period", "patent_not_insured"]
    cancelled = InsuredObjects(patent_ids=("P1",), cancelled_from=day(2025, 1, 15))
    assert "not_accepted_in_period" in [
        r.code for r in registration_denials(cover, cancelled, ok)]
    liab = schedule_cover(policy, "liability", day(2025, 1, 1), 12, D("1e6"), D(0))
    claim = IncidentFacts(incident_date=day(2025, 3, 1), filed_date=day(2025, 4, 1),
                          product_class="B25J")
    assert [r.code for r in registration_denials(
        liab, InsuredObjects(product_classes=("H04L",)), claim)] == ["product_class_not_insured"]
    assert registration_denials(liab, InsuredObjects(product_classes=("B25",)), claim) == []


def test_money_rounds_once_and_round_trips() -> None:
    """Half up to the currency's minor unit; minor units round-trip; bad amounts name the field."""
    assert rounded(D("0.125"), "CNY") == D("0.13")
    assert rounded(D("12.5"), "JPY") == D("13")
    assert from_minor(to_minor(D("1234.56"), "CNY"), "CNY") == D("1234.56")
    assert parse_amount("amount", "10.5", "CNY") == D("10.50")
    from models.policy.errors import QuoteInputError

    for bad, rule in [(-1, "negative"), ("1.234", "at most 2 decimals"), ("x", "an amount"),
                      ("1e40", "at most")]:
        with pytest.raises(QuoteInputError, match=rule):
            parse_amount("amount", bad, "CNY")
