"""Portfolio report: the same values, default probability and loan terms as the API."""

from __future__ import annotations

import pytest

from serving.errors import InvalidInputError, NotFoundError
from serving.reports.builders import build_report
from serving.reports.portfolio import PortfolioRequest, portfolio_tables
from tests.serving.conftest import make_keys
from tests.serving.reports.conftest import in_force_at

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def borrower(basis, raw) -> tuple[str, list[str]]:
    """A firm holding between 3 and 30 patents in force, and those patents."""
    alive = in_force_at(raw, basis.as_of)
    counts = alive["owner_id"].value_counts()
    firm = sorted(counts[(counts >= 3) & (counts <= 30)].index)[0]
    return firm, sorted(alive.loc[alive["owner_id"] == firm, "patent_id"])


def test_values_and_loan_match_the_api(basis, borrower, scoring_client) -> None:
    firm, patents = borrower
    out = portfolio_tables(basis, PortfolioRequest(borrower=firm, amount=500_000.0))
    tb = out["tables"]
    keys = make_keys(scoring_client)
    h = {"X-API-Key": keys["bank"]}
    val = scoring_client.post("/v1/valuations", headers=h, json={
        "patents": [{"patent_id": p} for p in patents]})
    assert val.status_code == 200, val.text
    api = {p["patent_id"]: p for p in val.json()["patents"]}
    rows = tb["portfolio_patents"].set_index("patent_id")
    assert sorted(rows.index) == patents
    for pid, row in rows.iterrows():
        assert (row["p10"], row["p50"], row["p90"]) == pytest.approx(
            (api[pid]["p10"], api[pid]["p50"], api[pid]["p90"]))
        explained = api[pid]["explanation"]
        effects = {a["axis"]: a["effect"] for a in explained["axes"]}
        logs = {a["axis"]: a["contribution"] for a in explained["axes"]}
        assert (row["legal"], row["technical"], row["economic"]) == pytest.approx(
            (effects["legal"], effects["technical"], effects["economic"]))
        assert (row["legal_log"], row["technical_log"], row["economic_log"]) == pytest.approx(
            (logs["legal"], logs["technical"], logs["economic"]))
        # GB/T axes keep additivity in both units: base + three subtotals = the answer.
        assert row["base_value"] + row["legal_log"] + row["technical_log"] + \
            row["economic_log"] == pytest.approx(row["raw_score"], abs=1e-6)
        assert row["base_p50"] + row["legal"] + row["technical"] + row["economic"] == \
            pytest.approx(explained["output"], rel=1e-9)
        assert explained["output"] == pytest.approx(api[pid]["p50"])
    loan = scoring_client.post("/v1/loans/assessments", headers=h, json={
        "borrower": {"assignee_id": firm}, "requested_amount": 500_000, "term_months": 12,
        "pledged": [{"patent_id": p} for p in patents]})
    assert loan.status_code == 200, loan.text
    body = loan.json()
    summary = tb["portfolio_summary"].set_index("item")["value"]
    assert float(summary["default_probability"]) == pytest.approx(body["default_probability"])
    assert summary["grade"] == body["grade"]
    assert float(summary["max_loan"]) == pytest.approx(body["max_loan"])
    assert float(summary["total_p10"]) == pytest.approx(body["portfolio"]["p10"])
    assert float(summary["ltv_on_p10"]) == pytest.approx(500_000 / body["portfolio"]["p10"])


def test_concentration_and_stress(basis, borrower) -> None:
    firm, _ = borrower
    tb = portfolio_tables(basis, PortfolioRequest(borrower=firm))["tables"]
    patents = tb["portfolio_patents"]
    total = patents["p50"].sum()
    # The GB/T table splits the portfolio's P50 total into base value and the three axes.
    axes = tb["value_axes"].set_index("axis")
    assert list(axes.index) == ["base", "legal", "technical", "economic"]
    assert axes["value_p50"].sum() == pytest.approx(total)
    assert axes.loc["legal", "value_p50"] == pytest.approx(patents["legal"].sum())
    assert axes["share"].sum() == pytest.approx(1.0)
    for name in ("concentration_by_class", "concentration_by_term"):
        assert tb[name]["value_p50"].sum() == pytest.approx(total)
        assert tb[name]["share"].sum() == pytest.approx(1.0)
    stress = tb["stress"].set_index("scenario")
    base, removed = stress.iloc[0], stress.iloc[2]
    assert removed["p50"] == pytest.approx(total - patents["p50"].max())
    assert removed["p10"] <= base["p10"]
    assert stress.iloc[1]["p10"] == pytest.approx(patents["p10"].sum())
    # No amount asked: the report uses the policy's max loan, which fits.
    summary = tb["portfolio_summary"].set_index("item")["value"]
    assert float(summary["requested_amount"]) == pytest.approx(float(summary["max_loan"]))


def test_a_list_of_patents_names_the_main_holder(basis, borrower) -> None:
    firm, patents = borrower
    report = build_report(basis, "portfolio", patent_ids=patents[:2])
    assert report.folder.startswith(f"portfolio-{firm}-")


def test_bad_portfolio_requests() -> None:
    with pytest.raises(InvalidInputError, match="borrower"):
        PortfolioRequest()
    with pytest.raises(InvalidInputError, match="term_months"):
        PortfolioRequest(borrower="A1", term_months=0)


def test_unknown_borrower_is_not_found(basis) -> None:
    with pytest.raises(NotFoundError, match="NOPE"):
        portfolio_tables(basis, PortfolioRequest(borrower="NOPE"))
