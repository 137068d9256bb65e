"""The console in a real browser: sign-in, each role's pages, storage, errors, languages, docs."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from serving import crud
from tests.serving.console.conftest import ConsoleServer, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRACE = re.compile(r"Traceback|File \"/|line \d+, in ")


def _latest(server: ConsoleServer, kind: str, caller_id: str) -> object:
    """The newest stored assessment of `kind` made by caller id `caller_id`."""
    with server.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        items, _ = crud.list_assessments(
            session, crud.AssessmentFilters(kind=kind, caller_key_id=caller_id), limit=1)
        return items[0] if items else None


def test_sign_in_and_out_with_password(page, console_server, screenshot_dir: Path) -> None:
    page.goto("/console/patents")
    assert "/console/signin" in page.url  # not signed in: sent to the sign-in page
    page.screenshot(path=str(screenshot_dir / "signin.png"))
    page.locator("#signin-password input[name=username]").fill(console_server.users["bank"])
    page.locator("#signin-password input[name=password]").fill("wrong password!")
    page.locator("#signin-password button").click()
    assert page.locator(".error").inner_text() == "Unknown username or wrong password."
    sign_in(page, console_server, "underwriter")
    assert page.url.endswith("/console/patents")  # back where it was going
    assert "Signed in as browser-underwriter (underwriter)" in page.inner_text("header")
    cookie = next(c for c in page.context.cookies() if c["name"] == "patentrisk_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["expires"] > 0
    page.get_by_role("button", name="Sign out").click()
    assert page.locator(".notice").inner_text() == "You are signed out."
    page.goto("/console/quotes")
    assert "/console/signin" in page.url


def test_tampered_cookie_is_no_session(page, console_server) -> None:
    sign_in(page, console_server, "bank", with_key=True)
    assert page.url.endswith("/console/patents")
    cookie = next(c for c in page.context.cookies() if c["name"] == "patentrisk_session")
    value = cookie["value"]
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    page.context.add_cookies([{**cookie, "value": forged}])
    page.goto("/console/loans")
    assert "/console/signin" in page.url


def test_underwriter_search_profile_quote_is_stored_as_the_api_would(
    page, console_server, trained_ids, screenshot_dir: Path
) -> None:
    patent = trained_ids["patents"][0]
    firm = trained_ids["firm"]
    sign_in(page, console_server, "underwriter")
    page.fill("input[name=assignee]", firm)
    page.check("input[name=in_force]")
    page.get_by_role("button", name="Search").click()
    assert page.locator("#results tbody tr").count() == 20  # a full page of the firm's patents
    page.screenshot(path=str(screenshot_dir / "search.png"), full_page=True)
    page.fill("input[name=q]", patent)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#results tbody tr")
    assert rows.count() >= 1
    assert re.search(r"\b(AAA|AA|A|BBB|BB|B|CCC|CC|C|D)\b", rows.first.inner_text())
    page.locator(f"#results a:text-is('{patent}')").click()
    assert page.locator("h1").inner_text().startswith(patent)
    assert page.locator("#value-chart svg").count() == 1
    assert page.locator("#reasons svg").count() == 1
    assert page.locator("#risk .grade").inner_text().strip()
    page.screenshot(path=str(screenshot_dir / "profile.png"), full_page=True)
    page.get_by_role("link", name="Quote enforcement cover for this patent").click()
    assert page.input_value("input[name='patent.patent_id']") == patent
    page.fill("input[name='applicant.applicant_id']", "APP-BROWSER")
    page.check("input[name='applicant.sme']")
    page.fill("input[name=cover_limit]", "800000")
    page.click("#quote-submit")
    result = page.locator("#quote-result")
    assert result.is_visible()
    page.screenshot(path=str(screenshot_dir / "quote.png"), full_page=True)
    stored = _latest(console_server, "enforcement_quote", console_server.user_ids["underwriter"])
    assert stored is not None
    assert stored.caller_role == "underwriter"
    assert page.locator("#record-link").get_attribute("href").endswith(stored.id)
    net = stored.outputs["net_premium"]
    assert f"{net:,.2f}" in page.locator("#net-premium").inner_text()
    # The API scores the same request to the same outputs (same functions, same models).
    body = {"patent": {"patent_id": patent},
            "applicant": {"applicant_id": "APP-BROWSER", "role": "patent_holder", "sme": True},
            "cover_limit": 800000, "deductible": 0, "period_months": 12}
    assert stored.request == {**body, "applicant": {**body["applicant"],
                              "contract_allows_enforcement": False, "pilot_enterprise": False,
                              "patent_award_winner": False, "high_tech_enterprise": False}}
    api = httpx.post(f"{console_server.url}/v1/quotes/enforcement", json=stored.request,
                     headers={"X-API-Key": console_server.keys["underwriter"]}).json()
    for key in ("probability", "expected_claim_cost", "grade", "gross_premium", "premium"):
        assert api[key] == stored.outputs[key], key


def test_liability_quote_for_a_firm(page, console_server, trained_ids) -> None:
    sign_in(page, console_server, "underwriter")
    page.goto("/console/quotes")
    page.select_option("select[name=product]", "liability")
    page.fill("input[name='firm.assignee_id']", trained_ids["firm"])
    page.fill("input[name=product_classes]", "H04L; H04W")
    page.fill("input[name='applicant.applicant_id']", trained_ids["firm"])
    page.select_option("select[name='applicant.role']", "manufacturer")
    page.click("#quote-submit")
    assert "Infringement liability insurance" in page.inner_text("#quote-result h2")
    stored = _latest(console_server, "liability_quote", console_server.user_ids["underwriter"])
    assert stored.request["product_classes"] == ["H04L", "H04W"]
    assert f"{stored.outputs['gross_premium']:,.2f}" in page.inner_text("#gross-premium")
    page.select_option("select[name='applicant.role']", "patent_holder")  # not eligible
    page.click("#quote-submit")
    error = page.locator("label[for='f-applicant.role'] .field-error").inner_text()
    assert "[" in error
    assert "liability" in error


def test_bad_form_value_is_shown_next_to_its_field(page, console_server, trained_ids) -> None:
    sign_in(page, console_server, "underwriter")
    page.goto("/console/quotes")
    page.fill("input[name='patent.patent_id']", trained_ids["patents"][0])
    page.fill("input[name='applicant.applicant_id']", "APP-1")
    page.fill("input[name=cover_limit]", "-5")
    page.fill("input[name=period_months]", "500")
    page.click("#quote-submit")
    cover = page.locator("label[for=f-cover_limit] .field-error").inner_text()
    assert "cover_limit" in cover
    assert "greater than 0" in cover
    assert "[greater_than]" in cover
    months = page.locator("label[for=f-period_months] .field-error").inner_text()
    assert "less than or equal to 120" in months
    assert page.get_attribute("#f-cover_limit", "aria-invalid") == "true"
    page.fill("input[name=cover_limit]", "1000000")
    page.fill("input[name=period_months]", "12")
    page.fill("input[name='patent.patent_id']", trained_ids["expired"])
    page.click("#quote-submit")
    error = page.locator("label[for='f-patent.patent_id'] .field-error").inner_text()
    assert "only patents in force" in error
    assert "[in_force]" in error
    assert not TRACE.search(page.content())


def test_bank_assessment_from_csv_upload(
    page, console_server, trained_ids, tmp_path: Path, screenshot_dir: Path
) -> None:
    csv = tmp_path / "loans.csv"
    csv.write_text("borrower.assignee_id,requested_amount,term_months,pledged\n"
                   f"{trained_ids['firm']},500000,12,{';'.join(trained_ids['patents'])}\n")
    sign_in(page, console_server, "bank")
    page.goto("/console/loans")
    page.set_input_files("input[name=file]", str(csv))
    page.click("#loan-submit")
    stored = _latest(console_server, "loan_assessment", console_server.user_ids["bank"])
    assert stored is not None
    assert page.url.endswith(f"/console/loans/{stored.id}")  # the printable page
    assert f"{stored.outputs['max_loan']:,.2f}" in page.inner_text("#max-loan")
    assert page.locator("#portfolio-chart svg").count() == 1
    assert ":" in page.inner_text("#loss-sharing")
    assert stored.request["pledged"] == [{"patent_id": p} for p in trained_ids["patents"]]
    page.screenshot(path=str(screenshot_dir / "loan.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible()  # printable: no navigation


def test_regulator_opens_a_stored_assessment(page, console_server, trained_ids,
                                              screenshot_dir: Path) -> None:
    quote = httpx.post(f"{console_server.url}/v1/quotes/enforcement", json={
        "patent": {"patent_id": trained_ids["patents"][1]},
        "applicant": {"applicant_id": "APP-REG", "role": "patent_holder"},
        "cover_limit": 1_000_000}, headers={"X-API-Key": console_server.keys["underwriter"]})
    assert quote.status_code == 200
    assessment_id = quote.json()["assessment_id"]
    sign_in(page, console_server, "regulator", with_key=True)
    assert page.url.endswith("/console/regulator")
    assert page.locator("#rates-enforcement tbody tr").count() >= 5
    page.screenshot(path=str(screenshot_dir / "regulator.png"), full_page=True)
    page.get_by_role("link", name="Assessments").click()
    page.select_option("select[name=kind]", "enforcement_quote")
    page.get_by_role("button", name="Search").click()
    page.locator(f"#assessments a:text-is('{assessment_id}')").click()
    assert page.locator("h1").inner_text() == f"Stored assessment {assessment_id}"
    assert '"applicant_id": "APP-REG"' in page.inner_text("#record-request")
    assert quote.json()["policy_hash"] in page.inner_text("#record-summary")
    page.screenshot(path=str(screenshot_dir / "record.png"), full_page=True)


def test_scientist_sees_champions_and_calibration(page, console_server,
                                                   screenshot_dir: Path) -> None:
    sign_in(page, console_server, "scientist")
    page.goto("/console/models")
    litigation = page.locator("#task-litigation")
    assert "Champion v" in litigation.inner_text()
    assert "test_roc_auc_vs_oracle" in litigation.inner_text()
    assert litigation.locator("svg").count() == 1  # calibration plot
    assert "mlflow ui --backend-store-uri" in page.content()
    page.screenshot(path=str(screenshot_dir / "models.png"), full_page=True)


def test_a_role_is_denied_pages_outside_it(page, console_server) -> None:
    sign_in(page, console_server, "bank")
    nav = page.inner_text("nav.mainnav")
    assert "Pledge loans" in nav
    assert "Quote" not in nav
    assert "Supervision" not in nav
    response = page.goto("/console/quotes")
    assert response.status == 403
    assert "Your role may not open this page." in page.inner_text("main")
    assert page.goto("/console/regulator").status == 403
    sign_in(page, console_server, "regulator")
    assert page.goto("/console/patents").status == 403


def test_a_post_without_the_csrf_token_is_refused(page, console_server, trained_ids) -> None:
    sign_in(page, console_server, "underwriter")
    before = _latest(console_server, "enforcement_quote", console_server.user_ids["underwriter"])
    form = {"product": "enforcement", "patent.patent_id": trained_ids["patents"][0],
            "applicant.applicant_id": "APP-CSRF", "applicant.role": "patent_holder",
            "cover_limit": "1000000"}
    # Same browser session (cookie sent), no token / a wrong token: both refused.
    for extra in ({}, {"csrf_token": "not-the-token"}):
        answer = page.request.post("/console/quotes", form={**form, **extra})
        assert answer.status == 403
        assert "CSRF" in answer.text()
    after = _latest(console_server, "enforcement_quote", console_server.user_ids["underwriter"])
    assert (after.id if after else None) == (before.id if before else None)  # nothing stored


def test_chinese_profile_page(page, console_server, trained_ids, screenshot_dir: Path) -> None:
    patent = trained_ids["patents"][0]
    sign_in(page, console_server, "underwriter")
    page.get_by_role("link", name="中文").click()
    assert "专利检索查询" in page.inner_text("h1")
    page.goto(f"/console/patents/{patent}")  # remembered across pages
    assert page.get_attribute("html", "lang") == "zh-CN"
    text = page.inner_text("main")
    for heading in ("基本信息", "评分的构成", "法律状态时间线", "模型与政策版本"):
        assert heading in text
    stored = _latest(console_server, "patent_screening", console_server.user_ids["underwriter"])
    reasons = stored.outputs["patents"][0]["litigation_explanation"]["reasons"]
    svg = page.inner_html("#reasons svg")
    for reason in reasons:
        assert reason["text_zh"] in text  # the reason list and the waterfall speak Chinese
        assert reason["text_zh"] in svg.replace("&amp;", "&")
    page.screenshot(path=str(screenshot_dir / "profile-zh.png"), full_page=True)


def test_no_stack_trace_reaches_the_browser(page, console_server) -> None:
    sign_in(page, console_server, "underwriter")
    response = page.goto("/console/patents/NO-SUCH-PATENT")
    assert response.status == 404
    assert "NO-SUCH-PATENT" in page.inner_text(".error")
    response = page.goto("/console/patents?start=-1")
    assert response.status == 422
    assert not TRACE.search(page.content())


def test_api_docs_work_with_the_network_blocked(browser, console_server,
                                                 screenshot_dir: Path) -> None:
    context = browser.new_context(base_url=console_server.url,
                                  viewport={"width": 1280, "height": 1000})
    blocked: list[tuple[str, str]] = []

    def only_local(route) -> None:
        host = httpx.URL(route.request.url).host
        if host == "127.0.0.1":
            route.continue_()
        else:
            blocked.append((route.request.resource_type, route.request.url))
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    try:
        page.goto("/docs")
        operation = page.locator(".opblock-summary", has_text="/v1/quotes/enforcement").first
        operation.wait_for(timeout=30_000)
        assert "POST" in operation.inner_text()
        page.screenshot(path=str(screenshot_dir / "api-docs-offline.png"))
        assert blocked == []  # Swagger UI did not even try to leave the machine
        page.goto("/redoc")
        page.locator("h2", has_text="Quote patent enforcement insurance").first.wait_for(
            timeout=30_000)
        # ReDoc's bundle links only its 'powered by' logo image from its CDN; no script, style
        # or data the page needs comes from outside.
        assert {kind for kind, _url in blocked} <= {"image"}
    finally:
        context.close()
