"""Fixtures for the ingest tests: fixture paths and a helper to read rejects files."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from features.ingest.delimited import SourceFileError
from features.ingest.sources import ingest
from features.schema import SchemaError
from features.settings import Settings
from features.store import TableStore

FIXTURES = Path(__file__).parent / "fixtures"
REAL_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real"
REAL_ASSIGNMENTS = REAL_DIR / "uspto-patent-assignments-ad20160101.xml"
# The documented errors an ingest may end in instead of a report (never a traceback).
CLEAR_ERRORS = (SourceFileError, SchemaError, ValueError)


@pytest.fixture
def fixtures() -> Path:
    """Folder of the hand-written source fixtures."""
    return FIXTURES


def _read_rejects(path: Path | None) -> list[tuple[str, str, str, str]]:
    """(file, line, column, rule) of every row of a rejects file."""
    assert path is not None
    with path.open(encoding="utf-8") as fh:
        return [(r["file"], r["line"], r["column"], r["rule"]) for r in csv.DictReader(fh)]


@pytest.fixture
def read_rejects() -> Callable[[Path | None], list[tuple[str, str, str, str]]]:
    """Reader of rejects files: (file, line, column, rule) per row."""
    return _read_rejects


@pytest.fixture
def real_assignments() -> Path:
    """The real USPTO assignment file beside the checkout, or skip with the reason."""
    if not REAL_ASSIGNMENTS.exists():
        pytest.skip(f"real assignment file not found at {REAL_ASSIGNMENTS}")
    return REAL_ASSIGNMENTS


def dataset_files(root: Path) -> dict[str, str]:
    """Hash of every file of a dataset folder except the rejects written by ingests."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file() and "rejects" not in p.parts
    }


def check_generated_ingest(source: str, base: Path, work: Path, files: dict[str, bytes],
                           how: str) -> None:
    """Ingest `files` of `source` onto a copy of `base`: a report or a clear error, never more.

    A failed ingest leaves the dataset's files as they were; a report's rejects name file,
    line (in XML the line where the record starts), column and rule.
    """
    dataset = work / "datasets" / "base"
    dataset.mkdir(parents=True)
    for p in base.iterdir():
        if p.is_file():
            (dataset / p.name).write_bytes(p.read_bytes())
    before = dataset_files(dataset)
    paths = []
    for name, data in files.items():
        path = work / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    try:
        report = ingest(source, paths, Settings(data_dir=work), "base")
    except CLEAR_ERRORS as exc:
        message = str(exc)
        report = None
    if report is None:
        assert message, how
        assert dataset_files(dataset) == before, f"a failed ingest changed the dataset ({how})"
        return
    TableStore(dataset).check_references()  # what was loaded is a consistent dataset
    if report.rows_rejected:
        assert report.rejects_path is not None
        rejects = pd.read_csv(report.rejects_path, dtype=str, keep_default_na=False)
        assert set(rejects["file"]) <= set(files), how
        located = rejects["line"] != ""  # in XML, the line where the record starts
        assert located.all(), f"{how}: {rejects[~located].head(3).to_dict('records')}"
        assert (rejects["column"] != "").all(), how
        assert (rejects["rule"] != "").all(), how
