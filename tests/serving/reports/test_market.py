"""Market report figures against direct computations on the trained world."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from features.pipelines import patent_features
from models.policy import Applicant, ApplicantRole, Decision, Product, quote_insurance
from serving.errors import InvalidInputError
from serving.reports.basis import ReportBasis
from serving.reports.market import MarketFilters, MarketParams, market_figures
from serving.scoring.entities import severity_frame
from serving.scoring.explanations import predict
from tests.serving.reports.conftest import csv_table, in_force_at

pytestmark = pytest.mark.slow


def test_stock_in_force_matches_a_direct_count(basis, raw, written) -> None:
    alive = in_force_at(raw, basis.as_of)
    stock = csv_table(written["market"], "stock_by_type").set_index("patent_type")["patents"]
    assert stock.to_dict() == alive["patent_type"].value_counts().to_dict()
    tech = csv_table(written["market"], "stock_by_technology").set_index("cpc_section")
    assert tech["patents"].to_dict() == alive["cpc_main"].str[0].value_counts().to_dict()
    assert tech["share"].sum() == pytest.approx(1.0)
    region = csv_table(written["market"], "stock_by_region").set_index("region")["patents"]
    owners = raw["assignees"].set_index("assignee_id")
    direct = alive["owner_id"].map(owners["region"]).fillna("unknown").value_counts()
    assert region.to_dict() == direct.to_dict()


def test_litigation_observed_and_expected_per_year(basis, raw, written) -> None:
    lit = csv_table(written["market"], "litigation_by_year").set_index("year")
    last = basis.as_of.year
    assert list(lit.index) == [last - 2, last - 1, last]
    cases = raw["cases"]
    for year in lit.index:
        alive = in_force_at(raw, dt.date(year - 1, 12, 31))
        sued = set(cases.loc[cases["filed_date"].dt.year == year, "patent_id"])
        assert lit.loc[year, "patents"] == len(alive)
        assert lit.loc[year, "observed"] == alive["patent_id"].isin(sued).sum()
    # Expected: the served pyfunc (with explanations) on the serving feature path, last year.
    alive = in_force_at(raw, dt.date(last - 1, 12, 31))
    feats = patent_features(basis.cursor, dt.date(last - 1, 12, 31),
                            patent_ids=alive["patent_id"].tolist()).set_index("patent_id")
    p = predict(basis.models.require("litigation"), feats)["probability"]
    assert lit.loc[last, "expected"] == pytest.approx(float(p.sum()), rel=1e-9)
    by_class = csv_table(written["market"], "litigation_by_class_year")
    assert by_class.groupby("year")["observed"].sum().to_dict() == lit["observed"].to_dict()


def test_eligible_firms_follow_the_policy_roles(basis, raw, written) -> None:
    elig = csv_table(written["market"], "eligible_firms").set_index(["product", "role"])
    holders = in_force_at(raw, basis.as_of)["owner_id"].nunique()
    assert elig.loc[("enforcement", "patent_holder"), "eligible_firms"] == holders
    assert elig.loc[("pledge_loan", "borrower"), "eligible_firms"] == holders
    assert elig.loc[("liability", "patent_holder"), "eligible_firms"] == 0
    assert not elig.loc[("enforcement", "manufacturer"), "eligible"]
    makers = raw["firm_technology"]["assignee_id"].nunique()
    founded = raw["assignees"].set_index("assignee_id")["founded_year"]
    late = {a for a in raw["firm_technology"]["assignee_id"].unique()
            if pd.notna(founded.get(a)) and founded.get(a) > basis.as_of.year}
    assert elig.loc[("liability", "manufacturer"), "eligible_firms"] == makers - len(late)
    lenders = raw["loans"].loc[raw["loans"]["start_date"] <= pd.Timestamp(basis.as_of),
                               "lender"].nunique()
    assert elig.loc[("pledge_loan", "bank"), "eligible_firms"] == lenders


def test_enforcement_premium_volume_and_subsidy_worked_out_directly(basis, raw) -> None:
    """On one CPC section: every patent quoted through the policy, subsidies capped per firm."""
    section = "E"
    figures = market_figures(basis, MarketFilters(cpc_section=section),
                             MarketParams(take_up=(0.2,), years=1))
    alive = in_force_at(raw, basis.as_of)
    alive = alive[alive["cpc_main"].str[0] == section].sort_values("patent_id")
    assert len(alive) > 0
    feats = patent_features(basis.cursor, basis.as_of,
                            patent_ids=alive["patent_id"].tolist()).set_index("patent_id")
    p = predict(basis.models.require("litigation"), feats)["probability"]
    cost = predict(basis.models.require("severity"),
                   severity_frame(feats, "enforcement"))["expected_cost"]
    kinds = raw["assignees"].set_index("assignee_id")["kind"]
    used: dict[str, float] = {}
    gross = subsidy = loss = 0.0
    for pid, owner in zip(alive["patent_id"], alive["owner_id"], strict=True):
        q = quote_insurance(basis.models.policy, Product.ENFORCEMENT, float(p[pid]),
                            float(cost[pid]), 1_000_000.0, 0.0, 12,
                            Applicant(applicant_id=owner, role=ApplicantRole.PATENT_HOLDER,
                                      sme=kinds.get(owner) == "sme"), used.get(owner, 0.0))
        used[owner] = used.get(owner, 0.0) + float(q.subsidy.amount)  # Decimal money
        if q.decision is not Decision.DECLINE:
            gross += float(q.gross_premium)
            subsidy += float(q.subsidy.amount)
            loss += float(q.premium.expected_loss)
    vol = figures.tables["premium_volume"].set_index("product").loc["enforcement"]
    assert vol["gross_premium"] == pytest.approx(0.2 * gross)
    assert vol["subsidy"] == pytest.approx(0.2 * subsidy)
    assert vol["net_premium"] == pytest.approx(0.2 * (gross - subsidy))
    assert vol["loss_ratio"] == pytest.approx(loss / gross)
    assert vol["buyers"] == pytest.approx(0.2 * alive["owner_id"].nunique())
    cap = basis.models.policy.subsidy.cap_per_applicant_year
    assert max(used.values()) <= cap + 1e-6


def test_premium_volume_scales_with_take_up_and_concentration_adds_up(written) -> None:
    vol = csv_table(written["market"], "premium_volume")
    for _, part in vol.groupby("product"):
        low, high = part.sort_values("take_up").to_dict("records")
        assert high["gross_premium"] == pytest.approx(low["gross_premium"] * 2.5)
        assert high["subsidy"] <= high["gross_premium"]
    classes = csv_table(written["market"], "concentration_classes")
    assert classes["expected_loss_share"].is_monotonic_decreasing
    summary = csv_table(written["market"], "concentration_summary").set_index("dimension")
    assert 0 < summary.loc["cpc_class", "hhi"] <= 1
    assert summary.loc["cpc_class", "top10_share"] == pytest.approx(
        classes["expected_loss_share"].head(10).sum())


def test_a_past_report_date_uses_the_stock_of_that_date(basis, raw) -> None:
    day = dt.date(basis.as_of.year - 3, 6, 30)
    past = ReportBasis(**{**vars(basis), "as_of": day})
    from serving.reports.market import holdings_at

    held = holdings_at(past, day, MarketFilters())
    direct = in_force_at(raw, day)
    assert sorted(held["patent_id"]) == sorted(direct["patent_id"])
    assert dict(zip(held["patent_id"], held["owner_id"], strict=True)) == dict(
        zip(direct["patent_id"], direct["owner_id"], strict=True))


@pytest.mark.parametrize(("field", "kwargs"), [
    ("owner_kind", {"owner_kind": "pirate"}), ("cpc_section", {"cpc_section": "Z"}),
    ("industry", {"industry": "mining"}),
])
def test_bad_filters_name_the_field(field: str, kwargs: dict) -> None:
    with pytest.raises(InvalidInputError, match=field) as info:
        MarketFilters(**kwargs)
    assert info.value.field == field


def test_bad_take_up_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="take_up"):
        MarketParams(take_up=(0.0, 0.5))


def test_liability_claim_costs_are_the_quotes(basis, scoring_client, scoring_keys) -> None:
    from serving.reports.liability_costs import liability_claim_costs
    from serving.reports.market import _manufacturers

    makers = _manufacturers(basis, MarketFilters())["cpc_class"]
    # Firms of different main classes, priced as one liability quote each.
    picked = makers.drop_duplicates().head(4)
    costs = liability_claim_costs(basis, picked, basis.as_of)
    for firm, cost in costs.items():
        answer = scoring_client.post("/v1/quotes/liability", json={
            "firm": {"assignee_id": firm},
            "applicant": {"applicant_id": firm, "role": "manufacturer"},
            "cover_limit": 2_000_000, "deductible": 0},
            headers={"X-API-Key": scoring_keys["underwriter"]})
        assert answer.status_code == 200, answer.text
        assert cost == pytest.approx(answer.json()["expected_claim_cost"], rel=1e-6), firm
