"""Console bind, policy, claim and book pages over HTTP, checked against the API's own answers.

Runs on the trained world (the models price the quotes and the first reserve) with a SQLite
store; each page action is compared with what the API reads back afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from features.settings import Settings
from serving.policies.tables import PolicyRecord
from tests.serving.conftest import insurance_app

pytestmark = pytest.mark.slow

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
IDEM = re.compile(r'name="idempotency_key" value="([^"]+)"')
TODAY = dt.date.today


@pytest.fixture
def insurance(trained_settings: Settings, tmp_path: Path
              ) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app over the trained world with its own SQLite store and a key per role."""
    with insurance_app(trained_settings, f"sqlite:///{tmp_path / 'store.db'}") as app:
        yield app


def _sign_in(client: TestClient, key: str) -> None:
    client.cookies.clear()
    token = CSRF.search(client.get("/console/signin").text).group(1)
    answer = client.post("/console/signin", data={"csrf_token": token, "api_key": key},
                         follow_redirects=False)
    assert answer.status_code == 303


def _form(client: TestClient, path: str, form_id: str) -> dict[str, str]:
    """The CSRF token and idempotency key of form `form_id` on page `path`."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    html = page.text[page.text.index(f'id="{form_id}"'):]
    html = html[:html.index("</form>")]
    out = {"csrf_token": CSRF.search(html).group(1)}
    key = IDEM.search(html)
    if key:
        out["idempotency_key"] = key.group(1)
    return out


def _field_error(html: str, field_id: str) -> str:
    """The error text shown in the label of input `field_id`."""
    label = html[html.index(f'<label for="{field_id}"'):]
    label = label[:label.index("</label>")]
    found = re.search(r'class="field-error"[^>]*>([^<]*)<', label)
    assert found, label
    return found.group(1)


def _h(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"X-API-Key": keys[role]}


def _quote(client: TestClient, keys: dict[str, str], patent: str, applicant: str) -> dict:
    answer = client.post("/v1/quotes/enforcement", headers=_h(keys, "underwriter"), json={
        "patent": {"patent_id": patent},
        "applicant": {"applicant_id": applicant, "role": "patent_holder",
                      "pilot_enterprise": True},
        "cover_limit": 1_000_000, "deductible": 0, "period_months": 12})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _bind(client: TestClient, keys: dict[str, str], patent: str, applicant: str) -> str:
    """Quote through the API as the console's underwriter, bind through the console."""
    quote = _quote(client, keys, patent, applicant)
    _sign_in(client, keys["underwriter"])
    path = f"/console/quotes/{quote['assessment_id']}"
    answer = client.post(f"{path}/bind", data={
        **_form(client, path, "bind-form"), "insured.name": "Insured Ltd",
        "start_date": TODAY().isoformat(), "referral_reason": "pilot programme"},
        follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("/", 1)[1]


def test_bind_from_the_quote_page_binds_once_as_the_api_does(insurance, trained_ids) -> None:
    client, keys = insurance
    quote = _quote(client, keys, trained_ids["patents"][0], "CONSOLE-BIND")
    _sign_in(client, keys["underwriter"])
    path = f"/console/quotes/{quote['assessment_id']}"
    form = _form(client, path, "bind-form")
    late = (TODAY() + dt.timedelta(days=400)).isoformat()
    bad = client.post(f"{path}/bind", data={**form, "insured.name": "", "start_date": late})
    assert bad.status_code == 422
    assert "insured: Field required [missing]" in _field_error(bad.text, "f-insured.name")
    assert "Traceback" not in bad.text
    bad = client.post(f"{path}/bind", data={**form, "insured.name": "Lightwave",
                                            "start_date": late,
                                            "referral_reason": "pilot programme"})
    assert bad.status_code == 422
    start_error = _field_error(bad.text, "f-start_date")
    assert "start_date must be between" in start_error
    assert "[within_start_window]" in start_error
    assert late in bad.text  # the typed value is kept
    good = {**form, "insured.name": "Lightwave", "start_date": TODAY().isoformat(),
            "referral_reason": "pilot programme"}
    first = client.post(f"{path}/bind", data=good, follow_redirects=False)
    second = client.post(f"{path}/bind", data=good, follow_redirects=False)  # double submit
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        bound = session.scalars(sa.select(PolicyRecord).where(
            PolicyRecord.quote_id == quote["assessment_id"])).all()
    assert len(bound) == 1
    policy_id = bound[0].id
    assert first.headers["location"] == f"/console/policies/{policy_id}"
    # a fresh form (new key) for the bound quote: the API's 409 naming the rule
    again = client.post(f"{path}/bind", data={**_form(client, path, "bind-form"),
                                              "insured.name": "Lightwave",
                                              "start_date": TODAY().isoformat(),
                                              "referral_reason": "pilot programme"})
    assert again.status_code == 409
    assert "[quote_already_bound]" in again.text
    api = client.get(f"/v1/policies/{policy_id}", headers=_h(keys, "regulator")).json()
    assert api["insured"]["name"] == "Lightwave"
    page = client.get(f"/console/policies/{policy_id}")
    assert page.status_code == 200
    gross = Decimal(api["premium"]["gross_premium"])
    assert f"{gross:,.2f} CNY" in page.text
    assert f"{Decimal(api['premium']['subsidy']):,.2f} CNY" in page.text
    assert 'id="refund-preview"' in page.text
    assert 'id="endorse-form"' in page.text
    listed = client.get("/console/policies", params={"status": "in_force"})
    assert api["number"] in listed.text
    assert client.get("/console/policies", params={"status": "sleeping"}).status_code == 422
    year = int(api["schedule"]["start_date"][:4])
    same = client.get("/console/policies", params={"grade": api["grade"], "year": year}).text
    assert api["number"] in same
    other = "D" if api["grade"] != "D" else "AAA"
    assert api["number"] not in client.get("/console/policies", params={"grade": other}).text
    assert api["number"] not in client.get("/console/policies", params={"year": year + 1}).text
    by_api = client.get("/v1/policies", params={"grade": api["grade"], "year": year},
                        headers=_h(keys, "regulator")).json()
    assert [p["id"] for p in by_api["items"]] == [policy_id]
    assert "[range]" in client.get("/console/policies", params={"year": "19x"}).text

    # endorsement: a higher limit, re-priced through the same models (a new stored quote)
    endorse = _form(client, f"/console/policies/{policy_id}", "endorse-form")
    nothing = client.post(f"/console/policies/{policy_id}/endorsement",
                          data={**endorse, "effective_date": TODAY().isoformat(),
                                "reason": "nothing changes"})
    assert nothing.status_code == 422
    assert "must change cover_limit, deductible or add_patents" in nothing.text
    raised = client.post(f"/console/policies/{policy_id}/endorsement",
                         data={**endorse, "effective_date": TODAY().isoformat(),
                               "cover_limit": "1500000", "reason": "insured asked for more"},
                         follow_redirects=False)
    assert raised.status_code == 303, raised.text[-1500:]
    endorsed = client.get(f"/v1/policies/{policy_id}", headers=_h(keys, "regulator")).json()
    assert endorsed["version"] == 2
    assert endorsed["schedule"]["aggregate_limit"] == "1500000.00"
    gross = Decimal(endorsed["premium"]["gross_premium"])
    assert "insured asked for more" in client.get(f"/console/policies/{policy_id}").text

    # cancellation: a too-short reason on its field; then the refund the API books
    cancel = _form(client, f"/console/policies/{policy_id}", "cancel-form")
    short = client.post(f"/console/policies/{policy_id}/cancellation",
                        data={**cancel, "effective_date": TODAY().isoformat(), "reason": "x"})
    assert short.status_code == 422
    assert "[string_too_short]" in _field_error(short.text, "f-cancel-reason")
    done = client.post(f"/console/policies/{policy_id}/cancellation",
                       data={**cancel, "effective_date": TODAY().isoformat(),
                             "reason": "insured sold the patent"}, follow_redirects=False)
    assert done.status_code == 303
    versions = client.get(f"/v1/policies/{policy_id}/versions",
                          headers=_h(keys, "regulator")).json()
    assert [v["change"] for v in versions] == ["bind", "endorse", "cancel"]
    refund = versions[-1]["document"]["refund"]
    written = sum(Decimal(v["premium_change"]) for v in versions[:2])
    assert Decimal(refund["gross"]) == written  # cancelled from its first day: all of it back
    page = client.get(f"/console/policies/{policy_id}")
    assert "insured sold the patent" in page.text
    assert 'id="cancel-form"' not in page.text  # no longer an allowed action


def test_bank_binds_a_loan_assessment_into_a_guarantee(insurance, trained_ids,
                                                       pledge_collateral) -> None:
    client, keys = insurance
    loan = client.post("/v1/loans/assessments", headers=_h(keys, "bank"), json={
        "borrower": {"assignee_id": trained_ids["firm"]}, "requested_amount": 50_000,
        "term_months": 12, "pledged": [{"patent_id": p} for p in pledge_collateral]})
    assert loan.status_code == 200, loan.text
    assert loan.json()["decision"] != "decline", loan.json()["explanation"]["reasons"]
    _sign_in(client, keys["bank"])
    path = f"/console/loans/{loan.json()['assessment_id']}"
    page = client.get(path).text
    assert 'id="bind-form"' in page
    assert 'id="known-circumstances"' not in page  # declared for insurance cover only
    answer = client.post(f"{path}/bind", data={
        **_form(client, path, "bind-form"), "insured.name": "City Bank",
        "start_date": TODAY().isoformat(), "referral_reason": "pilot programme"},
        follow_redirects=False)
    assert answer.status_code == 303, answer.text
    policy_id = answer.headers["location"].rsplit("/", 1)[1]
    api = client.get(f"/v1/policies/{policy_id}", headers=_h(keys, "bank")).json()
    assert api["product"] == "pledge_loan"
    mine = client.get("/console/policies")  # a bank starts on its guarantees
    assert api["number"] in mine.text
    assert 'id="report-claim"' in client.get(f"/console/policies/{policy_id}").text

    # the bank reports the default; an adjuster records the sale and decides the shared loss
    outstanding = min(Decimal(str(loan.json()["requested_amount"])),
                      Decimal(str(loan.json()["max_loan"]))).quantize(Decimal("0.01"))
    notice_path = f"/console/claims/new?policy_id={policy_id}"
    page = client.get(notice_path).text
    assert 'name="filed_date"' not in page  # pledge loans: no suit, the loan balance instead
    made = client.post("/console/claims/new", data={
        **_form(client, notice_path, "notice-form"), "policy_id": policy_id,
        "incident_date": TODAY().isoformat(), "outstanding_amount": str(outstanding),
        "description": "borrower defaulted"}, follow_redirects=False)
    assert made.status_code == 303, made.text[-1500:]
    claim_path = made.headers["location"]
    _sign_in(client, keys["adjuster"])
    for name, data in (("registration", {}), ("assessment", {})):
        posted = client.post(f"{claim_path}/{name}", data={
            **_form(client, claim_path, f"step-{name}"), **data}, follow_redirects=False)
        assert posted.status_code == 303, posted.text[-1500:]
    page = client.get(claim_path).text
    assert 'id="step-sale"' in page
    early = client.post(f"{claim_path}/decision", data={
        **_form(client, claim_path, "step-decision"), "reason": "before the sale"})
    assert early.status_code == 409
    assert "[sale_required]" in early.text
    proceeds = (outstanding / 4).quantize(Decimal("0.01"))
    sold = client.post(f"{claim_path}/sale", data={
        **_form(client, claim_path, "step-sale"), "proceeds": str(proceeds),
        "disposal_costs": "1000", "sold_on": TODAY().isoformat()}, follow_redirects=False)
    assert sold.status_code == 303, sold.text[-1500:]
    decided = client.post(f"{claim_path}/decision", data={
        **_form(client, claim_path, "step-decision"), "reason": "sale completed"},
        follow_redirects=False)
    assert decided.status_code == 303, decided.text[-1500:]
    claim = client.get(f"/v1/claims/{claim_path.rsplit('/', 1)[1]}",
                       headers=_h(keys, "adjuster")).json()
    loss = outstanding - (proceeds - Decimal(1000))
    insurer = (loss * Decimal("0.6")).quantize(Decimal("0.01"))
    assert claim["balances"]["payable"] == str(insurer)
    assert f"{insurer:,.2f}" in client.get(claim_path).text


def test_adjuster_runs_a_claim_from_notice_to_closure(insurance, trained_ids) -> None:
    client, keys = insurance
    patent = trained_ids["patents"][1]
    policy_id = _bind(client, keys, patent, "CONSOLE-CLAIM")
    _sign_in(client, keys["adjuster"])
    notice_path = f"/console/claims/new?policy_id={policy_id}"
    notice = _form(client, notice_path, "notice-form")
    today = TODAY().isoformat()
    fields = {"policy_id": policy_id, "incident_date": today, "filed_date": today,
              "counterparty": "Copycat Devices Ltd", "court_or_agency": "Beijing IP Court",
              "claimed.investigation_costs": "50000", "claimed.legal_costs": "150000"}
    stranger = client.post("/console/claims/new",
                           data={**notice, **fields, "patent_ids": "CN-NOT-INSURED"})
    assert stranger.status_code == 422
    assert "[insured_patent]" in _field_error(stranger.text, "f-patent_ids")
    made = client.post("/console/claims/new", data={**notice, **fields, "patent_ids": patent},
                       follow_redirects=False)
    assert made.status_code == 303
    claim_path = made.headers["location"]
    cid = claim_path.rsplit("/", 1)[1]

    def step(name: str, data: dict[str, str], who: str = "adjuster", status: int = 303,
             form_id: str | None = None) -> str:
        _sign_in(client, keys[who])
        posted = client.post(f"{claim_path}/{name}",
                             data={**_form(client, claim_path, form_id or f"step-{name}"),
                                   **data}, follow_redirects=False)
        assert posted.status_code == status, posted.text[-2000:]
        return posted.text

    page = client.get(claim_path).text
    assert 'id="step-registration"' in page
    assert 'id="step-payments"' not in page  # only the allowed next steps
    early = client.post(f"{claim_path}/payments", data={
        **_form(client, claim_path, "step-registration"), "amount": "10",
        "loss_kind": "legal_costs"})
    assert early.status_code == 409
    assert "[illegal_transition]" in early.text
    step("registration", {})
    deadline = (TODAY() + dt.timedelta(days=30)).isoformat()
    assert f"Decide by {deadline}" in client.get(claim_path).text
    step("assessment", {})
    claim = client.get(f"/v1/claims/{cid}", headers=_h(keys, "adjuster")).json()
    assert claim["assessment"]["estimate"]["model"]["name"] == "patentrisk-severity"
    reserve = step("reserve", {"amount": "-5", "reason": "lawyers' estimate"}, status=422)
    assert "[greater_than_equal]" in _field_error(reserve, "f-reserve-amount")
    step("reserve", {"amount": "200000", "reason": "lawyers' estimate received"})
    step("decision", {"assessed.investigation_costs": "50000", "assessed.legal_costs": "150000",
                      "reason": "costs checked against invoices"})
    claim = client.get(f"/v1/claims/{cid}", headers=_h(keys, "adjuster")).json()
    by_kind = claim["payable"]["by_kind"]
    assert by_kind == {"investigation_costs": "45000.00", "legal_costs": "135000.00"}
    step("payments", {"amount": "45000", "loss_kind": "investigation_costs"})
    # above the 100k authority limit: waits for a second adjuster
    step("payments", {"amount": "135000", "loss_kind": "legal_costs"})
    claim = client.get(f"/v1/claims/{cid}", headers=_h(keys, "adjuster")).json()
    entry, = claim["pending_payments"]
    page = client.get(claim_path).text
    assert f'id="step-approval-{entry}"' not in page  # the payer cannot approve its own
    own = client.post(f"{claim_path}/payments/{entry}/approval", data={
        **_form(client, claim_path, "step-payments"), "reason": "looks right"})
    assert own.status_code == 409
    assert "[second_approver]" in own.text
    step(f"payments/{entry}/approval", {"reason": "invoices checked"}, who="adjuster2",
         form_id=f"step-approval-{entry}")
    claim = client.get(f"/v1/claims/{cid}", headers=_h(keys, "adjuster")).json()
    assert claim["state"] == "paid"
    assert claim["balances"]["paid"] == "180000.00"
    # the first payment came back (made in error): reversed, then paid again
    first = next(e for e in claim["ledger"] if e["kind"] == "payment"
                 and e["loss_kind"] == "investigation_costs")
    step(f"payments/{first['id']}/reversal", {"reason": "returned by the bank"},
         form_id=f"step-reversal-{first['id']}")
    claim = client.get(f"/v1/claims/{cid}", headers=_h(keys, "adjuster")).json()
    assert (claim["state"], claim["balances"]["paid"]) == ("partially_paid", "135000.00")
    step("payments", {"amount": "45000", "loss_kind": "investigation_costs"})
    step("closure", {"reason": "settled in full"})
    claim = client.get(f"/v1/claims/{cid}", headers=_h(keys, "adjuster")).json()
    assert claim["state"] == "closed"
    assert [e["action"] for e in claim["timeline"]] == [
        "notify", "register", "assess", "revise_reserve", "decide", "pay", "pay",
        "approve_payment", "reverse_payment", "pay", "close"]
    page = client.get(claim_path).text
    assert 'id="step-reopening"' in page
    assert 'id="step-recoveries"' in page
    assert 'id="step-closure"' not in page
    assert 'id="step-reversal-' not in page  # closed: no reversal offered
    # after closing: the winner's repayment is recovered; the claim is reopened with a reason
    step("recoveries", {"amount": "20000", "source": "winner_repayment",
                        "reason": "costs awarded against the infringer"})
    step("reopening", {"reason": "new evidence of further infringement"})
    claim = client.get(f"/v1/claims/{cid}", headers=_h(keys, "adjuster")).json()
    assert claim["state"] == "reopened"
    assert claim["balances"]["recovered"] == "20000.00"
    assert 'id="step-assessment"' in client.get(claim_path).text
    step("assessment", {})
    step("closure", {"reason": "nothing more"}, status=409,  # under assessment: not closable
         form_id="step-reserve")
    listed = client.get("/console/claims", params={"state": "under_assessment"}).text
    assert claim["number"] in listed
    assert claim["number"] not in client.get("/console/claims",
                                             params={"overdue": "true"}).text

    # every text of the claim, its policy and the lists exists in Chinese (no key shows through)
    client.get("/console/lang/zh")
    for path in (claim_path, f"/console/policies/{policy_id}", "/console/claims",
                 "/console/policies", notice_path):
        text = client.get(path).text
        assert "理赔" in text or "保单" in text, path
        gap = re.search(r">[^<]*\b(?:state|loss|action|entry|step|claim|claims|policy|policies|"
                        r"status|change|source|bind|book)\.[a-z_]+", text)
        assert gap is None, (path, gap.group(0) if gap else "")
    client.get("/console/lang/en")

    # the regulator reads it (no forms) and sees it in the book; the CSV is the API's
    _sign_in(client, keys["regulator"])
    page = client.get(claim_path).text
    assert "180,000.00 CNY" in page
    assert 'id="next-steps"' not in page
    book = client.get("/console/book")
    assert book.status_code == 200
    api_book = client.get("/v1/reports/book", headers=_h(keys, "regulator")).json()
    row, = api_book["rows"]
    assert row["claims_paid"] == "180000.00"
    assert f"{Decimal(row['written_premium']):,.2f}" in book.text
    csv = client.get("/console/book.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert csv.text == client.get("/v1/reports/book?format=csv",
                                  headers=_h(keys, "regulator")).text
    assert "[range]" in client.get("/console/book", params={"year": "20x6"}).text


def test_roles_are_the_apis_on_every_page_and_action(insurance, trained_ids) -> None:
    client, keys = insurance
    policy_id = _bind(client, keys, trained_ids["patents"][2], "CONSOLE-ROLES")
    claim = client.post("/v1/claims", headers=_h(keys, "adjuster"), json={
        "policy_id": policy_id, "incident_date": TODAY().isoformat(),
        "filed_date": TODAY().isoformat(), "patent_ids": [trained_ids["patents"][2]]})
    assert claim.status_code == 201, claim.text
    claim_path = f"/console/claims/{claim.json()['id']}"
    # the underwriter reads the claim but may not act on it (API: adjuster only)
    _sign_in(client, keys["underwriter"])
    page = client.get(claim_path)
    assert page.status_code == 200
    assert 'id="step-registration"' not in page.text
    token = CSRF.search(page.text).group(1)
    denied = client.post(f"{claim_path}/registration", data={"csrf_token": token})
    assert denied.status_code == 403
    assert "may not call this endpoint" in denied.text
    assert client.get("/console/claims/new").status_code == 403  # notice: adjuster or bank
    assert client.get("/console/book").status_code == 403
    # the adjuster reads policies but may neither quote, bind, endorse nor cancel
    _sign_in(client, keys["adjuster"])
    page = client.get(f"/console/policies/{policy_id}")
    assert page.status_code == 200
    assert 'id="cancel-form"' not in page.text
    assert 'id="report-claim"' in page.text
    token = CSRF.search(page.text).group(1)
    cancel = client.post(f"/console/policies/{policy_id}/cancellation",
                         data={"csrf_token": token, "effective_date": TODAY().isoformat(),
                               "reason": "not mine to cancel"})
    assert cancel.status_code == 403
    assert client.get("/console/quotes").status_code == 403
    # the regulator reads, never writes; a scientist has no insurance pages at all
    _sign_in(client, keys["regulator"])
    assert client.get("/console/book").status_code == 200
    assert 'id="next-steps"' not in client.get(claim_path).text
    _sign_in(client, keys["scientist"])
    for path in ("/console/policies", f"/console/policies/{policy_id}", "/console/claims",
                 claim_path, "/console/book"):
        assert client.get(path).status_code == 403, path
    # a form without the session's token changes nothing
    _sign_in(client, keys["adjuster"])
    refused = client.post(f"{claim_path}/registration", data={"reason": "documents received"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    state = client.get(f"/v1/claims/{claim.json()['id']}", headers=_h(keys, "adjuster"))
    assert state.json()["state"] == "notified"


def test_every_claim_action_of_the_lifecycle_has_a_console_form() -> None:
    from models.policy.lifecycle import CLAIM_ACTIONS
    from serving.console.claim_pages import ADVANCE_STEPS, ENTRY_STEPS, STEPS

    offered = [s.action for steps in (STEPS, ENTRY_STEPS, ADVANCE_STEPS) for s in steps.values()]
    assert sorted(offered) == sorted(CLAIM_ACTIONS)


def test_adjuster_advances_the_determined_part_within_its_limit(insurance, trained_ids) -> None:
    client, keys = insurance
    patent = trained_ids["patents"][1]
    policy_id = _bind(client, keys, patent, "CONSOLE-ADVANCE")
    schedule = client.get(f"/v1/policies/{policy_id}", headers=_h(keys, "regulator")
                          ).json()["schedule"]
    assert Decimal(schedule["deductible"]) == 0
    share = Decimal(str(schedule["insurer_share"]))
    today = TODAY().isoformat()
    made = client.post("/v1/claims", headers=_h(keys, "adjuster"), json={
        "policy_id": policy_id, "incident_date": today, "filed_date": today,
        "patent_ids": [patent], "counterparty": "Copycat Devices Ltd",
        "claimed": {"investigation_costs": 60000, "legal_costs": 150000}})
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    claim_path = f"/console/claims/{cid}"

    def post(path: str, form_id: str, data: dict[str, str], who: str = "adjuster",
             status: int = 303) -> str:
        _sign_in(client, keys[who])
        posted = client.post(f"{claim_path}/{path}", data={
            **_form(client, claim_path, form_id), **data}, follow_redirects=False)
        assert posted.status_code == status, posted.text[-2000:]
        return posted.text

    def api() -> dict:
        return client.get(f"/v1/claims/{cid}", headers=_h(keys, "adjuster")).json()

    post("registration", "step-registration", {})
    assert 'id="step-advances"' not in client.get(claim_path).text  # registered: not yet
    post("assessment", "step-assessment", {})
    page = client.get(claim_path).text
    assert 'id="step-advances"' in page
    assert "Show the limit" in page
    assert 'id="advanceable-total"' not in page  # nothing determined yet

    # the limit for the typed determination, before anything is paid: the same rule function
    def payable(kind: str, determined: Decimal) -> Decimal:
        return min(determined * share, Decimal(schedule["sub_limits"][kind])).quantize(
            Decimal("0.01"))

    investigation = payable("investigation_costs", Decimal(60000))
    shown = post("advances", "step-advances", {
        "determined.investigation_costs": "60000", "loss_kind": "investigation_costs",
        "preview": "1"}, status=200)
    assert f'id="advanceable-investigation_costs">{investigation:,.2f} CNY' in shown
    assert 'id="advanceable-total"' in shown
    assert api()["balances"]["advanced"] == "0.00"
    unknown = post("advances", "step-advances", {
        "determined.royalties": "10", "loss_kind": "investigation_costs", "preview": "1"},
        status=422)
    assert "[kind_of_loss]" in unknown
    # above the limit: refused on the amount's field with the API's rule
    above = post("advances", "step-advances", {
        "determined.investigation_costs": "60000", "loss_kind": "investigation_costs",
        "amount": str(investigation + Decimal("0.01")), "reason": "notary invoices"}, status=422)
    assert "[within_advanceable]" in _field_error(above, "f-advances-amount")
    assert api()["balances"]["advanced"] == "0.00"
    # within it: paid at once (below the authority limit), the claim stays under assessment;
    # the form sent twice (its hidden key) pays once
    within = {**_form(client, claim_path, "step-advances"),
              "determined.investigation_costs": "60000", "loss_kind": "investigation_costs",
              "amount": "40000", "reason": "notary invoices checked"}
    for _ in range(2):
        sent = client.post(f"{claim_path}/advances", data=within, follow_redirects=False)
        assert sent.status_code == 303, sent.text[-1500:]
    claim = api()
    assert (claim["state"], claim["balances"]["advanced"], claim["balances"]["paid"]) == (
        "under_assessment", "40000.00", "40000.00")
    page = client.get(claim_path).text
    assert "advance payment (先予支付)" in page
    assert f'id="advanceable-investigation_costs">{investigation - 40000:,.2f} CNY' in page
    assert 'id="claim-advanced">40,000.00 CNY' in page

    # legal costs determined too (the determination is cumulative); above the authority limit
    legal = payable("legal_costs", Decimal(150000))
    authority = Decimal(100_000)
    assert legal > authority
    post("advances", "step-advances", {
        "determined.investigation_costs": "60000", "determined.legal_costs": "150000",
        "loss_kind": "legal_costs", "reason": "lawyers' fee agreement"})  # amount: all of it
    claim = api()
    entry, = claim["pending_payments"]
    assert claim["balances"]["pending_approval"] == f"{legal:.2f}"
    page = client.get(claim_path).text
    assert f'id="step-advance-approval-{entry}"' not in page  # not by the one who made it
    assert "awaits approval by a second adjuster" in page
    assert 'id="step-decision"' in page
    early = post("decision", "step-decision", {
        "assessed.investigation_costs": "60000", "assessed.legal_costs": "150000",
        "reason": "too early"}, status=409)
    assert "[advance_awaiting_approval]" in early
    post(f"advances/{entry}/approval", f"step-advance-approval-{entry}",
         {"reason": "fee agreement checked"}, who="adjuster2")
    claim = api()
    assert claim["balances"]["advanced"] == f"{legal + 40000:.2f}"
    assert claim["balances"]["pending_approval"] == "0.00"
    # the first advance came back: reversed, the claim still under assessment
    first = next(e for e in claim["ledger"] if e["kind"] == "advance_payment"
                 and e["loss_kind"] == "investigation_costs")
    post(f"advances/{first['id']}/reversal", f"step-advance-reversal-{first['id']}",
         {"reason": "returned by the insured"})
    claim = api()
    assert (claim["state"], claim["balances"]["advanced"]) == ("under_assessment", f"{legal:.2f}")
    assert [e["action"] for e in claim["timeline"]][-4:] == [
        "pay_advance", "pay_advance", "approve_advance", "reverse_advance"]
    # the decision counts the advances against the agreed amount
    post("decision", "step-decision", {
        "assessed.investigation_costs": "60000", "assessed.legal_costs": "150000",
        "reason": "costs checked"})
    claim = api()
    assert claim["state"] == "partially_paid"
    assert claim["balances"]["left_to_pay"] == f"{investigation:.2f}"
    client.get("/console/lang/zh")
    text = client.get(claim_path).text
    assert "先予支付" in text
    assert re.search(r">[^<]*\b(?:action|entry|step|claim)\.[a-z_]+", text) is None
    client.get("/console/lang/en")


def test_bind_declares_a_known_circumstance_and_its_claim_is_denied(insurance,
                                                                   trained_ids) -> None:
    client, keys = insurance
    patent = trained_ids["patents"][2]
    quote = _quote(client, keys, patent, "CONSOLE-KNOWN")
    _sign_in(client, keys["underwriter"])
    path = f"/console/quotes/{quote['assessment_id']}"
    form = _form(client, path, "bind-form")
    insured = {"insured.name": "Lightwave", "start_date": TODAY().isoformat(),
               "referral_reason": "pilot programme"}
    assert 'id="circumstance-1"' not in client.get(path).text
    more = client.post(f"{path}/bind", data={**form, **insured, "add_circumstance": "1"})
    assert more.status_code == 200
    assert 'id="circumstance-1"' in more.text
    late = (TODAY() + dt.timedelta(days=3)).isoformat()
    letter = {"known_circumstances.1.kind": "warning_letter",
              "known_circumstances.1.counterparty": "Copycat Devices Ltd",
              "known_circumstances.1.patent_ids": patent}
    # the first row is left empty: the API's error on its row 0 shows on the form's row 1
    bad = client.post(f"{path}/bind", data={**form, **insured, "circumstance_rows": "2",
                                            **letter, "known_circumstances.1.date": late})
    assert bad.status_code == 422, bad.text[-1500:]
    assert "[not_after_binding]" in _field_error(bad.text, "f-known_circumstances.1.date")
    no_kind = client.post(f"{path}/bind", data={
        **form, **insured, "circumstance_rows": "1",
        "known_circumstances.0.counterparty": "Someone", "known_circumstances.0.date": late})
    assert no_kind.status_code == 422
    assert "[missing]" in _field_error(no_kind.text, "f-known_circumstances.0.kind")
    dated = (TODAY() - dt.timedelta(days=10)).isoformat()
    done = client.post(f"{path}/bind", data={**form, **insured, "circumstance_rows": "2",
                                             **letter, "known_circumstances.1.date": dated},
                       follow_redirects=False)
    assert done.status_code == 303, done.text[-1500:]
    policy_id = done.headers["location"].rsplit("/", 1)[1]
    api = client.get(f"/v1/policies/{policy_id}", headers=_h(keys, "regulator")).json()
    assert api["known_circumstances"] == [{
        "kind": "warning_letter", "counterparty": "Copycat Devices Ltd", "patent_ids": [patent],
        "date": dated, "description": ""}]
    page = client.get(done.headers["location"]).text
    assert f'id="policy-bound-on">{api["bound_on"]}<' in page
    assert "warning letter" in page
    assert "Copycat Devices Ltd" in page

    # a claim on the same patent against the same party (spelt differently): denied for it
    _sign_in(client, keys["adjuster"])
    notice_path = f"/console/claims/new?policy_id={policy_id}"
    fields = {"policy_id": policy_id, "incident_date": TODAY().isoformat(),
              "filed_date": TODAY().isoformat(), "patent_ids": patent,
              "counterparty": "copycat  devices LTD", "claimed.legal_costs": "80000"}
    unknown = client.post("/console/claims/new", data={
        **_form(client, notice_path, "notice-form"), **fields, "case_id": "NO-SUCH-CASE"})
    assert unknown.status_code == 422
    assert "[known_case]" in _field_error(unknown.text, "f-case_id")
    made = client.post("/console/claims/new", data={
        **_form(client, notice_path, "notice-form"), **fields}, follow_redirects=False)
    assert made.status_code == 303, made.text[-1500:]
    claim_path = made.headers["location"]
    registered = client.post(f"{claim_path}/registration", data={
        **_form(client, claim_path, "step-registration")}, follow_redirects=False)
    assert registered.status_code == 303
    claim = client.get(f"/v1/claims/{claim_path.rsplit('/', 1)[1]}",
                       headers=_h(keys, "adjuster")).json()
    assert claim["state"] == "denied"
    reason = next(r for r in claim["denial_reasons"] if r["code"] == "known_circumstance")
    page = client.get(claim_path).text
    assert "[known_circumstance]" in page
    assert reason["message"] in page
    client.get("/console/lang/zh")
    page = client.get(claim_path).text
    assert reason["message_zh"] in page
    assert "已知情况除外" in page
    client.get("/console/lang/en")
