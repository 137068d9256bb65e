"""USPTO patent assignment XML (us-patent-assignments DTD) -> legal_events.

The XML is streamed line by line through a pull parser and each `patent-assignment` element is
cleared once read (rows and rejects name the line where its record starts), so memory stays
bounded for the multi-gigabyte annual files. One event is made per assignment record and granted
patent it names: a `patent-property` whose `document-id` has a grant kind code (B1,
B2, E, S, P...); properties that are only applications (kind X0) or publications (A1) are
counted and skipped, since the canonical patents are grants.

event_date is the `recorded-date` (when the USPTO recorded the deed and it became public), not the
execution date. counterparty_id is the first assignee (the new owner, the secured party, the
licensee): the id of a dataset owner whose normalised name matches (see features.ingest.names),
else `N:<normalised name>`. event_id is `AS-<reel>-<frame>-<patent>`.

Conveyance types (the text before "(SEE DOCUMENT FOR DETAILS)") are mapped explicitly in
`CONVEYANCE_EVENTS` (the first matching prefix wins):
- transferred: ASSIGNMENT OF ASSIGNORS INTEREST, ASSIGNMENT, NUNC PRO TUNC ASSIGNMENT, MERGER,
  COURT ORDER;
- pledged: SECURITY INTEREST, SECURITY AGREEMENT, PATENT SECURITY AGREEMENT, GRANT OF SECURITY
  INTEREST, INTELLECTUAL PROPERTY SECURITY AGREEMENT;
- pledge_released: RELEASE BY SECURED PARTY, RELEASE OF SECURITY INTEREST, TERMINATION AND
  RELEASE OF SECURITY INTEREST, RELEASE OF LIEN;
- licensed: LICENSE, EXCLUSIVE LICENSE;
- no ownership event, counted: CHANGE OF NAME, CHANGE OF ADDRESS, ENTITY CONVERSION (same owner),
  CORRECTIVE ... (corrects an earlier record), CONFIRMATORY LICENSE and GOVERNMENT INTEREST
  (federal-funding licences to the US government).

Every other conveyance is kept in the summary by its text and listed in the rejects file with
the rule `unknown conveyance type`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pandas as pd

from features.ingest.delimited import SourceFileError
from features.ingest.fields import iso_dates, us_patent_id
from features.ingest.loading import Loader
from features.ingest.names import known_ids_by_name, match_ids

CONVEYANCE_EVENTS: tuple[tuple[str, str | None], ...] = (
    ("CORRECTIVE", None),
    ("CONFIRMATORY LICENSE", None),
    ("GOVERNMENT INTEREST", None),
    ("CHANGE OF NAME", None),
    ("CHANGE OF ADDRESS", None),
    ("ENTITY CONVERSION", None),
    ("ASSIGNMENT OF ASSIGNORS INTEREST", "transferred"),
    ("NUNC PRO TUNC ASSIGNMENT", "transferred"),
    ("MERGER", "transferred"),
    ("COURT ORDER", "transferred"),
    ("ASSIGNMENT", "transferred"),
    ("SECURITY INTEREST", "pledged"),
    ("SECURITY AGREEMENT", "pledged"),
    ("PATENT SECURITY AGREEMENT", "pledged"),
    ("GRANT OF SECURITY INTEREST", "pledged"),
    ("INTELLECTUAL PROPERTY SECURITY AGREEMENT", "pledged"),
    ("RELEASE BY SECURED PARTY", "pledge_released"),
    ("RELEASE OF SECURITY INTEREST", "pledge_released"),
    ("TERMINATION AND RELEASE OF SECURITY INTEREST", "pledge_released"),
    ("RELEASE OF LIEN", "pledge_released"),
    ("EXCLUSIVE LICENSE", "licensed"),
    ("LICENSE", "licensed"),
)
GRANT_KINDS = re.compile(r"^(B\d?|E\d?|S\d?|P\d?|H\d?)$")
_DETAILS = re.compile(r"\s*\(SEE DOCUMENT FOR DETAILS\)\.?\s*$")
CHUNK_RECORDS = 5_000


def conveyance_kind(text: str | None) -> tuple[bool, str | None]:
    """(known, event type) for a conveyance text; event None means known but not an event."""
    clean = _DETAILS.sub("", (text or "").upper()).strip().rstrip(".")
    for prefix, event in CONVEYANCE_EVENTS:
        if clean.startswith(prefix):
            return True, event
    return False, None


def load(paths: list[Path], loader: Loader) -> None:
    """Stream assignment XML files and map their records into legal_events via `loader`."""
    known = known_ids_by_name(loader.existing("assignees", ["assignee_id", "name"]))
    for path in paths:
        rows: list[dict[str, object]] = []
        try:
            for record, line in _records(path):
                loader.read(1)
                rows.extend(_events(record, path.name, line, loader))
                if len(rows) >= CHUNK_RECORDS:
                    _flush(rows, loader, known)
                    rows = []
        except ET.ParseError as exc:
            _flush(rows, loader, known)
            raise SourceFileError(path, exc.position[0], f"XML is not well-formed: {exc}") from None
        _flush(rows, loader, known)


def _records(path: Path) -> Iterator[tuple[ET.Element, int]]:
    """Yield each patent-assignment element with its start line, clearing it once handled."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    root = None
    start_line = 0
    with path.open("rb") as fh:
        for number, chunk in enumerate(fh, start=1):
            parser.feed(chunk)
            for pair in parser.read_events():
                event, elem = cast("tuple[str, ET.Element]", pair)  # start/end: elements
                if root is None:
                    root = elem
                if event == "start" and elem.tag == "patent-assignment":
                    start_line = number
                elif event == "end" and elem.tag == "patent-assignment":
                    yield elem, start_line
                    elem.clear()
                    root.clear()
        parser.close()  # raises ParseError on a truncated file


