from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.store import TableStore
from serving.cli import app


def test_ingest_sources_appended_into_one_dataset(
    tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    rejects = tmp_path / "rejects.csv"
    pv = sorted(str(p) for p in (fixtures / "patentsview").glob("*.tsv"))
    result = runner.invoke(app, ["ingest", "patentsview", *pv, "--dataset", "real",
                                 "--rejects", str(rejects)])
    assert result.exit_code == 0, result.output
    assert "rows read" in result.output
    assert "loaded into patents" in result.output
    assert "rejected: withdrawn patent" in result.output
    with rejects.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["file", "line", "column", "rule", "value"]
    assert {"file": "g_patent.tsv", "line": "4", "column": "withdrawn",
            "rule": "withdrawn patent", "value": "10000003"} in rows

    lit = sorted(str(p) for p in (fixtures / "litigation").glob("*.csv"))
    result = runner.invoke(app, ["ingest", "uspto-litigation", *lit, "--dataset", "real"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["ingest", "uspto-maintenance",
                                 str(fixtures / "MaintFeeEvents_20220405.txt"),
                                 "--dataset", "real"])
    assert result.exit_code == 0, result.output

    store = TableStore(tmp_path / "var" / "datasets" / "real")
    assert store.tables() == ["patents", "patent_cpc", "assignees", "citations", "legal_events",
                              "cases"]
    store.check_references()
    meta = json.loads((store.root / "dataset.json").read_text())
    assert meta["source"] == "patentsview+uspto-litigation+uspto-maintenance"
    assert meta["end_date"] == "2018-06-19"  # the earliest end over the sources
    assert meta["sources"]["uspto-maintenance"]["end_date"] == "2022-03-10"
    assert not (store.root / ".ingest-staging").exists()


def test_ingest_bad_file_exits_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(tmp_path / "var"))
    bad = tmp_path / "g_patent.tsv"
    bad.write_text("patent_id\tpatent_date\n1\t2020-01-01\n")
    result = CliRunner().invoke(app, ["ingest", "patentsview", str(bad)])
    assert result.exit_code == 1
    assert "g_patent.tsv" in result.output
    assert "g_application" in result.output
    result = CliRunner().invoke(app, ["ingest", "nosuch", str(bad)])
    assert result.exit_code == 2
    assert "SOURCE must be one of" in result.output
