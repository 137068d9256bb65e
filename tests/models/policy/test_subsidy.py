from __future__ import annotations

import pytest

from models.policy import Applicant, QuoteInputError
from models.policy.subsidy import compute_subsidy


def _firm(**flags) -> Applicant:
    return Applicant(applicant_id="firm-1", role="patent_holder", **flags)


def test_no_matching_attribute_means_no_subsidy(policy):
    s = compute_subsidy(policy, "enforcement", _firm(), 10_000.0)
    assert (s.amount, s.share, s.matched_rules) == (0.0, 0.0, [])


def test_matching_rules_take_the_largest_share(policy):
    s = compute_subsidy(policy, "enforcement", _firm(sme=True, high_tech_enterprise=True), 10_000.0)
    assert s.matched_rules == ["high_tech_enterprise", "sme"]
    assert (s.share, s.amount, s.capped_by) == (0.3, 3_000.0, None)


def test_cap_per_policy(policy):
    s = compute_subsidy(policy, "liability", _firm(pilot_enterprise=True), 100_000.0)
    assert s.uncapped_amount == 50_000.0
    assert (s.amount, s.capped_by) == (20_000.0, "per_policy")
    assert s.remaining_this_year == 30_000.0


def test_cap_per_applicant_year(policy):
    s = compute_subsidy(policy, "enforcement", _firm(pilot_enterprise=True), 30_000.0, 45_000.0)
    assert (s.amount, s.capped_by, s.remaining_this_year) == (5_000.0, "per_applicant_year", 0.0)
    spent = compute_subsidy(policy, "enforcement", _firm(pilot_enterprise=True), 30_000.0, 50_000)
    assert spent.amount == 0.0


def test_sum_mode_is_capped_by_max_share(write_policy):
    from models.policy import load_policy

    def summing(d):
        d["subsidy"].update(combine="sum", max_share=0.6)

    policy = load_policy(write_policy(summing))
    s = compute_subsidy(policy, "enforcement", _firm(pilot_enterprise=True, sme=True), 1_000.0)
    assert s.share == 0.6
    s = compute_subsidy(policy, "enforcement", _firm(high_tech_enterprise=True, sme=True), 1_000.0)
    assert s.share == pytest.approx(0.5)


def test_product_outside_the_subsidy_scheme_gets_none(write_policy):
    from models.policy import load_policy

    policy = load_policy(write_policy(lambda d: d["subsidy"].update(products=["enforcement"])))
    assert compute_subsidy(policy, "liability", _firm(pilot_enterprise=True), 1_000.0).amount == 0


def test_negative_amount_used_is_refused(policy):
    with pytest.raises(QuoteInputError, match="subsidy_used_this_year must be a non-negative"):
        compute_subsidy(policy, "enforcement", _firm(), 1_000.0, -1.0)
