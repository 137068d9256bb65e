"""Fixtures for the ingest tests: fixture paths and a helper to read rejects files."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REAL_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real"
REAL_ASSIGNMENTS = REAL_DIR / "uspto-patent-assignments-ad20160101.xml"


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
