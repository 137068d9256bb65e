"""Ingest never crashes, for the four US adapters: generated files load, reject or fail clearly.

Each generated file starts from real records (the PatentsView, litigation and maintenance
fixtures, and the real USPTO assignment file of `/work/shared/data/real/`), then columns are
dropped, reordered or renamed, cells blanked or replaced by odd values (huge, unicode, numbers
out of range), lines cut, the text truncated anywhere, re-encoded and followed by garbage bytes.
An ingest must end in a report whose rejects name file, line (or record), column and rule, or in
one documented error; a failed ingest leaves the dataset's files as they were.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.ingest.sources import ingest
from features.settings import Settings
from tests.features.ingest.conftest import FIXTURES, REAL_ASSIGNMENTS, check_generated_ingest

ODD = st.one_of(
    st.just(""),
    st.sampled_from(["0", "-1", "99999999999999999999", "1e400", "NaN", "2018-02-30",
                     "20181315", "18/06/2019", "None", "N/A", "Y", "\u00a0", "专利", "\x00",
                     "US10000001B2", "M1551", "EXP.", "<tag>", "&amp;", "a\tb", "a,b", '"']),
    st.text(max_size=30),
    st.text(min_size=2_000, max_size=10_000, alphabet="patent, \"\t\nX"),
)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "gb18030"])

Mutate = Callable[[st.DrawFn, str], str]


def _delimited(delimiter: str) -> Mutate:
    """A mutation of a delimited text: columns dropped, reordered or renamed, cells changed."""

    def mutate(draw: st.DrawFn, text: str) -> str:
        lines = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        header, rows = lines[0], lines[1:]
        keep = draw(st.lists(st.sampled_from(range(len(header))), unique=True, min_size=1))
        if draw(st.booleans()):
            keep = sorted(keep)  # often the real order, so that many rows still load
        names = [header[i] for i in keep]
        for i in draw(st.lists(st.integers(0, len(names) - 1), max_size=1)):
            names[i] = draw(st.text(min_size=1, max_size=8))
        out = []
        for row in draw(st.lists(st.sampled_from(rows), max_size=10)) if rows else []:
            cells = [row[i] if i < len(row) else "" for i in keep]
            for i in draw(st.lists(st.integers(0, len(cells) - 1), max_size=3)):
                cells[i] = draw(ODD)
            if draw(st.integers(0, 9)) == 0:
                cells = cells[: draw(st.integers(0, len(cells)))]  # a short line
            out.append(cells)
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(out)
        return buf.getvalue()

    return mutate


def _fields(draw: st.DrawFn, text: str) -> str:
    """A mutation of maintenance-fee lines: space-separated fields changed, dropped or cut."""
    out = []
    for line in draw(st.lists(st.sampled_from(text.splitlines()), max_size=12)):
        fields = line.split(" ")
        for i in draw(st.lists(st.integers(0, len(fields) - 1), max_size=3)):
            fields[i] = draw(ODD).replace("\n", " ")
        if draw(st.integers(0, 5)) == 0:
            fields = fields[: draw(st.integers(0, len(fields)))]
        out.append(" ".join(fields))
    return "\n".join(out) + "\n"


_ELEMENT_TEXT = re.compile(r">([^<>]+)<")


def _xml(draw: st.DrawFn, text: str) -> str:
    """A mutation of assignment XML: some records, element texts replaced, lines dropped."""
    head, _, rest = text.partition("<patent-assignment>")
    records = rest.split("<patent-assignment>")
    chosen = draw(st.lists(st.sampled_from(records[:-1]), min_size=0, max_size=4))
    body = head + "".join("<patent-assignment>" + r for r in chosen)
    body += "</patent-assignments>\n</us-patent-assignments>\n" if chosen else ""
    if not chosen:
        body = head + "</patent-assignments>\n</us-patent-assignments>\n"
    spans = [m.span(1) for m in _ELEMENT_TEXT.finditer(body)]
    for i in sorted(set(draw(st.lists(st.integers(0, max(len(spans) - 1, 0)), max_size=4))),
                    reverse=True):
        if spans:
            start, end = spans[i]
            value = draw(ODD).replace("&", "&amp;").replace("<", "&lt;")
            body = body[:start] + value + body[end:]
    if draw(st.integers(0, 4)) == 0:
        lines = body.splitlines(keepends=True)
        drop = draw(st.integers(0, len(lines) - 1))
        body = "".join(lines[:drop] + lines[drop + 1:])  # an element half gone: not well-formed
    return body


def _assignment_seed() -> str:
    """The first records of the real assignment file (the whole file is slow to fuzz)."""
    text = REAL_ASSIGNMENTS.read_text(encoding="utf-8")
    head, _, rest = text.partition("<patent-assignment>")
    records = rest.split("<patent-assignment>")[:24]
    return head + "<patent-assignment>" + "<patent-assignment>".join(records)


# source -> {file name: (seed text, mutation)}
SEEDS: dict[str, Callable[[], dict[str, tuple[str, Mutate]]]] = {
    "patentsview": lambda: {
        p.name: (p.read_text(encoding="utf-8"), _delimited("\t"))
        for p in sorted((FIXTURES / "patentsview").glob("*.tsv"))},
    "uspto-litigation": lambda: {
        p.name: (p.read_text(encoding="utf-8"), _delimited(","))
        for p in sorted((FIXTURES / "litigation").glob("*.csv"))},
    "uspto-maintenance": lambda: {
        "MaintFeeEvents_20220405.txt": (
            (FIXTURES / "MaintFeeEvents_20220405.txt").read_text(encoding="utf-8"), _fields)},
    "uspto-assignments": lambda: {
        "ad20160101.xml": (_assignment_seed(), _xml)},
}


@st.composite
def source_files(draw: st.DrawFn, source: str) -> tuple[dict[str, bytes], str]:
    """The files of one generated ingest of `source` (each kept, mutated, cut or dropped)."""
    files: dict[str, bytes] = {}
    how = []
    for name, (seed, mutate) in SEEDS[source]().items():
        action = draw(st.sampled_from(["real", "mutated", "mutated", "dropped"]))
        if action == "dropped":
            how.append(f"{name} dropped")
            continue
        text = seed if action == "real" else mutate(draw, seed)
        if text and draw(st.integers(0, 3)) == 0:
            text = text[: draw(st.integers(0, len(text)))]  # cut anywhere, even mid-field
            action += ", cut"
        encoding = draw(ENCODINGS) if draw(st.integers(0, 3)) == 0 else "utf-8"
        data = text.encode(encoding, errors="replace")
        if draw(st.integers(0, 4)) == 0:
            data += draw(st.binary(max_size=64))
            action += ", garbage"
        files[name] = data
        how.append(f"{name} {action} ({encoding})")
    if not files:  # at least one file: an ingest of nothing is refused before it starts
        name, (seed, _) = next(iter(SEEDS[source]().items()))
        files[name] = seed.encode()
    return files, "; ".join(how)


@pytest.fixture(scope="module")
def us_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A US dataset holding the PatentsView fixture, which every generated file lands on."""
    data_dir = tmp_path_factory.mktemp("us_never_crashes")
    ingest("patentsview", sorted((FIXTURES / "patentsview").glob("*.tsv")),
           Settings(data_dir=data_dir), "base")
    return data_dir / "datasets" / "base"


