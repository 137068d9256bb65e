from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.policy import Grade, Product, QuoteInputError

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
products = st.sampled_from(list(Product))


@pytest.mark.parametrize("product", list(Product))
def test_each_band_starts_exactly_at_its_lower_bound(policy, product):
    scale = policy.product(product).scale
    for prev, band in zip(scale, scale[1:], strict=False):
        assert policy.grade(product, band.lower) is band.grade
        assert policy.grade(product, math.nextafter(band.lower, 0.0)) is prev.grade


def test_known_boundaries_of_the_enforcement_scale(policy):
    grade = policy.grade
    assert grade("enforcement", 0.0) is Grade.AAA
    assert grade("enforcement", 0.000999) is Grade.AAA
    assert grade("enforcement", 0.001) is Grade.AA
    assert grade("enforcement", 0.0499) is Grade.B
    assert grade("enforcement", 0.05) is Grade.CCC
    assert grade("enforcement", 0.4999) is Grade.C
    assert grade("enforcement", 0.5) is Grade.D
    assert grade("enforcement", 1.0) is Grade.D


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf])
def test_probability_outside_unit_interval_is_refused(policy, bad):
    with pytest.raises(QuoteInputError, match=r"^probability must be between 0 and 1, got"):
        policy.grade("liability", bad)


def test_unknown_product_is_refused(policy):
    with pytest.raises(QuoteInputError, match=r"product must be one of enforcement, liability"):
        policy.grade("trade_credit", 0.1)


@given(product=products, p=probabilities)
def test_probability_falls_in_exactly_one_band(policy, product, p):
    grade = policy.grade(product, p)
    holding = [
        b.grade
        for b in policy.product(product).scale
        if b.lower <= p < b.upper or (p == 1.0 and b.upper == 1.0)
    ]
    assert holding == [grade]


@given(product=products, p=probabilities, q=probabilities)
def test_higher_probability_never_gets_a_better_grade(policy, product, p, q):
    low, high = sorted((p, q))
    assert policy.grade(product, low).rank <= policy.grade(product, high).rank
