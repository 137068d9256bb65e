"""Quote -> bind -> endorse -> claim -> register -> assess -> pay -> close -> report, over HTTP.

Runs on a generated, trained world (the models price the quotes and the first reserve) against
SQLite and PostgreSQL; the amounts are worked out in each test from the policy file's terms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from tests.serving.conftest import api_headers as _h
from tests.serving.conftest import insurance_app
from tests.serving.conftest import ok_json as _ok

pytestmark = pytest.mark.slow
D = Decimal
CENT = D("0.01")


@pytest.fixture(scope="module")
def world(trained_ids: dict[str, object]) -> dict[str, object]:
    """In-force patents of one firm with financials and product classes, and product makers."""
    return trained_ids


@pytest.fixture
def app(trained_settings: Settings, tmp_path: Path, database_url: str
        ) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app over the trained world with its own store (SQLite or PostgreSQL) and keys."""
    with insurance_app(trained_settings, database_url) as app:
        yield app


def _enforcement_policy(client: TestClient, keys: dict, patent: str, applicant: str,
                        limit: float = 1_000_000) -> tuple[dict, dict]:
    quote = _ok(client.post("/v1/quotes/enforcement", headers=_h(keys, "underwriter"), json={
        "patent": {"patent_id": patent},
        "applicant": {"applicant_id": applicant, "role": "patent_holder",
                      "pilot_enterprise": True},
        "cover_limit": limit, "deductible": 0, "period_months": 12}))
    bound = _ok(client.post("/v1/policies", headers=_h(keys, "underwriter", f"b-{applicant}"),
                            json={"quote_id": quote["assessment_id"],
                                  "insured": {"name": "Insured Ltd"},
                                  "start_date": dt.date.today().isoformat(),
                                  "referral_reason": "pilot programme"}), 201)
    return quote, bound


def _claim(client: TestClient, keys: dict, policy: dict, patent: str, **extra: object) -> dict:
    body = {"policy_id": policy["number"], "incident_date": dt.date.today().isoformat(),
            "filed_date": dt.date.today().isoformat(), "patent_ids": [patent],
            "counterparty": "Copycat Devices Ltd", "court_or_agency": "Beijing IP Court",
            "description": "infringing products on sale", **extra}
    return _ok(client.post("/v1/claims", headers=_h(keys, "adjuster"), json=body), 201)


