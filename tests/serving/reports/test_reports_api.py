"""Reports over HTTP and from the CLI: roles, formats, errors, and a CSV behind every chart."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
import pytest
from typer.testing import CliRunner

from serving.cli import app as cli_app
from serving.reports.rendering import render_html
from tests.serving.conftest import make_keys
from tests.serving.reports.conftest import csv_table, in_force_at

pytestmark = pytest.mark.slow

CHART = re.compile(r'<figure class="chart" data-table="([a-z0-9_]+)">\s*<svg')
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def keys(scoring_client) -> dict[str, str]:
    return make_keys(scoring_client)


def _h(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"X-API-Key": keys[role]}


def test_every_chart_has_its_csv(written) -> None:
    for report in written.values():
        for lang, path in report.html.items():
            page = path.read_text(encoding="utf-8")
            charts = CHART.findall(page)
            assert charts, f"{path} has no chart"
            for name in charts:
                assert (report.folder / f"{name}.csv").exists(), name
                assert f'href="{name}.csv"' in page
            # Nothing to fetch: no external source, link target or stylesheet import.
            assert not re.search(r'(src|href)="(https?:)?//|url\((?!#)|@import', page)
            if lang == "zh":
                assert CJK.search(page)


def test_cover_names_dataset_date_models_and_policy(built, basis) -> None:
    page = render_html(built["market"], "en")
    assert basis.as_of.isoformat() in page
    for task in ("litigation", "liability", "severity", "default", "value"):
        assert f"patentrisk-{task} v{basis.models.require(task).version}" in page
    assert basis.models.policy_version in page
    assert basis.models.policy_hash in page


def test_roles(scoring_client, keys) -> None:
    assert scoring_client.get("/v1/reports/market").status_code == 401
    assert scoring_client.get("/v1/reports/market", headers=_h(keys, "bank")).status_code == 403
    assert scoring_client.get("/v1/reports/rates",
                              headers=_h(keys, "scientist")).status_code == 403
    r = scoring_client.get("/v1/reports/portfolio?borrower=X", headers=_h(keys, "underwriter"))
    assert r.status_code == 403
    assert "bank" in r.text


def test_market_over_http_as_html_csv_and_zip(scoring_client, keys, basis, raw) -> None:
    q = "/v1/reports/market?years=1&take_up=0.1&cpc_section=H"
    page = scoring_client.get(q, headers=_h(keys, "regulator"))
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "format=csv" in page.text
    assert "table=stock_by_type" in page.text
    csv = scoring_client.get(q + "&format=csv&table=stock_by_type",
                             headers=_h(keys, "underwriter"))
    assert csv.status_code == 200
    stock = pd.read_csv(io.StringIO(csv.text)).set_index("patent_type")["patents"]
    alive = in_force_at(raw, basis.as_of)
    alive = alive[alive["cpc_main"].str[0] == "H"]
    assert stock.to_dict() == alive["patent_type"].value_counts().to_dict()
    zipped = scoring_client.get(q + "&format=zip&lang=zh", headers=_h(keys, "admin"))
    assert zipped.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    folder = f"market-{basis.as_of.isoformat()}"
    assert f"{folder}/report.en.html" in names
    assert f"{folder}/report.zh.html" in names
    assert f"{folder}/premium_volume.csv" in names


def test_bad_report_requests_name_the_field(scoring_client, keys) -> None:
    h = _h(keys, "regulator")
    r = scoring_client.get("/v1/reports/market?owner_kind=pirate", headers=h)
    assert r.status_code == 422
    assert "owner_kind" in r.text
    for day in ("2099-01-01", "0001-01-01"):
        r = scoring_client.get(f"/v1/reports/market?as_of={day}", headers=h)
        assert r.status_code == 422
        assert "as_of" in r.text
    r = scoring_client.get("/v1/reports/rates?years=2&format=csv&table=nope", headers=h)
    assert r.status_code == 422
    assert "table" in r.text
    r = scoring_client.get("/v1/reports/portfolio", headers=_h(keys, "bank"))
    assert r.status_code == 422
    assert "borrower" in r.text
    r = scoring_client.get("/v1/reports/portfolio?borrower=NOPE", headers=_h(keys, "bank"))
    assert r.status_code == 404


def test_a_market_with_nothing_in_it_still_reports(scoring_client, keys) -> None:
    r = scoring_client.get("/v1/reports/market?region=Atlantis&years=1",
                           headers=_h(keys, "regulator"))
    assert r.status_code == 200, r.text
    csv = scoring_client.get("/v1/reports/market?region=Atlantis&years=1&format=csv"
                             "&table=stock_by_type", headers=_h(keys, "regulator"))
    assert pd.read_csv(io.StringIO(csv.text)).empty


def test_portfolio_over_http(scoring_client, keys, basis, raw) -> None:
    alive = in_force_at(raw, basis.as_of)
    counts = alive["owner_id"].value_counts()
    firm = sorted(counts[(counts >= 2) & (counts <= 20)].index)[0]
    r = scoring_client.get(f"/v1/reports/portfolio?borrower={firm}&amount=300000&format=csv"
                           "&table=portfolio_patents", headers=_h(keys, "bank"))
    assert r.status_code == 200, r.text
    rows = pd.read_csv(io.StringIO(r.text))
    assert sorted(rows["patent_id"]) == sorted(alive.loc[alive["owner_id"] == firm, "patent_id"])


def test_cli_writes_html_and_csv(trained_settings, tmp_path, basis) -> None:
    env = {"PATENTRISK_DATA_DIR": str(trained_settings.data_dir)}
    out = tmp_path / "reports"
    res = CliRunner().invoke(cli_app, ["report", "rates", "--out", str(out), "--years", "2",
                                       "--lang", "en"], env=env)
    assert res.exit_code == 0, res.output
    folder = out / f"rates-{basis.as_of.isoformat()}"
    assert (folder / "report.en.html").exists()
    assert not (folder / "report.zh.html").exists()
    table = pd.read_csv(folder / "adequacy_enforcement_by_year.csv", encoding="utf-8-sig")
    assert len(table) == 2
    bad = CliRunner().invoke(cli_app, ["report", "market", "--owner-kind", "pirate",
                                       "--out", str(out)], env=env)
    assert bad.exit_code == 1
    assert "owner_kind" in bad.output


def test_written_csv_matches_the_report_table(built, written) -> None:
    for kind, report in built.items():
        for table in report.tables():
            back = csv_table(written[kind], table.name)
            assert list(back.columns) == [str(c) for c in table.frame.columns]
            assert len(back) == len(table.frame)
