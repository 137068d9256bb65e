from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.ingest.assignments import conveyance_kind
from features.ingest.maintenance import event_type
from features.ingest.names import normalise_name
from features.ingest.sources import ingest
from features.settings import Settings
from features.store import TableStore


def _store(settings: Settings, name: str = "us") -> TableStore:
    return TableStore(settings.data_dir / "datasets" / name)


def _with_patents(settings: Settings, fixtures: Path) -> None:
    ingest("patentsview", sorted((fixtures / "patentsview").glob("*.tsv")), settings, "us")


def test_name_normalisation_matches_corporate_forms() -> None:
    assert normalise_name("Acme, Inc.") == normalise_name("ACME INC") == "ACME"
    assert normalise_name("Samsung Electronics Co., Ltd.") == "SAMSUNG ELECTRONICS"
    assert normalise_name("The Raytheon Company") == "RAYTHEON"
    assert normalise_name('"Widgets" L.L.C.') == "WIDGETS"
    assert normalise_name("I.B.M. Corp.") == "IBM"
    assert normalise_name("Widgets LLC") == "WIDGETS"
    assert normalise_name("天津某某科技有限公司") == "天津某某科技"


def test_litigation_cases_parties_and_outcomes(
    settings: Settings, fixtures: Path, read_rejects
) -> None:
    _with_patents(settings, fixtures)
    report = ingest("uspto-litigation", sorted((fixtures / "litigation").glob("*.csv")),
                    settings, "us")
    cases = _store(settings).read("cases").sort_values(["case_id", "patent_id"])
    got = [tuple(None if pd.isna(v) else v for v in row) for row in cases[
        ["case_id", "patent_id", "plaintiff_id", "defendant_id", "outcome"]].itertuples(
            index=False)]
    assert got == [
        ("OCE-101", "US10000001", "a-raytheon", "N:ACME", "settled"),
        ("OCE-101", "US9000001", "a-raytheon", "N:ACME", "settled"),
        ("OCE-102", "US10000002", "a-smith", "N:WIDGETS", None),
    ]
    first = cases.iloc[0]
    assert first["filed_date"] == pd.Timestamp("2019-03-01")
    assert first["closed_date"] == pd.Timestamp("2019-11-15")
    assert first["venue"] == "Texas Eastern District Court"
    assert read_rejects(report.rejects_path) == [
        ("patents.csv", "8", "case_row_id", "case_row_id not in cases.csv"),
        ("patents.csv", "5", "patent_doc_type", "patent_doc_type is not a US patent"),
        ("patents.csv", "6", "case_id,patent_id", "duplicate key"),
        ("patents.csv", "7", "filed_date", "must be of type date"),
    ]
    assert report.notes["cases without a patent in suit in patents.csv (not loaded)"] == 1


def test_maintenance_events(settings: Settings, fixtures: Path, read_rejects) -> None:
    _with_patents(settings, fixtures)
    report = ingest("uspto-maintenance", [fixtures / "MaintFeeEvents_20220405.txt"], settings,
                    "us")
    events = _store(settings).read("legal_events").sort_values("event_id")
    assert list(zip(events.event_id, events.event_type, strict=True)) == [
        ("MF-US10000001-2021-12-20-M1551", "renewal_paid"),
        ("MF-US10000002-2022-01-20-EXP.", "lapsed"),
        ("MF-US10000002-2022-03-10-EXPX", "renewal_paid"),
        ("MF-US10000002-2022-03-10-M2551", "renewal_paid"),
        ("MF-US9000001-2018-10-15-M1551", "renewal_paid"),
    ]
    assert read_rejects(report.rejects_path) == [
        ("MaintFeeEvents_20220405.txt", "8", "record",
         "malformed record: expected 7 space-separated fields"),
        ("MaintFeeEvents_20220405.txt", "7", "code", "unknown event code"),
        ("MaintFeeEvents_20220405.txt", "9", "patent_id", "must exist in patents.patent_id"),
    ]
    assert report.rows_read == 10
    assert sum(report.notes.values()) == 1  # the M1554 surcharge
    assert event_type("M3553") == "renewal_paid"
    assert event_type("M1554") is None


def test_real_assignment_file_counts(
    settings: Settings, real_assignments: Path, read_rejects
) -> None:
    report = ingest("uspto-assignments", [real_assignments], settings, "asg")
    assert report.rows_read == 199
    assert report.notes["assignment records -> transferred"] == 177  # 140 + 35 mergers + 2 nunc
    assert report.notes["assignment records -> pledged"] == 13
    assert report.notes["assignment records -> pledge_released"] == 7
    assert report.notes["assignment records -> licensed"] == 1
    assert report.notes["conveyance not an ownership event: CHANGE OF NAME"] == 1
    events = _store(settings, "asg").read("legal_events")
    assert len(events) == report.loaded["legal_events"] == 399
    counts = events["event_type"].value_counts().to_dict()
    assert set(counts) == {"transferred", "pledged", "pledge_released", "licensed"}
    first = events[events.event_id == "AS-37388-92-US9219817"].iloc[0]
    assert first["event_date"] == pd.Timestamp("2015-12-30")  # recorded, not executed
    assert first["event_type"] == "transferred"
    assert first["counterparty_id"] == "N:SOUNDBITE COMMUNICATIONS"
    assert report.rows_rejected == 0


def test_unknown_conveyance_is_kept_and_counted(
    settings: Settings, tmp_path: Path, read_rejects
) -> None:
    xml = tmp_path / "ad20200101.xml"
    xml.write_text(
        "<us-patent-assignments><patent-assignments><patent-assignment><assignment-record>"
        "<reel-no>1</reel-no><frame-no>2</frame-no><recorded-date><date>20200101</date>"
        "</recorded-date><conveyance-text>LIEN OF SOME NEW KIND</conveyance-text>"
        "</assignment-record><patent-assignees><patent-assignee><name>X</name>"
        "</patent-assignee></patent-assignees><patent-properties><patent-property><document-id>"
        "<country>US</country><doc-number>9999999</doc-number><kind>B2</kind></document-id>"
        "</patent-property></patent-properties></patent-assignment></patent-assignments>"
        "</us-patent-assignments>"
    )
    report = ingest("uspto-assignments", [xml], settings, "asg")
    assert report.notes["unknown conveyance type: LIEN OF SOME NEW KIND"] == 1
    assert read_rejects(report.rejects_path) == [
        ("ad20200101.xml", "1", "conveyance-text", "unknown conveyance type")]
    assert conveyance_kind("SECURITY INTEREST (SEE DOCUMENT FOR DETAILS).") == (True, "pledged")
    assert conveyance_kind("CORRECTIVE ASSIGNMENT TO CORRECT THE NAME") == (True, None)
