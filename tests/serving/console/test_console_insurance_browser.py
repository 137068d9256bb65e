"""Policies, claims and the book in a browser: quote -> bind -> policy, a claim, the book."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.serving.console.conftest import ConsoleServer, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRACE = re.compile(r"Traceback|File \"/|line \d+, in ")


def _api(server: ConsoleServer, role: str, method: str, path: str, **kwargs: object) -> dict:
    answer = httpx.request(method, f"{server.url}{path}",
                           headers={"X-API-Key": server.keys[role]}, timeout=120, **kwargs)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _bound_policy(server: ConsoleServer, patent: str, applicant: str) -> dict:
    """An enforcement policy quoted and bound through the API by the underwriter's key."""
    quote = _api(server, "underwriter", "POST", "/v1/quotes/enforcement", json={
        "patent": {"patent_id": patent},
        "applicant": {"applicant_id": applicant, "role": "patent_holder",
                      "pilot_enterprise": True},
        "cover_limit": 1_000_000, "deductible": 0, "period_months": 12})
    return _api(server, "underwriter", "POST", "/v1/policies", json={
        "quote_id": quote["assessment_id"], "insured": {"name": "Browser Claims Ltd"},
        "start_date": dt.date.today().isoformat(), "referral_reason": "pilot programme"})


def test_underwriter_search_profile_quote_bind_policy(page, console_server, trained_ids,
                                                       screenshot_dir: Path) -> None:
    patent = trained_ids["patents"][0]
    sign_in(page, console_server, "underwriter")
    page.fill("input[name=q]", patent)
    page.get_by_role("button", name="Search").click()
    page.locator(f"#results a:text-is('{patent}')").click()
    page.get_by_role("link", name="Quote enforcement cover for this patent").click()
    page.fill("input[name='applicant.applicant_id']", "APP-BIND-BROWSER")
    page.check("input[name='applicant.pilot_enterprise']")
    page.click("#quote-submit")
    bind = page.locator("#bind-form")
    assert bind.is_visible()
    gross = page.inner_text("#gross-premium")
    # an empty insured name: the rule next to its field, nothing bound
    bind.locator("button#bind-submit").click()
    error = page.locator("label[for='f-insured.name'] .field-error").inner_text()
    assert "[missing]" in error
    assert not TRACE.search(page.content())
    page.screenshot(path=str(screenshot_dir / "quote-bind.png"), full_page=True)
    page.fill("#bind-form input[name='insured.name']", "Lightwave Browser Ltd")
    if page.locator("#bind-form input[name=referral_reason]").count():
        page.fill("#bind-form input[name=referral_reason]", "pilot programme, checked")
    page.click("#bind-submit")
    assert re.search(r"/console/policies/[0-9a-f-]{36}$", page.url)
    policy_id = page.url.rsplit("/", 1)[1]
    assert page.inner_text("#policy-status") == "in force"
    assert page.inner_text("#policy-gross") == gross
    assert "bound" in page.inner_text("#policy-versions")
    assert "Cancelled from" in page.inner_text("#refund-preview")
    api = _api(console_server, "regulator", "GET", f"/v1/policies/{policy_id}")
    assert api["insured"]["name"] == "Lightwave Browser Ltd"
    assert api["version"] == 1
    assert f"{Decimal(api['premium']['subsidy']):,.2f}" in page.inner_text("#policy-subsidy")
    page.screenshot(path=str(screenshot_dir / "policy.png"), full_page=True)
    page.get_by_role("link", name="Policies").click()
    assert api["number"] in page.inner_text("#policies")
    page.screenshot(path=str(screenshot_dir / "policies.png"), full_page=True)


