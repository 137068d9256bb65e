"""Every feature against the hand-built world, with answers worked out by hand."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import pytest

from features.pipelines import (
    LoanFacts,
    firm_features,
    loan_features,
    loan_features_for_ids,
    patent_features,
)
from features.registry import CPC_CLASSES, CPC_SECTIONS

T = date(2015, 12, 31)


def _years(a: date, b: date) -> float:
    return (b - a).days / 365.25


def _row(frame, **key):  # noqa: ANN001, ANN202
    sel = frame
    for k, v in key.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1
    return sel.iloc[0]


def test_patent_p1_end_2015(world_con: duckdb.DuckDBPyConnection) -> None:
    r = _row(patent_features(world_con, T, ["P1"]), patent_id="P1")
    expected = {
        "patent_age_years": _years(date(2010, 1, 1), T),
        # CN invention, no expiry given: 20 years from filing.
        "remaining_term_years": _years(T, date(2030, 1, 1)),
        "patent_type": 0.0, "jurisdiction": 0.0,
        "cpc_section": float(CPC_SECTIONS.index("H")), "cpc_class": float(CPC_CLASSES.index("H04")),
        "num_claims": 10, "num_independent_claims": 2, "first_claim_words": 150,
        "family_size": 3, "num_inventors": 2,
        "grant_lag_years": _years(date(2010, 1, 1), date(2012, 1, 1)),
        "backward_citations": 0,
        # P2 (2013-06), P3 (2012-10), P4 (2014-01); P5 cites only on 2016-01-01.
        "forward_citations": 3, "forward_citations_3y": 3, "forward_citations_5y": 3,
        "self_citation_share": 1 / 3,  # P2 belongs to A, P1's owner at grant
        "generality": 1 - 3 * (1 / 3) ** 2,  # G06F, H04W, H04L
        "renewals_paid": 2, "lapsed": 0, "transfers": 1, "licences": 1, "pledges": 1,
        "invalidation_requests": 0, "invalidations_upheld": 0, "invalidated": 0,
        "suits_on_patent": 1,  # K1; K3 is filed in 2016
        # Owner at T is B (transfer 2014-06-01): plaintiff in K1 and K2, never defendant.
        "owner_suits_as_plaintiff": 2, "owner_suits_as_defendant": 0,
        "owner_kind": 4.0,  # npe
        "owner_portfolio_size": 2,  # P1 and P4
        # H04L: K1 and K2 in the 3 years before T, P1 and P4 in force.
        "class_suit_rate": 1000 * 2 / (3 * 2),
    }
    for name, want in expected.items():
        assert r[name] == pytest.approx(want), name
    assert math.isnan(r["originality"])


def test_patent_p1_end_2013_and_p2(world_con: duckdb.DuckDBPyConnection) -> None:
    t = date(2013, 12, 31)
    f = patent_features(world_con, t, ["P1", "P2"])
    p1 = _row(f, patent_id="P1")
    assert p1["forward_citations"] == 2  # P2 and P3 only
    assert p1["transfers"] == 0
    assert p1["owner_kind"] == 0.0
    assert p1["owner_portfolio_size"] == 2  # P1, P2
    assert p1["owner_suits_as_defendant"] == 0  # K2 comes in March 2014
    assert p1["class_suit_rate"] == 0.0
    p2 = _row(f, patent_id="P2")
    assert p2["backward_citations"] == 1
    assert p2["originality"] == 0.0
    assert p2["forward_citations"] == 0
    assert math.isnan(p2["generality"])
    assert p2["remaining_term_years"] == pytest.approx(_years(t, date(2031, 1, 1)))
    p2_late = _row(patent_features(world_con, T, ["P2"]), patent_id="P2")
    assert p2_late["invalidation_requests"] == 1
    assert p2_late["invalidations_upheld"] == 1
    # P4 cites P1 (H04L), P2 (G06F) and X999 (outside the dataset, no class).
    p4 = _row(patent_features(world_con, T, ["P4"]), patent_id="P4")
    assert p4["backward_citations"] == 3
    assert p4["originality"] == pytest.approx(0.5)


def test_patent_lapse_and_ungranted(world_con: duckdb.DuckDBPyConnection) -> None:
    f = patent_features(world_con, T, ["P3", "P5"])
    p3 = _row(f, patent_id="P3")
    assert p3["lapsed"] == 1
    assert p3["patent_type"] == 1.0
    assert p3["remaining_term_years"] == pytest.approx(_years(T, date(2022, 1, 1)))
    p5 = _row(f, patent_id="P5")  # filed 2014, granted only on 2016-01-01
    assert math.isnan(p5["grant_lag_years"])
    assert math.isnan(p5["remaining_term_years"])
    assert p5["backward_citations"] == 0  # its citations become known at its grant


def test_firm_a(world_con: duckdb.DuckDBPyConnection) -> None:
    f = firm_features(world_con, [T, date(2016, 12, 31)], ["A"])
    a = _row(f, assignee_id="A", as_of="2015-12-31")
    expected = {
        "firm_kind": 0.0, "firm_industry": 0.0, "firm_age_years": 15,
        # FY2015 is known only from 2016-04-01: FY2014 is the latest at T.
        "firm_revenue_log": math.log10(1001), "firm_assets_log": math.log10(2001),
        "firm_debt_ratio": 0.25, "firm_profit_margin": 0.1, "firm_roa": 0.05,
        "firm_tech_classes": 2, "firm_tech_concentration": 0.75**2 + 0.25**2,
        "firm_portfolio_size": 1,  # P2; P1 went to B
        "firm_portfolio_citations_mean": 1.0,  # P4 cites P2
        "firm_suits_as_defendant": 1, "firm_suits_as_defendant_3y": 1,
        "firm_suits_as_plaintiff": 0,
        # H04L rate 333.3 x 0.75 + G06F rate 0 x 0.25
        "firm_class_suit_intensity": 0.75 * 1000 * 2 / 6,
    }
    for name, want in expected.items():
        assert a[name] == pytest.approx(want), name
    assert math.isnan(a["firm_revenue_growth"])
    a16 = _row(f, assignee_id="A", as_of="2016-12-31")
    assert a16["firm_revenue_growth"] == pytest.approx(0.2)
    assert a16["firm_suits_as_defendant"] == 2


def test_loan_l1(world_con: duckdb.DuckDBPyConnection) -> None:
    r = _row(loan_features_for_ids(world_con, ["L1"]), loan_id="L1")
    t = date(2015, 6, 30)
    expected = {
        "loan_amount_log": math.log10(101), "loan_term_months": 24, "loan_ltv": 0.25,
        "borrower_kind": 1.0, "borrower_prior_defaults": 0,
        "pledged_count": 2,
        "pledged_citations_mean": 1.5, "pledged_citations_max": 3,  # P1: 3, P3: 0
        "pledged_remaining_term_mean": (_years(t, date(2030, 1, 1))
                                        + _years(t, date(2022, 1, 1))) / 2,
        "pledged_claims_mean": 8, "pledged_share_lapsed": 0.5, "pledged_share_invention": 0.5,
        "pledged_suits": 1,
        "pledged_class_suit_rate_mean": 1000 * 2 / 6,  # H04W has no patent in force
    }
    for name, want in expected.items():
        assert r[name] == pytest.approx(want), name
    assert math.isnan(r["borrower_revenue_log"])  # C has no financials


def test_loan_l2_sees_borrower_default(world_con: duckdb.DuckDBPyConnection) -> None:
    # A later loan of C sees L1's default (2016-03-01) once it has happened.
    later = LoanFacts(loan_id="new", as_of=date(2016, 6, 30), borrower_id="C", amount=10,
                      term_months=12, pledged_patent_ids=("P5",))
    earlier = later.model_copy(update={"loan_id": "old", "as_of": date(2016, 2, 1)})
    f = loan_features(world_con, [later, earlier])
    assert _row(f, loan_id="new")["borrower_prior_defaults"] == 1
    assert _row(f, loan_id="old")["borrower_prior_defaults"] == 0
    assert math.isnan(_row(f, loan_id="new")["loan_ltv"])  # no appraisal given