def test_enforcement_policy_and_claim_end_to_end(app: tuple, world: dict) -> None:
    """The whole flow with every amount worked out from the quote, the models and the policy."""
    client, keys = app
    patent = world["patents"][0]
    quote, policy = _enforcement_policy(client, keys, patent, "PILOT-E2E")
    again = _ok(client.post("/v1/quotes/enforcement", headers=_h(keys, "underwriter"), json={
        "patent": {"patent_id": patent},
        "applicant": {"applicant_id": "PILOT-E2E", "role": "patent_holder",
                      "pilot_enterprise": True},
        "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}))
    # the subsidy was granted to the bound policy, so a new quote sees it used
    granted = D(policy["premium"]["subsidy"])
    assert granted == D(str(quote["subsidy"]["amount"]))
    assert D(str(again["subsidy"]["used_before_this_year"])) == granted
    gross = D(policy["premium"]["gross_premium"])
    assert gross == D(str(quote["gross_premium"])).quantize(CENT)

    # endorsement: the limit rises to 1.5M from day 11, re-priced through the same models
    start = dt.date.fromisoformat(policy["schedule"]["start_date"])
    end = dt.date.fromisoformat(policy["schedule"]["end_date"])
    effective = start + dt.timedelta(days=10)
    endorsed = _ok(client.post(f"/v1/policies/{policy['id']}/endorsements",
                               headers=_h(keys, "underwriter", "e-1"),
                               json={"effective_date": effective.isoformat(),
                                     "cover_limit": 1_500_000,
                                     "reason": "insured asked for a higher limit"}), 201)
    versions = _ok(client.get(f"/v1/policies/{policy['id']}/versions",
                              headers=_h(keys, "regulator")))
    new_quote_id = versions[1]["document"]["quotes"][-1]
    new_quote = _ok(client.get(f"/v1/assessments/{new_quote_id}", headers=_h(keys, "regulator")))
    new_gross = D(str(new_quote["outputs"]["gross_premium"])).quantize(CENT)
    assert new_quote["request"]["cover_limit"] == 1_500_000
    assert D(endorsed["premium"]["gross_premium"]) == new_gross
    due = ((new_gross - gross) * ((end - effective).days + 1) / ((end - start).days + 1))
    assert D(endorsed["premium"]["change_due"]) == due.quantize(CENT)
    assert endorsed["schedule"]["aggregate_limit"] == "1500000.00"
    assert endorsed["schedule"]["sub_limits"]["investigation_costs"] == "450000.00"
    assert [v["change"] for v in versions] == ["bind", "endorse"]

    # claim: notice, registration, assessment with the severity model's reserve
    stranger = client.post("/v1/claims", headers=_h(keys, "adjuster"), json={
        "policy_id": policy["id"], "incident_date": dt.date.today().isoformat(),
        "filed_date": dt.date.today().isoformat(), "patent_ids": ["CN-NOT-INSURED"]})
    assert stranger.status_code == 422
    assert stranger.json()["detail"][0]["rule"] == "insured_patent"
    claim = _claim(client, keys, policy, patent,
                   claimed={"investigation_costs": 600_000, "legal_costs": 900_000})
    assert claim["state"] == "notified"
    early = client.post(f"/v1/claims/{claim['id']}/payments", headers=_h(keys, "adjuster"),
                        json={"amount": 100, "loss_kind": "legal_costs"})
    assert early.status_code == 409
    assert early.json()["current_state"] == "notified"
    assert early.json()["allowed"] == ["registered", "denied"]
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/registration",
                            headers=_h(keys, "adjuster"), json={}))
    assert claim["state"] == "registered"
    due = dt.date.today() + dt.timedelta(days=30)
    assert claim["deadlines"]["decision_due"] == due.isoformat()
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/assessment",
                            headers=_h(keys, "adjuster"), json={}))
    estimate = claim["assessment"]["estimate"]
    assert estimate["model"]["name"] == "patentrisk-severity"
    assert estimate["explanation"]["task"] == "severity"
    reserve = min(D(estimate["expected_cost"]) * D("0.9"), D(1_500_000)).quantize(CENT)
    assert D(claim["balances"]["reserve"]) == reserve
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/reserve", headers=_h(keys, "adjuster"),
                            json={"amount": 1_000_000, "reason": "lawyers' estimate received"}))
    assert claim["balances"]["reserve"] == "1000000.00"
    assert [e["kind"] for e in claim["ledger"]] == ["reserve", "reserve"]

    # decision: 600k x 0.9 = 540k capped at the 450k investigation sub-limit; 900k x 0.9 = 810k
    decision = {"assessed": {"investigation_costs": 600_000, "legal_costs": 900_000},
                "reason": "costs checked against invoices"}
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/decision",
                            headers=_h(keys, "adjuster", "d-1"), json=decision))
    assert _ok(client.post(f"/v1/claims/{claim['id']}/decision",
                           headers=_h(keys, "adjuster", "d-1"), json=decision)) == claim
    assert claim["state"] == "partially_approved"
    assert claim["payable"]["by_kind"] == {"investigation_costs": "450000.00",
                                           "legal_costs": "810000.00"}
    assert claim["balances"]["payable"] == "1260000.00"
    assert claim["balances"]["reserve"] == "1260000.00"

    # payments: 60k at once; 390k above the 100k authority waits for a second approver
    cid = claim["id"]
    pay = _h(keys, "adjuster", "p-1")
    claim = _ok(client.post(f"/v1/claims/{cid}/payments", headers=pay,
                            json={"amount": "60000", "loss_kind": "investigation_costs"}), 201)
    replay = _ok(client.post(f"/v1/claims/{cid}/payments", headers=pay,
                             json={"amount": "60000", "loss_kind": "investigation_costs"}), 201)
    assert replay == claim
    assert claim["state"] == "partially_paid"
    assert claim["balances"]["paid"] == "60000.00"
    over = client.post(f"/v1/claims/{cid}/payments", headers=_h(keys, "adjuster"),
                       json={"amount": "390000.01", "loss_kind": "investigation_costs"})
    assert over.status_code == 422
    assert over.json()["detail"][0]["rule"] == "within_agreed_amount"
    other = client.post(f"/v1/claims/{cid}/payments", headers=_h(keys, "adjuster"),
                        json={"amount": 10, "currency": "USD", "loss_kind": "legal_costs"})
    assert other.status_code == 422
    assert other.json()["detail"][0]["rule"] == "policy_currency"
    claim = _ok(client.post(f"/v1/claims/{cid}/payments", headers=_h(keys, "adjuster", "p-2"),
                            json={"amount": "390000", "loss_kind": "investigation_costs"}), 201)
    assert claim["balances"]["pending_approval"] == "390000.00"
    entry = claim["pending_payments"][0]
    same = client.post(f"/v1/claims/{cid}/payments/{entry}/approval",
                       headers=_h(keys, "adjuster"), json={"reason": "checked"})
    assert same.status_code == 409
    assert same.json()["rule"] == "second_approver"
    claim = _ok(client.post(f"/v1/claims/{cid}/payments/{entry}/approval",
                            headers=_h(keys, "adjuster2"), json={"reason": "checked invoices"}))
    assert claim["balances"]["paid"] == "450000.00"
    claim = _ok(client.post(f"/v1/claims/{cid}/payments", headers=_h(keys, "adjuster", "p-3"),
                            json={"amount": "810000", "loss_kind": "legal_costs"}), 201)
    claim = _ok(client.post(f"/v1/claims/{cid}/payments/{claim['pending_payments'][0]}/approval",
                            headers=_h(keys, "adjuster2"), json={"reason": "court fees paid"}))
    assert claim["state"] == "paid"
    assert claim["balances"]["paid"] == "1260000.00"
    assert claim["balances"]["reserve"] == "0.00"
    assert claim["deadlines"]["overdue"] is False
    claim = _ok(client.post(f"/v1/claims/{cid}/closure", headers=_h(keys, "adjuster"),
                            json={"reason": "settled in full"}))
    assert claim["state"] == "closed"
    assert claim["allowed_actions"] == ["record_recovery", "reopen"]
    assert [e["action"] for e in claim["timeline"]] == [
        "notify", "register", "assess", "revise_reserve", "decide", "pay", "pay",
        "approve_payment", "pay", "approve_payment", "close"]
    read = _ok(client.get(f"/v1/policies/{policy['id']}", headers=_h(keys, "regulator")))
    assert read["schedule"]["remaining_aggregate_limit"] == "240000.00"

    # the regulator's book: one row with the premium, subsidy and claim figures above
    book = _ok(client.get("/v1/reports/book", headers=_h(keys, "regulator")))
    row, = book["rows"]
    assert (row["product"], row["grade"], row["year"]) == ("enforcement", policy["grade"],
                                                           start.year)
    assert row["policies"] == 1
    assert D(row["written_premium"]) == gross + D(endorsed["premium"]["change_due"])
    assert D(row["subsidy"]) == granted
    assert row["claims_reported"] == 1
    assert row["claims_paid"] == "1260000.00"
    assert row["claims_reserved"] == "0.00"
    assert row["median_days_to_decision"] == 0.0
    assert row["overdue_claims"] == 0
    csv = client.get("/v1/reports/book?format=csv", headers=_h(keys, "regulator"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("product,grade,year,currency,policies")
    assert client.get("/v1/reports/book", headers=_h(keys, "underwriter")).status_code == 403


def test_concurrent_payments_never_pass_the_aggregate_limit(app: tuple, world: dict) -> None:
    """Two claims each agreed at the full 100k limit; ten payments of 20k race: five succeed."""
    client, keys = app
    patent = world["patents"][1]
    _quote, policy = _enforcement_policy(client, keys, patent, "AGG-1", limit=100_000)
    claims = []
    for _ in range(2):
        c = _claim(client, keys, policy, patent)
        _ok(client.post(f"/v1/claims/{c['id']}/registration", headers=_h(keys, "adjuster"),
                        json={}))
        _ok(client.post(f"/v1/claims/{c['id']}/assessment", headers=_h(keys, "adjuster"),
                        json={}))
        c = _ok(client.post(f"/v1/claims/{c['id']}/decision", headers=_h(keys, "adjuster"),
                            json={"assessed": {"legal_costs": 200_000}, "reason": "invoices"}))
        assert c["balances"]["payable"] == "100000.00"  # 180k capped by the aggregate
        claims.append(c["id"])

    def pay(i: int) -> int:
        return client.post(f"/v1/claims/{claims[i % 2]}/payments", headers=_h(keys, "adjuster"),
                           json={"amount": 20_000, "loss_kind": "legal_costs"}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(pay, range(10)))
    assert sorted(codes) == [201] * 5 + [422] * 5
    read = _ok(client.get(f"/v1/policies/{policy['id']}", headers=_h(keys, "regulator")))
    assert read["schedule"]["remaining_aggregate_limit"] == "0.00"
    paid = sum(D(_ok(client.get(f"/v1/claims/{c}", headers=_h(keys, "adjuster")))
                 ["balances"]["paid"]) for c in claims)
    assert paid == D(100_000)


def test_pledge_loan_guarantee_claim_shares_the_lenders_loss(
    app: tuple, world: dict, pledge_collateral: list[str]
) -> None:
    """Reserve from the value model's P10; after the sale the insurer pays 60 % of the loss."""
    client, keys = app
    loan = _ok(client.post("/v1/loans/assessments", headers=_h(keys, "bank"), json={
        "borrower": {"assignee_id": world["firm"]}, "requested_amount": 50_000,
        "term_months": 12, "pledged": [{"patent_id": p} for p in pledge_collateral]}))
    assert loan["decision"] != "decline", loan["explanation"]["reasons"]
    exposure = min(D(str(loan["requested_amount"])), D(str(loan["max_loan"]))).quantize(CENT)
    assert exposure > 0, loan
    policy = _ok(client.post("/v1/policies", headers=_h(keys, "bank"), json={
        "quote_id": loan["assessment_id"], "insured": {"name": "City Bank"},
        "start_date": dt.date.today().isoformat(), "referral_reason": "pilot programme"}), 201)
    assert policy["product"] == "pledge_loan"
    assert policy["schedule"]["insurer_share"] == "0.6"
    outstanding = exposure
    claim = _ok(client.post("/v1/claims", headers=_h(keys, "bank"), json={
        "policy_id": policy["id"], "incident_date": dt.date.today().isoformat(),
        "outstanding_amount": str(outstanding), "description": "borrower defaulted"}), 201)
    _ok(client.post(f"/v1/claims/{claim['id']}/registration", headers=_h(keys, "adjuster"),
                    json={}))
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/assessment", headers=_h(keys, "adjuster"),
                            json={}))
    est = claim["assessment"]["estimate"]
    p10 = D(est["portfolio_p10"])
    loss_p10 = max(D(0), outstanding - p10 * D("0.8"))
    assert D(est["loss_at_p10"]["loss"]) == loss_p10.quantize(CENT)
    assert D(claim["balances"]["reserve"]) == min((loss_p10 * D("0.6")).quantize(CENT), exposure)
    proceeds = (outstanding / 4).quantize(CENT)
    _ok(client.post(f"/v1/claims/{claim['id']}/sale", headers=_h(keys, "adjuster"),
                    json={"proceeds": str(proceeds), "disposal_costs": "1000",
                          "sold_on": dt.date.today().isoformat()}))
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/decision", headers=_h(keys, "adjuster"),
                            json={"reason": "sale completed"}))
    loss = outstanding - (proceeds - D(1000))
    insurer = (loss * D("0.6")).quantize(CENT)
    guarantor = (loss * D("0.2")).quantize(CENT)
    assert claim["payable"]["lender_loss"]["loss"] == str(loss.quantize(CENT))
    assert claim["payable"]["lender_loss"]["guarantor"] == str(guarantor)
    assert claim["payable"]["lender_loss"]["bank"] == str(loss.quantize(CENT) - insurer - guarantor)
    assert claim["balances"]["payable"] == str(insurer)
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/payments", headers=_h(keys, "adjuster"),
                            json={"amount": str(insurer), "loss_kind": "lender_loss"}), 201)
    assert claim["state"] == "paid"