def test_adjuster_takes_a_claim_from_notice_to_payment_and_closure(
    page, console_server, trained_ids, screenshot_dir: Path
) -> None:
    patent = trained_ids["patents"][1]
    policy = _bound_policy(console_server, patent, "APP-CLAIM-BROWSER")
    sign_in(page, console_server, "adjuster")
    page.goto(f"/console/policies/{policy['id']}")
    page.click("#report-claim")
    page.fill("input[name=patent_ids]", patent)
    page.fill("input[name=counterparty]", "Copycat Devices Ltd")
    page.fill("input[name=court_or_agency]", "Beijing IP Court")
    page.fill("input[name='claimed.investigation_costs']", "50000")
    page.fill("input[name='claimed.legal_costs']", "150000")
    page.fill("textarea[name=description]", "Infringing routers on sale; suit accepted.")
    page.click("#notice-submit")
    assert page.inner_text("#claim-state") == "notified"
    claim_url = page.url
    claim_id = claim_url.rsplit("/", 1)[1]
    assert page.locator("#step-payments").count() == 0  # only the allowed next steps
    page.click("#step-registration button")
    assert page.inner_text("#claim-state") == "registered"
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert f"Decide by {due}" in page.inner_text("#deadlines")
    page.click("#step-assessment button")
    assert page.inner_text("#claim-state") == "under assessment"
    claim = _api(console_server, "regulator", "GET", f"/v1/claims/{claim_id}")
    reserve = Decimal(claim["balances"]["reserve"])
    assert f"{reserve:,.2f}" in page.inner_text("#claim-reserve")
    # an advance (先予支付) of the investigation costs already determined: the limit first
    advance = page.locator("#step-advances")
    advance.locator("input[name='determined.investigation_costs']").fill("50000")
    advance.locator("select[name=loss_kind]").select_option("investigation_costs")
    page.click("#advances-preview")
    assert page.inner_text("#advanceable-investigation_costs") == "45,000.00 CNY"  # 90 % of it
    assert page.inner_text("#claim-advanced") == "0.00 CNY"
    page.screenshot(path=str(screenshot_dir / "claim-advance.png"), full_page=True)
    page.locator("#step-advances input[name=amount]").fill("20000")
    page.locator("#step-advances input[name=reason]").fill("notary invoices checked")
    page.click("#advances-submit")
    assert page.inner_text("#claim-state") == "under assessment"
    assert page.inner_text("#claim-advanced") == "20,000.00 CNY"
    assert page.inner_text("#advanceable-investigation_costs") == "25,000.00 CNY"
    decision = page.locator("#step-decision")
    decision.locator("input[name='assessed.investigation_costs']").fill("50000")
    decision.locator("input[name='assessed.legal_costs']").fill("150000")
    decision.locator("button").click()  # no reason: the API's rule next to the field
    assert "[missing]" in page.inner_text("label[for='f-decision-reason'] .field-error")
    page.locator("#step-decision input[name=reason]").fill("costs checked against invoices")
    page.click("#step-decision button")
    assert page.inner_text("#claim-state") == "partly paid"  # the advance counts against it
    assert "180,000.00" in page.inner_text("#claim-payable")
    payment = page.locator("#step-payments")
    payment.locator("input[name=amount]").fill("25000")
    payment.locator("select[name=loss_kind]").select_option("investigation_costs")
    payment.locator("button").click()
    assert page.inner_text("#claim-state") == "partly paid"
    payment = page.locator("#step-payments")
    payment.locator("input[name=amount]").fill("135000")
    payment.locator("select[name=loss_kind]").select_option("legal_costs")
    payment.locator("button").click()  # above the authority limit: waits for approval
    assert "awaits approval by a second adjuster" in page.inner_text("#next-steps")
    page.screenshot(path=str(screenshot_dir / "claim.png"), full_page=True)
    # a second adjuster (the API key, another caller) approves it
    sign_in(page, console_server, "adjuster", with_key=True)
    page.goto(claim_url)
    approval = page.locator("form[id^=step-approval-]")
    approval.locator("input[name=reason]").fill("invoices checked")
    approval.locator("button").click()
    assert page.inner_text("#claim-state") == "paid"
    assert page.inner_text("#claim-paid") == "180,000.00 CNY"
    page.locator("#step-closure input[name=reason]").fill("settled in full")
    page.click("#step-closure button")
    assert page.inner_text("#claim-state") == "closed"
    timeline = page.inner_text("#claim-timeline")
    for step in ("notified", "registration", "assessment opened", "advance payment", "decided",
                 "payment approved", "closed"):
        assert step in timeline
    claim = _api(console_server, "regulator", "GET", f"/v1/claims/{claim_id}")
    assert claim["state"] == "closed"
    assert claim["balances"]["paid"] == "180000.00"
    page.get_by_role("link", name="Claims").click()
    page.select_option("select[name=state]", "closed")
    page.get_by_role("button", name="Search").click()
    assert claim["number"] in page.inner_text("#claims")
    page.screenshot(path=str(screenshot_dir / "claims.png"), full_page=True)


def test_regulator_reads_the_book_of_business(page, console_server, trained_ids,
                                              screenshot_dir: Path) -> None:
    _bound_policy(console_server, trained_ids["patents"][2], "APP-BOOK-BROWSER")
    sign_in(page, console_server, "regulator")
    page.get_by_role("link", name="Book of business").click()
    api = _api(console_server, "regulator", "GET", "/v1/reports/book")
    rows = page.locator("#book tbody tr")
    assert rows.count() == len(api["rows"]) >= 1
    assert page.locator("#book-claims tbody tr").count() == len(api["rows"])
    first = api["rows"][0]
    assert f"{Decimal(first['written_premium']):,.2f}" in rows.first.inner_text()
    page.screenshot(path=str(screenshot_dir / "book.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#book-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("product,grade,year,currency,policies")
    assert len(text.splitlines()) == len(api["rows"]) + 1
    page.get_by_role("link", name="中文").click()
    assert "业务台账" in page.inner_text("h1")
    assert "赔付率" in page.inner_text("#book thead")
    page.screenshot(path=str(screenshot_dir / "book-zh.png"), full_page=True)
