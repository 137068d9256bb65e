"""Ingest never crashes: generated cn-export files load, reject with a reason, or fail clearly.

Files mix known and unknown headers, missing and empty columns, values of every shape (huge,
blank, odd unicode), truncated lines and encodings; each ingest must end in a report whose
rejects name file, line, column and rule, or in one of the documented errors, and a failed
ingest leaves the dataset's files as they were.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.ingest.sources import ingest
from features.settings import Settings
from tests.features.ingest.conftest import check_generated_ingest

VALUES = st.one_of(
    st.just(""),
    st.sampled_from(["发明", "实用新型", "外观设计", "有效", "未缴年费", "2019-03-05",
                     "2021.06.01", "2021年2月3日", "CN201910123456.7", "CN109876543B",
                     "H04L 29/06", "H04L29/06;G06F21/60", "南开大学", "天津某某科技有限公司；张三",
                     "10", "-3", "1e400", "NaN"]),
    st.text(max_size=40),
    st.text(min_size=5_000, max_size=20_000, alphabet="专利数据,;\"\n "),
)


FIXTURE = Path(__file__).parent / "fixtures" / "cn_export_utf8bom.csv"
_LINES = list(csv.reader(io.StringIO(FIXTURE.read_text(encoding="utf-8-sig"))))
FIXTURE_HEADER, FIXTURE_ROWS = _LINES[1], _LINES[2:]


@st.composite
def exports(draw: st.DrawFn) -> tuple[bytes, str]:
    """Bytes of a generated export file and a word on how it was made.

    Rows start from the fixture's real rows under a random subset and order of its columns
    (so many of them load), with cells blanked or replaced by odd values, plus unknown columns.
    """
    keep = draw(st.lists(st.sampled_from(FIXTURE_HEADER), unique=True, min_size=2))
    unknown = draw(st.lists(st.text(min_size=1, max_size=8), max_size=2))
    header = draw(st.permutations(keep + unknown))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        real = dict(zip(FIXTURE_HEADER, draw(st.sampled_from(FIXTURE_ROWS)), strict=False))
        row = [real.get(h, "") for h in header]
        for i in draw(st.lists(st.integers(0, len(header) - 1), max_size=3)):
            row[i] = draw(VALUES)
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]  # a short line
        rows.append(row)
    buf = io.StringIO()
    writer = csv.writer(buf)
    if draw(st.booleans()):
        writer.writerow(["专利检索结果导出"])
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    if text and draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]  # cut anywhere, even mid-field
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data += draw(st.binary(max_size=64))  # trailing garbage bytes
    return data, f"{encoding}, {len(header)} columns, {len(rows)} rows"


@pytest.fixture(scope="module")
def base_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset already holding one loaded export, which every generated file lands on."""
    data_dir = tmp_path_factory.mktemp("never_crashes")
    ingest("cn-export", [FIXTURE], Settings(data_dir=data_dir), "base")
    return data_dir / "datasets" / "base"


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(export=exports())
def test_generated_exports_load_reject_or_fail_clearly(
    base_dataset: Path, tmp_path_factory: pytest.TempPathFactory, export: tuple[bytes, str]
) -> None:
    data, how = export
    check_generated_ingest("cn-export", base_dataset, tmp_path_factory.mktemp("run"),
                           {"export.csv": data}, how)
