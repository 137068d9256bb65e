from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from features.ingest.delimited import SourceFileError
from features.ingest.sources import ingest
from features.settings import Settings
from features.store import TableStore


def _load(settings: Settings, fixtures: Path, names: list[str] | None = None):
    folder = fixtures / "patentsview"
    paths = [folder / n for n in names] if names else sorted(folder.glob("*.tsv"))
    report = ingest("patentsview", paths, settings, "pv")
    return report, TableStore(settings.data_dir / "datasets" / "pv")


def test_patents_rows_and_rejects(settings: Settings, fixtures: Path, read_rejects) -> None:
    report, store = _load(settings, fixtures)
    patents = store.read("patents").set_index("patent_id")
    assert list(patents.index) == ["US10000001", "US10000002", "USD800001", "US9000001"]
    first = patents.loc["US10000001"]
    assert first["filing_date"] == pd.Timestamp("2015-01-02")
    assert first["grant_date"] == pd.Timestamp("2018-06-19")
    assert first["expiry_date"] == pd.Timestamp("2035-01-02")  # 20 years from filing
    assert (first["num_claims"], first["num_inventors"]) == (20, 2)
    assert (first["cpc_main"], first["assignee_id"]) == ("G01S", "a-raytheon")
    assert patents.loc["US10000002", "title"] == 'Method for "smart" heating, with a comma'
    assert patents.loc["USD800001", "patent_type"] == "design"
    rejects = read_rejects(report.rejects_path)
    assert ("g_patent.tsv", "4", "withdrawn", "withdrawn patent") in rejects
    assert ("g_patent.tsv", "6", "patent_type",
            "must be one of invention, utility_model, design, utility") in rejects
    assert ("g_patent.tsv", "7", "filing_date", "must not be empty") in rejects
    assert ("g_patent.tsv", "8", "patent_id", "duplicate key") in rejects


def test_citation_date_is_the_citing_grant_not_the_cited_date(
    settings: Settings, fixtures: Path, read_rejects
) -> None:
    report, store = _load(settings, fixtures)
    cites = store.read("citations")
    assert len(cites) == 4
    assert set(cites["citation_date"]) == {pd.Timestamp("2018-06-19")}
    row = cites[(cites.citing_patent_id == "US10000001") & (cites.cited_patent_id == "US9000001")]
    assert bool(row["by_examiner"].iloc[0]) is True
    rejects = read_rejects(report.rejects_path)
    assert ("g_us_patent_citation.tsv", "5", "citing_patent_id,cited_patent_id",
            "duplicate key") in rejects
    assert ("g_us_patent_citation.tsv", "6", "citation_date",
            "citing patent's grant date unknown (not in g_patent or the dataset)") in rejects
    assert report.notes["citations without citation_category (by_examiner = false)"] == 1


def test_assignee_kinds_and_cpc(settings: Settings, fixtures: Path, read_rejects) -> None:
    report, store = _load(settings, fixtures)
    kinds = store.read("assignees").set_index("assignee_id")["kind"].to_dict()
    assert kinds == {"a-raytheon": "large_firm", "a-smith": "individual",
                     "a-mit": "university", "a-navy": "university"}
    assert report.rejected["assignee_type 1 is not a PatentsView code 2-9"] == 1
    cpc = store.read("patent_cpc")
    assert sorted(zip(cpc.patent_id, cpc.cpc_class, cpc.sequence, strict=True)) == [
        ("US10000001", "G01S", 0), ("US10000001", "H04N", 2), ("US10000002", "F24D", 0),
        ("US9000001", "G01S", 0)]
    assert store.meta()["end_date"] == "2018-06-19"
    assert report.end_date == date(2018, 6, 19)


def test_citations_later_use_grant_dates_from_the_dataset(
    settings: Settings, fixtures: Path, read_rejects
) -> None:
    _load(settings, fixtures, ["g_patent.tsv", "g_application.tsv"])
    report, store = _load(settings, fixtures, ["g_us_patent_citation.tsv"])
    assert report.loaded["citations"] == 4
    assert set(store.read("citations")["citation_date"]) == {pd.Timestamp("2018-06-19")}


def test_missing_header_column_names_file_and_line(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "g_patent.tsv"
    bad.write_text("patent_id\tpatent_date\n1\t2020-01-01\n")
    app = tmp_path / "g_application.tsv"
    app.write_text("patent_id\tfiling_date\n1\t2019-01-01\n")
    with pytest.raises(SourceFileError, match=r"g_patent.tsv, line 1: header lacks column"):
        ingest("patentsview", [bad, app], settings, "pv")


def test_malformed_record_is_rejected_with_its_line(
    settings: Settings, tmp_path: Path, read_rejects
) -> None:
    app = tmp_path / "g_application.tsv"
    app.write_text("patent_id\tfiling_date\n"
                   "11\t2019-01-01\n"
                   "12\t2019-01-02\textra\n"
                   "13\t2019-01-03\n")
    pat = tmp_path / "g_patent.tsv"
    pat.write_text("patent_id\tpatent_type\tpatent_date\tpatent_title\tnum_claims\twithdrawn\n"
                   "11\tutility\t2020-01-01\tA\t1\t0\n"
                   "13\tutility\t2020-01-03\tC\t1\t0\n")
    report = ingest("patentsview", [pat, app], settings, "pv")
    rejects = read_rejects(report.rejects_path)
    assert rejects == [("g_application.tsv", "3", "record",
                        "malformed record: too many columns")]
    assert report.loaded == {"patents": 2}