def test_liability_claim_outside_the_insured_classes_is_denied_with_reasons(
    app: tuple, world: dict
) -> None:
    """A registration check that fails is a reasoned denial (200), then the claim closes."""
    client, keys = app
    for maker in world["makers"]:  # the first firm whose liability quote is not declined
        quote = _ok(client.post("/v1/quotes/liability", headers=_h(keys, "underwriter"), json={
            "firm": {"assignee_id": maker}, "product_classes": ["H04L"],
            "applicant": {"applicant_id": maker, "role": "manufacturer"},
            "cover_limit": 2_000_000, "deductible": 50_000}))
        if quote["decision"] != "decline":
            break
    policy = _ok(client.post("/v1/policies", headers=_h(keys, "underwriter"), json={
        "quote_id": quote["assessment_id"], "insured": {"name": "Maker Ltd"},
        "start_date": dt.date.today().isoformat(), "referral_reason": "pilot programme"}), 201)
    assert policy["product_classes"] == ["H04L"]
    claim = _ok(client.post("/v1/claims", headers=_h(keys, "adjuster"), json={
        "policy_id": policy["id"], "incident_date": dt.date.today().isoformat(),
        "filed_date": dt.date.today().isoformat(), "product_class": "B25J",
        "counterparty": "Patentee Inc", "court_or_agency": "Shanghai IP Court"}), 201)
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/registration",
                            headers=_h(keys, "adjuster"), json={}))
    assert claim["state"] == "denied"
    assert [r["code"] for r in claim["denial_reasons"]] == ["product_class_not_insured"]
    assert all(r["message_zh"] for r in claim["denial_reasons"])
    claim = _ok(client.post(f"/v1/claims/{claim['id']}/closure", headers=_h(keys, "adjuster"),
                            json={"reason": "not covered"}))
    assert claim["state"] == "closed"
    listed = _ok(client.get("/v1/claims?state=closed", headers=_h(keys, "regulator")))
    assert [c["id"] for c in listed["items"]] == [claim["id"]]
