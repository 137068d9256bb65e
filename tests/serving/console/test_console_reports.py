"""Reports in the console: who sees which report, the same numbers as the API, errors on the form,
and the framed report in a real browser (English and Chinese)."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.serving.console.conftest import ConsoleServer, sign_in

pytestmark = pytest.mark.slow

TRACE = re.compile(r"Traceback|File \"/|line \d+, in ")
CHART = re.compile(r'<figure class="chart" data-table="([a-z0-9_]+)">\s*<svg')


def _signed_in(client: TestClient, key: str) -> TestClient:
    """`client` signed in to the console with API key `key` (a fresh cookie jar)."""
    client.cookies.clear()
    page = client.get("/console/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post("/console/signin", data={"csrf_token": token.group(1), "api_key": key},
                         follow_redirects=False)
    assert answer.status_code == 303
    return client


def _srcdoc(page: str) -> str:
    """The report page framed in a console page."""
    found = re.search(r'<iframe id="report-frame"[^>]*srcdoc="([^"]*)"', page)
    assert found is not None, "no framed report"
    return unescape(found.group(1))


def test_each_role_sees_its_reports(scoring_client: TestClient, scoring_keys) -> None:
    expect = {"regulator": ["market", "rates"], "underwriter": ["market", "rates"],
              "bank": ["portfolio"], "admin": ["market", "rates", "portfolio"]}
    for role, kinds in expect.items():
        client = _signed_in(scoring_client, scoring_keys[role])
        home = client.get("/console/reports")
        assert home.status_code == 200, role
        assert 'href="/console/reports"' in home.text  # in the navigation bar
        offered = re.findall(r'action="/console/reports/(\w+)"', home.text)
        assert offered == kinds[:1], role  # the form of its first report
        for kind in ("market", "rates", "portfolio"):
            form = client.get(f"/console/reports/{kind}")
            assert form.status_code == (200 if kind in kinds else 403), (role, kind)
    for role in ("scientist", "adjuster"):
        client = _signed_in(scoring_client, scoring_keys[role])
        assert client.get("/console/reports").status_code == 403
        assert 'href="/console/reports"' not in client.get("/console").text
    scoring_client.cookies.clear()
    anonymous = scoring_client.get("/console/reports/market?run=1", follow_redirects=False)
    assert anonymous.status_code == 303
    assert "/console/signin" in anonymous.headers["location"]


def test_the_console_shows_the_apis_report(scoring_client: TestClient, scoring_keys) -> None:
    params = {"cpc_section": "H", "take_up": "0.1,0.3", "years": "3"}
    api = scoring_client.get("/v1/reports/market", params={
        "cpc_section": "H", "take_up": [0.1, 0.3], "years": 3, "format": "zip"},
        headers={"X-API-Key": scoring_keys["regulator"]})
    assert api.status_code == 200, api.text
    client = _signed_in(scoring_client, scoring_keys["regulator"])
    page = client.get("/console/reports/market", params={**params, "run": "1"})
    assert page.status_code == 200, page.text
    report = _srcdoc(page.text)
    charts = CHART.findall(report)
    assert charts
    # Every chart's CSV link stays in the console and answers that table.
    zipped = zipfile.ZipFile(io.BytesIO(api.content))
    folder = zipped.namelist()[0].split("/")[0]
    for name in charts:
        href = re.search(rf'href="(/console/reports/market\?[^"]*table={name})"', report)
        assert href is not None, name
        csv = client.get(unescape(href.group(1)))
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
        # The same builder as the API: the same figures (the API's zip holds its CSVs).
        assert csv.text == zipped.read(f"{folder}/{name}.csv").decode("utf-8-sig"), name
    download = client.get("/console/reports/market", params={**params, "run": "1", "show": "zip"})
    assert download.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert {n.split("/", 1)[1] for n in names} == {n.split("/", 1)[1] for n in zipped.namelist()}


def test_reports_follow_the_console_language(scoring_client: TestClient, scoring_keys) -> None:
    client = _signed_in(scoring_client, scoring_keys["underwriter"])
    client.get("/console/lang/zh", follow_redirects=False)
    page = client.get("/console/reports/rates", params={"run": "1", "years": "3"})
    assert page.status_code == 200
    assert "费率充足性回测" in page.text
    report = _srcdoc(page.text)
    assert '<html lang="zh-CN">' in report
    english = re.search(r'<footer><p>patentrisk · <a href="([^"]+)">English</a>', report)
    assert english is not None
    other = client.get(unescape(english.group(1)))
    assert other.status_code == 200
    assert other.text.startswith("<!DOCTYPE html>\n<html lang=\"en\">")


def test_bad_input_comes_back_on_the_form(scoring_client: TestClient, scoring_keys,
                                          trained_ids) -> None:
    client = _signed_in(scoring_client, scoring_keys["regulator"])
    cases = [
        ({"take_up": "2"}, "take_up", "[share]"),
        ({"take_up": "a lot"}, "take_up", "[share]"),
        ({"years": "99"}, "years", "[range]"),
        ({"cpc_section": "Q"}, "cpc_section", "[one_of]"),
        ({"as_of": "2025-13-01"}, "as_of", "[date_format]"),
        ({"as_of": "1850-01-01"}, "as_of", "[not_before_1900]"),
    ]
    for params, field, rule in cases:
        page = client.get("/console/reports/market", params={**params, "run": "1"})
        assert page.status_code == 422, params
        error = re.search(rf'<span class="field-error" id="e-{field}">([^<]+)</span>', page.text)
        assert error is not None, (params, page.text[-2000:])
        assert rule in error.group(1)
        assert not TRACE.search(page.text)
        assert "report-frame" not in page.text
    bank = _signed_in(scoring_client, scoring_keys["bank"])
    missing = bank.get("/console/reports/portfolio", params={"run": "1", "borrower": "NOPE"})
    assert missing.status_code == 404
    assert re.search(r'id="e-borrower">[^<]*NOPE', missing.text)
    nothing = bank.get("/console/reports/portfolio", params={"run": "1"})
    assert nothing.status_code == 422
    assert re.search(r'id="e-borrower">[^<]*\[required\]', nothing.text)
    gone = bank.get("/console/reports/portfolio",
                    params={"run": "1", "patents": f"{trained_ids['patents'][0]}\nNOPE-1"})
    assert gone.status_code == 404
    assert re.search(r'id="e-patents">[^<]*NOPE-1', gone.text)


@pytest.mark.browser
def test_regulator_builds_the_market_report_in_the_browser(
    page, console_server: ConsoleServer, screenshot_dir: Path
) -> None:
    sign_in(page, console_server, "regulator")
    page.get_by_role("link", name="Reports", exact=True).click()
    assert page.url.endswith("/console/reports")
    assert page.locator("#report-kinds").inner_text().split() == ["Market", "and", "demand",
                                                                   "Rate", "adequacy"]
    page.select_option("#f-cpc_section", "H")
    page.fill("#f-take_up", "0.1, 0.25")
    page.fill("#f-years", "3")
    page.click("#report-build")
    page.wait_for_load_state()
    frame = page.frame_locator("#report-frame")
    assert "market and demand" in frame.locator("h1").inner_text()
    charts = frame.locator("figure.chart svg")
    assert charts.count() > 3
    box = charts.first.bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 80
    assert frame.locator("dl.cover dd").count() >= 5
    page.screenshot(path=str(screenshot_dir / "reports-market.png"), full_page=True)
    # A bad take-up rate comes back on the form, in the user's language.
    page.fill("#f-take_up", "1.5")
    page.click("#report-build")
    assert "[share]" in page.locator("#e-take_up").inner_text()
    assert page.locator("#report-frame").count() == 0


@pytest.mark.browser
def test_bank_builds_a_portfolio_report_in_chinese(
    page, console_server: ConsoleServer, trained_ids, screenshot_dir: Path
) -> None:
    sign_in(page, console_server, "bank")
    page.locator("header .langs a", has_text="中文").click()
    page.get_by_role("link", name="报告", exact=True).click()
    assert page.locator("h2").first.inner_text() == "质押组合估值"
    page.fill("#f-patents", "\n".join(trained_ids["patents"]))
    page.fill("#f-amount", "300000")
    page.click("#report-build")
    page.wait_for_load_state()
    frame = page.frame_locator("#report-frame")
    title = frame.locator("h1").inner_text()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in title)
    rows = frame.locator("table[data-table=portfolio_patents] tbody tr")
    assert rows.count() == len(trained_ids["patents"])
    assert frame.locator("table[data-table=value_axes] tbody tr").count() == 4
    page.screenshot(path=str(screenshot_dir / "reports-portfolio-zh.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#report-zip")
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert any(n.endswith("/report.zh.html") for n in names)
    assert any(n.endswith("/portfolio_patents.csv") for n in names)
