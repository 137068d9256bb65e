from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.ingest.delimited import SourceFileError
from features.ingest.sources import ingest
from features.settings import Settings
from features.store import TableStore

EXPECTED_CSV_REJECTS = [
    ("7", "patent_id", "duplicate key"),
    ("8", "filing_date", "must be of type date"),
    ("9", "patent_type", "must be one of invention, utility_model, design, utility"),
    ("7", "patent_id,cpc_class", "duplicate key"),
    ("8", "patent_id", "must exist in patents.patent_id"),
    ("9", "patent_id", "must exist in patents.patent_id"),
]


@pytest.mark.parametrize("name", ["cn_export_gbk.csv", "cn_export_utf8bom.csv"])
def test_csv_export_in_gbk_and_utf8_bom(
    settings: Settings, fixtures: Path, read_rejects, name: str
) -> None:
    report = ingest("cn-export", [fixtures / name], settings, "cn")
    store = TableStore(settings.data_dir / "datasets" / "cn")
    patents = store.read("patents").set_index("patent_id")
    assert list(patents.index) == ["CN109876543B", "CN212345678U", "CN306123456S",
                                   "CN108000001A"]
    assert list(patents["patent_type"]) == ["invention", "utility_model", "design", "invention"]
    first = patents.loc["CN109876543B"]
    assert (first["filing_date"], first["grant_date"]) == (
        pd.Timestamp("2019-03-05"), pd.Timestamp("2021-06-01"))
    assert first["expiry_date"] == pd.Timestamp("2039-03-05")
    assert (first["num_claims"], first["cpc_main"], first["num_inventors"]) == (10, "H04L", 2)
    assert first["assignee_id"] == "N:天津某某科技"
    assert patents.loc["CN212345678U", "grant_date"] == pd.Timestamp("2021-02-03")  # 2021年2月3日
    assert pd.isna(patents.loc["CN108000001A", "grant_date"])  # rejected application
    kinds = store.read("assignees").set_index("assignee_id")["kind"].to_dict()
    assert kinds == {"N:天津某某科技": "sme", "N:李明": "individual", "N:南开大学": "university",
                     "N:中国石油化工": "large_firm", "N:某某": "individual"}
    events = store.read("legal_events")
    assert list(zip(events.patent_id, events.event_type, events.event_date, strict=True)) == [
        ("CN212345678U", "lapsed", pd.Timestamp("2023-07-01"))]
    assert [r[1:] for r in read_rejects(report.rejects_path)] == EXPECTED_CSV_REJECTS
    assert {r[0] for r in read_rejects(report.rejects_path)} == {name}


def test_xlsx_export_with_other_vendor_headers(settings: Settings, fixtures: Path) -> None:
    report = ingest("cn-export", [fixtures / "cn_export.xlsx"], settings, "cn")
    store = TableStore(settings.data_dir / "datasets" / "cn")
    patents = store.read("patents")
    assert list(zip(patents.patent_id, patents.patent_type, patents.num_claims,
                    patents.cpc_main, strict=True)) == [
        ("CN110000004B", "invention", 12, "A61K"), ("CN210000005U", "utility_model", 3, "B65D")]
    assert report.rows_rejected == 0
    kinds = store.read("assignees").set_index("assignee_id")["kind"].to_dict()
    assert kinds == {"N:北京某某集团": "large_firm", "N:清华大学": "university"}
    assert store.read("legal_events")["event_date"].tolist() == [pd.Timestamp("2024-01-05")]
    assert store.meta()["currency"] == "CNY"


def test_file_without_known_headers_is_refused(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "list.csv"
    bad.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="no header row with known Chinese column names"):
        ingest("cn-export", [bad], settings, "cn")


@pytest.mark.parametrize("blank", ["empty cells", "no column"])
def test_export_without_applicant_names_loads_its_patents_without_owners(
    settings: Settings, fixtures: Path, tmp_path: Path, read_rejects, blank: str
) -> None:
    lines = (fixtures / "cn_export_utf8bom.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[1].split(",")
    owner = header.index("申请(专利权)人")
    rows = [line.split(",") for line in lines[1:]]
    for row in rows[1:]:
        if len(row) > owner:
            row[owner] = ""
    if blank == "no column":
        rows = [row[:owner] + row[owner + 1:] for row in rows]
    path = tmp_path / "no_names.csv"
    path.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]), encoding="utf-8")
    report = ingest("cn-export", [path], settings, "cn")
    store = TableStore(settings.data_dir / "datasets" / "cn")
    patents = store.read("patents").set_index("patent_id")
    assert list(patents.index) == ["CN109876543B", "CN212345678U", "CN306123456S",
                                   "CN108000001A"]
    assert patents["assignee_id"].isna().all()
    assert not store.exists("assignees") or store.read("assignees").empty
    assert report.rows_loaded > 0
    assert [r[1:] for r in read_rejects(report.rejects_path)] == EXPECTED_CSV_REJECTS


def test_owner_kind_reads_a_missing_name_as_an_empty_one() -> None:
    from features.ingest.chinese_export import owner_kind

    assert owner_kind(pd.NA) == owner_kind(None) == owner_kind("  ") == owner_kind("")
    assert owner_kind("南开大学") == "university"
