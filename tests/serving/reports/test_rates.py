"""Rate adequacy: the interval, the A/E table, and backtest figures worked out directly."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from features.pipelines import patent_features
from models.policy import Applicant, ApplicantRole, Product, quote_insurance
from serving.reports.rates import adequacy, poisson_interval
from serving.scoring.entities import severity_frame
from serving.scoring.explanations import predict
from tests.serving.reports.conftest import csv_table, in_force_at


def test_poisson_interval_matches_the_garwood_table() -> None:
    assert poisson_interval(0) == pytest.approx((0.0, 3.6889), abs=1e-4)
    assert poisson_interval(1) == pytest.approx((0.0253, 5.5716), abs=1e-4)
    assert poisson_interval(10) == pytest.approx((4.7954, 18.3904), abs=1e-4)


def test_adequacy_on_a_hand_made_book() -> None:
    rows = pd.DataFrame({
        "product": ["enforcement"] * 4, "grade": ["A", "A", "B", "B"], "unit": list("wxyz"),
        "probability": [0.5, 0.5, 0.01, 0.01], "claim": [1.0, 1.0, 0.0, 0.0],
        "premium": [100.0, 100.0, 10.0, 10.0], "expected_loss": [50.0, 50.0, 1.0, 1.0],
        "actual_loss": [80.0, 40.0, 0.0, 0.0],
    })
    out = adequacy(rows, ["product", "grade"]).set_index("grade")
    a = out.loc["A"]
    assert (a["exposures"], a["expected_claims"], a["actual_claims"]) == (2, 1.0, 2.0)
    assert a["ae_claims"] == pytest.approx(2.0)
    lo, hi = poisson_interval(2)
    assert (a["ae_lower"], a["ae_upper"]) == pytest.approx((lo, hi))
    assert a["ae_losses"] == pytest.approx(120 / 100)
    assert a["actual_loss_ratio"] == pytest.approx(120 / 200)
    assert a["verdict"] == "adequate"  # 2 claims against 1 expected: the interval holds 1
    b = out.loc["B"]
    assert b["ae_claims"] == 0.0
    assert b["verdict"] == "adequate"
    many = rows.assign(claim=[1.0, 1.0, 1.0, 1.0], probability=[0.01] * 4)
    assert adequacy(many, ["product"])["verdict"].iloc[0] == "under-priced"


@pytest.mark.slow
def test_enforcement_backtest_year_worked_out_directly(basis, raw, written) -> None:
    by_year = csv_table(written["rates"], "adequacy_enforcement_by_year").set_index("year")
    year = int(by_year.index.max())
    t = dt.date(year - 1, 12, 31)
    alive = in_force_at(raw, t).sort_values("patent_id")
    cases = raw["cases"]
    sued = set(cases.loc[cases["filed_date"].dt.year == year, "patent_id"])
    feats = patent_features(basis.cursor, t, patent_ids=alive["patent_id"].tolist()) \
        .set_index("patent_id")
    p = predict(basis.models.require("litigation"), feats)["probability"]
    cost = predict(basis.models.require("severity"),
                   severity_frame(feats, "enforcement"))["expected_cost"]
    premium = 0.0
    for pid in alive["patent_id"]:
        q = quote_insurance(basis.models.policy, Product.ENFORCEMENT, float(p[pid]),
                            float(cost[pid]), 1_000_000.0, 0.0, 12,
                            Applicant(applicant_id="x", role=ApplicantRole.PATENT_HOLDER))
        premium += float(q.gross_premium)  # Decimal money; the report sums floats
    row = by_year.loc[year]
    assert row["exposures"] == len(alive)
    assert row["actual_claims"] == alive["patent_id"].isin(sued).sum()
    assert row["expected_claims"] == pytest.approx(float(p.sum()), rel=1e-9)
    assert row["premium"] == pytest.approx(premium, rel=1e-9)
    closed = cases[(cases["filed_date"].dt.year == year)
                   & (cases["closed_date"] <= pd.Timestamp(basis.as_of))]
    costs = closed.groupby("patent_id")["plaintiff_legal_cost"].sum().clip(upper=1_000_000.0)
    assert row["actual_losses"] == pytest.approx(
        float(costs[costs.index.isin(set(alive["patent_id"]))].sum()), rel=1e-9)


@pytest.mark.slow
def test_grade_tables_add_up_to_the_year_tables(written) -> None:
    grade_year = csv_table(written["rates"], "adequacy_by_grade_year")
    for product in ("enforcement", "liability", "pledge_loan"):
        years = csv_table(written["rates"], f"adequacy_{product}_by_year").set_index("year")
        part = grade_year[grade_year["product"] == product].groupby("year")
        assert part["exposures"].sum().to_dict() == years["exposures"].to_dict()
        assert part["premium"].sum().to_dict() == pytest.approx(years["premium"].to_dict())
    mis = csv_table(written["rates"], "mispriced_grades")
    assert set(mis["verdict"]) <= {"under-priced", "over-priced"}
