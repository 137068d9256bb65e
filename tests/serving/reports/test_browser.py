"""The reports open in headless Chromium with the network blocked, and look like reports.

Screenshots go to `REPORTS_SCREENSHOT_DIR` when set, else to the test's temporary folder. With
`REPORTS_UNDER_TEST` set to a folder of written reports (`patentrisk report KIND --out DIR`), the
test opens those instead of the trained test world's: docs/reports/ holds the screenshots of the
demo world's reports taken that way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from serving.reports.builders import build_report
from serving.reports.rendering import WrittenReport, write_report

CHROMIUM = Path("/usr/bin/chromium")
# Read at import: the suite's autouse fixture clears PATENTRISK_* variables, these are not.
SHOTS_DIR = os.environ.get("REPORTS_SCREENSHOT_DIR")
PAGES_DIR = os.environ.get("REPORTS_UNDER_TEST")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"headless Chromium not installed at "
                       f"{CHROMIUM} (Debian package chromium; .ci/run installs it)"),
]


@pytest.fixture(scope="module")
def pages(request: pytest.FixtureRequest) -> dict[str, dict[str, Path]]:
    """HTML page per kind and language: the given folder's, or the trained world's."""
    if PAGES_DIR:
        found = {}
        for kind in ("market", "rates", "portfolio"):
            folder = sorted(Path(PAGES_DIR).glob(f"{kind}-*"))[-1]
            found[kind] = {lang: folder / f"report.{lang}.html" for lang in ("en", "zh")}
        return found
    return {k: w.html for k, w in request.getfixturevalue("world_pages").items()}


@pytest.fixture(scope="module")
def world_pages(basis, written, raw, tmp_path_factory) -> dict[str, WrittenReport]:
    """Market and rates from the shared fixtures, and a portfolio report."""
    from tests.serving.reports.conftest import in_force_at

    alive = in_force_at(raw, basis.as_of)
    counts = alive["owner_id"].value_counts()
    firm = sorted(counts[(counts >= 5) & (counts <= 40)].index)[0]
    folder = tmp_path_factory.mktemp("portfolio")
    portfolio = write_report(build_report(basis, "portfolio", borrower=firm), folder)
    return {**written, "portfolio": portfolio}


@pytest.mark.parametrize("kind", ["market", "rates", "portfolio"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_renders_offline(pages, chromium, kind: str, lang: str, tmp_path: Path) -> None:
    shots = Path(SHOTS_DIR or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page_file = pages[kind][lang]
    blocked: list[str] = []
    errors: list[str] = []
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()

        def route(r) -> None:  # noqa: ANN001 - playwright's Route
            url = r.request.url
            if url.startswith("file://") or url.startswith("http://127.0.0.1"):
                r.continue_()
            else:
                blocked.append(url)
                r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        figures = page.locator("figure.chart svg")
        assert figures.count() > 0
        for i in range(figures.count()):
            box = figures.nth(i).bounding_box()
            assert box is not None
            assert box["width"] > 200
            assert box["height"] > 80
        title = page.locator("h1").inner_text()
        assert title
        if lang == "zh":
            assert any("\u4e00" <= ch <= "\u9fff" for ch in title)
        assert page.locator("dl.cover dd").count() >= 5
        page.screenshot(path=str(shots / f"{kind}.{lang}.png"), full_page=True)
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4")
        assert pdf[:4] == b"%PDF"
    finally:
        context.close()
    assert blocked == [], f"the report tried to reach the network: {blocked}"
    assert errors == []
