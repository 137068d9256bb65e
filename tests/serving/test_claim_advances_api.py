"""Advance payment (先予支付) over HTTP: the part already determined, paid before the decision.

On the trained world (the assessment's reserve needs the severity model), on SQLite and
PostgreSQL. Enforcement cover of 1,000,000 with no deductible and a 10 % co-pay: the insurer pays
0.9 of each cost, investigation costs up to their 300,000 sub-limit; one adjuster may pay up to
100,000 alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from tests.serving.conftest import api_headers as _h
from tests.serving.conftest import insurance_app
from tests.serving.conftest import ok_json as _ok

pytestmark = pytest.mark.slow
TODAY = dt.date.today().isoformat()


@pytest.fixture
def app(trained_settings: Settings, tmp_path: Path, database_url: str
        ) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app over the trained world with its own store and a second adjuster's key."""
    with insurance_app(trained_settings, database_url) as app:
        yield app


def _claim_under_assessment(client: TestClient, keys: dict[str, str], patent: str,
                            applicant: str) -> dict:
    """Bind 1,000,000 of enforcement cover, notify and register a claim, open the assessment."""
    quote = _ok(client.post("/v1/quotes/enforcement", headers=_h(keys, "underwriter"), json={
        "patent": {"patent_id": patent},
        "applicant": {"applicant_id": applicant, "role": "patent_holder"},
        "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}))
    policy = _ok(client.post("/v1/policies", headers=_h(keys, "underwriter"), json={
        "quote_id": quote["assessment_id"], "insured": {"name": "Insured Ltd"},
        "start_date": TODAY, "referral_reason": "pilot programme"}), 201)
    claim = _ok(client.post("/v1/claims", headers=_h(keys, "adjuster"), json={
        "policy_id": policy["number"], "incident_date": TODAY, "filed_date": TODAY,
        "patent_ids": [patent], "counterparty": "Copycat Devices Ltd"}), 201)
    early = client.post(f"/v1/claims/{claim['id']}/advances", headers=_h(keys, "adjuster"),
                        json={"determined": {"legal_costs": 1000}, "loss_kind": "legal_costs"})
    assert early.status_code == 409
    assert early.json()["current_state"] == "notified"
    _ok(client.post(f"/v1/claims/{claim['id']}/registration", headers=_h(keys, "adjuster"),
                    json={}))
    _ok(client.post(f"/v1/claims/{claim['id']}/assessment", headers=_h(keys, "adjuster"),
                    json={}))
    return _ok(client.post(f"/v1/claims/{claim['id']}/reserve", headers=_h(keys, "adjuster"),
                           json={"amount": 500_000, "reason": "lawyers' estimate"}))


def test_advances_count_against_the_decision(app: tuple, trained_ids: dict) -> None:
    """45,000 then 180,000 advanced (the second approved by another adjuster); 99,000 left."""
    client, keys = app
    claim = _claim_under_assessment(client, keys, trained_ids["patents"][0], "ADV-1")
    cid = claim["id"]
    first = {"determined": {"investigation_costs": 50_000}, "loss_kind": "investigation_costs",
             "reason": "notary and purchase invoices checked"}
    claim = _ok(client.post(f"/v1/claims/{cid}/advances", headers=_h(keys, "adjuster", "a-1"),
                            json=first), 201)
    again = _ok(client.post(f"/v1/claims/{cid}/advances", headers=_h(keys, "adjuster", "a-1"),
                            json=first), 201)
    assert again == claim
    # 50,000 x 0.9 = 45,000, paid at once (within the authority); the claim stays assessed
    assert claim["state"] == "under_assessment"
    assert claim["balances"]["advanced"] == "45000.00"
    assert claim["balances"]["paid"] == "45000.00"
    assert claim["balances"]["reserve"] == "455000.00"
    assert [e["kind"] for e in claim["ledger"]].count("advance_payment") == 1
    assert claim["assessment"]["advances"]["determined"] == {"investigation_costs": "50000.00"}
    more = client.post(f"/v1/claims/{cid}/advances", headers=_h(keys, "adjuster"),
                       json={"loss_kind": "investigation_costs", "amount": 1})
    assert more.status_code == 422
    assert more.json()["detail"][0]["rule"] == "within_advanceable"

    # legal costs billed: 250,000 determined in all pays 45,000 + 180,000; 180,000 > 100,000
    claim = _ok(client.post(f"/v1/claims/{cid}/advances", headers=_h(keys, "adjuster", "a-2"),
                            json={"determined": {"investigation_costs": 50_000,
                                                 "legal_costs": 200_000},
                                  "loss_kind": "legal_costs"}), 201)
    assert claim["balances"]["pending_approval"] == "180000.00"
    entry = claim["pending_payments"][0]
    blocked = client.post(f"/v1/claims/{cid}/decision", headers=_h(keys, "adjuster"),
                          json={"assessed": {"legal_costs": 1}, "reason": "too early"})
    assert blocked.status_code == 409
    assert blocked.json()["rule"] == "advance_awaiting_approval"
    same = client.post(f"/v1/claims/{cid}/advances/{entry}/approval",
                       headers=_h(keys, "adjuster"), json={"reason": "checked"})
    assert same.status_code == 409
    assert same.json()["rule"] == "second_approver"
    claim = _ok(client.post(f"/v1/claims/{cid}/advances/{entry}/approval",
                            headers=_h(keys, "adjuster2"), json={"reason": "bills checked"}))
    assert claim["state"] == "under_assessment"
    assert claim["balances"]["paid"] == "225000.00"
    assert claim["balances"]["reserve"] == "275000.00"

    # decision: 60,000 x 0.9 = 54,000 and 300,000 x 0.9 = 270,000; 225,000 of 324,000 paid
    claim = _ok(client.post(f"/v1/claims/{cid}/decision", headers=_h(keys, "adjuster"), json={
        "assessed": {"investigation_costs": 60_000, "legal_costs": 300_000},
        "reason": "final invoices"}))
    assert claim["decision"] == "approved"
    assert claim["state"] == "partially_paid"
    assert claim["balances"]["payable"] == "324000.00"
    assert claim["balances"]["left_to_pay"] == "99000.00"
    assert claim["balances"]["reserve"] == "99000.00"
    over = client.post(f"/v1/claims/{cid}/payments", headers=_h(keys, "adjuster"),
                       json={"amount": "9000.01", "loss_kind": "investigation_costs"})
    assert over.json()["detail"][0]["rule"] == "within_agreed_amount"
    _ok(client.post(f"/v1/claims/{cid}/payments", headers=_h(keys, "adjuster"),
                    json={"amount": 9_000, "loss_kind": "investigation_costs"}), 201)
    claim = _ok(client.post(f"/v1/claims/{cid}/payments", headers=_h(keys, "adjuster"),
                            json={"amount": 90_000, "loss_kind": "legal_costs"}), 201)
    assert claim["state"] == "paid"
    assert claim["balances"]["paid"] == "324000.00"
    assert claim["balances"]["reserve"] == "0.00"
    assert [e["action"] for e in claim["timeline"]] == [
        "notify", "register", "assess", "revise_reserve", "pay_advance", "pay_advance",
        "approve_advance", "decide", "count_advances", "pay", "pay"]
    book = _ok(client.get("/v1/reports/book", headers=_h(keys, "regulator")))
    row, = book["rows"]
    assert row["claims_paid"] == "324000.00"
    assert row["claims_advanced"] == "225000.00"


def test_an_advance_above_the_final_amount_must_be_reversed_first(
    app: tuple, trained_ids: dict
) -> None:
    """18,000 advanced on 20,000 of legal costs; a decision on 10,000 waits for the reversal."""
    client, keys = app
    claim = _claim_under_assessment(client, keys, trained_ids["patents"][1], "ADV-2")
    cid = claim["id"]
    claim = _ok(client.post(f"/v1/claims/{cid}/advances", headers=_h(keys, "adjuster"), json={
        "determined": {"legal_costs": 20_000}, "loss_kind": "legal_costs"}), 201)
    entry = next(e["id"] for e in claim["ledger"] if e["kind"] == "advance_payment")
    assert claim["balances"]["advanced"] == "18000.00"
    for body, field, rule in [
        ({"determined": {"legal_costs": 10_000}, "loss_kind": "legal_costs"},
         "determined.legal_costs", "not_below_advanced"),
        ({"determined": {"damages": 10_000}, "loss_kind": "damages"},
         "determined.damages", "kind_of_loss"),
        ({"determined": {"legal_costs": 30_000}, "loss_kind": "legal_costs", "amount": 100,
          "currency": "USD"}, "currency", "policy_currency"),
    ]:
        r = client.post(f"/v1/claims/{cid}/advances", headers=_h(keys, "adjuster"), json=body)
        assert r.status_code == 422, r.text
        assert (r.json()["detail"][0]["field"], r.json()["detail"][0]["rule"]) == (field, rule)
    low = {"assessed": {"legal_costs": 10_000}, "reason": "court cut the fees"}
    r = client.post(f"/v1/claims/{cid}/decision", headers=_h(keys, "adjuster"), json=low)
    assert r.status_code == 422
    assert r.json()["detail"][0]["rule"] == "not_below_paid"
    claim = _ok(client.post(f"/v1/claims/{cid}/advances/{entry}/reversal",
                            headers=_h(keys, "adjuster"), json={"reason": "insured repaid"}))
    assert claim["state"] == "under_assessment"
    assert (claim["balances"]["advanced"], claim["balances"]["paid"]) == ("0.00", "0.00")
    assert claim["balances"]["reserve"] == "500000.00"
    claim = _ok(client.post(f"/v1/claims/{cid}/decision", headers=_h(keys, "adjuster"),
                            json=low))
    assert (claim["state"], claim["balances"]["payable"]) == ("approved", "9000.00")
    assert claim["balances"]["reserve"] == "9000.00"