HYPOTHESIS = settings(max_examples=30, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow, HealthCheck.data_too_large])


@HYPOTHESIS
@given(generated=source_files("patentsview"))
def test_generated_patentsview_files_load_reject_or_fail_clearly(
    us_base: Path, tmp_path_factory: pytest.TempPathFactory,
    generated: tuple[dict[str, bytes], str],
) -> None:
    check_generated_ingest("patentsview", us_base, tmp_path_factory.mktemp("pv"), *generated)


@HYPOTHESIS
@given(generated=source_files("uspto-litigation"))
def test_generated_litigation_files_load_reject_or_fail_clearly(
    us_base: Path, tmp_path_factory: pytest.TempPathFactory,
    generated: tuple[dict[str, bytes], str],
) -> None:
    check_generated_ingest("uspto-litigation", us_base, tmp_path_factory.mktemp("lit"), *generated)


@HYPOTHESIS
@given(generated=source_files("uspto-maintenance"))
def test_generated_maintenance_files_load_reject_or_fail_clearly(
    us_base: Path, tmp_path_factory: pytest.TempPathFactory,
    generated: tuple[dict[str, bytes], str],
) -> None:
    check_generated_ingest("uspto-maintenance", us_base, tmp_path_factory.mktemp("maint"),
                           *generated)


@pytest.mark.skipif(not REAL_ASSIGNMENTS.exists(), reason=f"no {REAL_ASSIGNMENTS}")
@HYPOTHESIS
@given(generated=source_files("uspto-assignments"))
def test_generated_assignment_files_load_reject_or_fail_clearly(
    us_base: Path, tmp_path_factory: pytest.TempPathFactory,
    generated: tuple[dict[str, bytes], str],
) -> None:
    check_generated_ingest("uspto-assignments", us_base, tmp_path_factory.mktemp("asg"), *generated)