def _events(
    elem: ET.Element, file: str, line: int, loader: Loader
) -> list[dict[str, object]]:
    reel = (elem.findtext("assignment-record/reel-no") or "").strip()
    frame = (elem.findtext("assignment-record/frame-no") or "").strip()
    text = elem.findtext("assignment-record/conveyance-text") or ""
    recorded = (elem.findtext("assignment-record/recorded-date/date") or "").strip()
    known, event = conveyance_kind(text)
    ref = f"reel {reel} frame {frame}"
    if not known:
        loader.note(f"unknown conveyance type: {_DETAILS.sub('', text.upper()).strip()}")
        loader.reject(pd.DataFrame({"_file": [file], "_line": [line], "value": [f"{ref}: {text}"]}),
                      "conveyance-text", "unknown conveyance type", "value")
        return []
    if event is None:
        loader.note(f"conveyance not an ownership event: {_DETAILS.sub('', text.upper()).strip()}")
        return []
    loader.note(f"assignment records -> {event}")
    assignee = elem.findtext("patent-assignees/patent-assignee/name")
    out: list[dict[str, object]] = []
    for prop in elem.findall("patent-properties/patent-property"):
        grant = None
        for doc in prop.findall("document-id"):
            if GRANT_KINDS.match((doc.findtext("kind") or "").strip().upper()):
                grant = us_patent_id(doc.findtext("doc-number"))
                break
        if grant is None:
            loader.note("assigned properties without a granted patent (applications only)")
            continue
        out.append({"_file": file, "_line": line, "event_id": f"AS-{reel}-{frame}-{grant}",
                    "patent_id": grant, "event_date": recorded, "event_type": event,
                    "assignee": assignee, "ref": ref})
    return out


def _flush(rows: list[dict[str, object]], loader: Loader, known: dict[str, str]) -> None:
    if not rows:
        return
    frame = pd.DataFrame(rows)
    frame["event_date"] = iso_dates(frame["event_date"])
    frame["counterparty_id"] = match_ids(frame["assignee"], known)
    loader.add("legal_events", frame[["_file", "_line", "event_id", "patent_id", "event_date",
                                      "event_type", "counterparty_id"]])
