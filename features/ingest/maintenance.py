"""USPTO maintenance fee events (MaintFeeEvents_YYYYMMDD.txt) -> legal_events.

Layout (USPTO "Patent Maintenance Fee Events", MaintFeeEventsFileDocumentation): ASCII, one
event per line, fields in this order separated by single spaces, fixed-width fields padded with
spaces or zeros: patent number, application number (8 digits), small-entity flag (Y small,
N large, M micro), application filing date (YYYYMMDD), grant date (YYYYMMDD), event entry date
(YYYYMMDD), event code. Lines are split on runs of whitespace, which reads both the fixed-width
and the plain space-separated variants; a line without exactly these seven fields is rejected.

Event codes (the file's code table), mapped explicitly:
- renewal_paid: fee payments M170-M175, M183-M185, M273-M275, M283-M285, M1551-M1553,
  M2551-M2553, M3551-M3553, M1559, M2559 (3.5, 7.5 or 11.5 year; large, small or micro entity);
- lapsed: EXP. (patent expired for failure to pay maintenance fees);
- renewal_paid: EXPX (patent reinstated after a late payment was accepted: back in force);
- not an event, counted: surcharges (M176-M178, M186-M188, M276-M278, M286-M288,
  M1554-M1558, M2554-M2558, M3554-M3558), F... fee and R... refund codes, REM. reminders, payer
  and entity-status changes (ASPN, RMPN, SMAL, BIG., MICR, LTOS, STOL), petitions (PMFP, PMFG,
  PMFD, PMFS), FEPP.

Any other code is counted and listed as a reject (rule `unknown event code`), never dropped
silently. Event ids are `MF-<patent>-<event date>-<code>`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from features.ingest.fields import iso_dates, us_patent_ids
from features.ingest.loading import Loader

CHUNK_LINES = 500_000
_RENEWAL = re.compile(r"^(M17[0-5]|M18[3-5]|M27[3-5]|M28[3-5]|M[123]55[123]|M[12]559)$")
_IGNORED = re.compile(
    r"^(M17[6-8]|M18[6-8]|M27[6-8]|M28[6-8]|M[123]55[4-8]|F\d{3,4}|R\d{3,4}|REM\.|ASPN|RMPN|"
    r"SMAL|BIG\.|MICR|LTOS|STOL|PMF[PGDS]|FEPP)$"
)
EVENT_BY_CODE = {"EXP.": "lapsed", "EXPX": "renewal_paid"}


def event_type(code: str) -> str | None:
    """Canonical event type of a maintenance fee event code; None for ignored or unknown codes."""
    if code in EVENT_BY_CODE:
        return EVENT_BY_CODE[code]
    return "renewal_paid" if _RENEWAL.match(code) else None


def load(paths: list[Path], loader: Loader) -> None:
    """Map maintenance fee event files into legal_events via `loader`."""
    for path in paths:
        with path.open(encoding="latin-1") as fh:
            lines: list[str] = []
            start = 1
            for number, line in enumerate(fh, start=1):
                lines.append(line)
                if len(lines) == CHUNK_LINES:
                    _chunk(path.name, start, lines, loader)
                    start, lines = number + 1, []
            if lines:
                _chunk(path.name, start, lines, loader)


def _chunk(name: str, start: int, lines: list[str], loader: Loader) -> None:
    loader.read(len(lines))
    fields = [ln.split() for ln in lines]
    frame = pd.DataFrame({"_file": name, "_line": range(start, start + len(lines)),
                          "raw": [ln.rstrip("\r\n") for ln in lines]})
    blank = frame["raw"].str.strip().eq("")
    shape_ok = pd.Series([len(f) == 7 for f in fields], index=frame.index)
    loader.reject(frame[~shape_ok & ~blank], "record",
                  "malformed record: expected 7 space-separated fields", "raw")
    good = [f for f, ok in zip(fields, shape_ok, strict=True) if ok]
    if not good:
        return
    cols = ["patent", "application", "entity", "filing_date", "grant_date", "event_date", "code"]
    ev = pd.DataFrame(good, columns=cols, dtype="string")
    ev["_file"] = name
    ev["_line"] = frame.loc[shape_ok, "_line"].to_numpy()
    ev["event_type"] = ev["code"].map(event_type).astype("string")
    ignored = ev["event_type"].isna() & ev["code"].str.match(_IGNORED.pattern)
    unknown = ev["event_type"].isna() & ~ignored
    loader.note("maintenance events that are not renewals or lapses (surcharges, reminders, ...)",
                int(ignored.sum()))
    loader.reject(ev[unknown], "code", "unknown event code", "code")
    ev = ev[ev["event_type"].notna()].copy()
    ev["patent_id"] = us_patent_ids(ev["patent"])
    bad = ev["patent_id"].isna()
    loader.reject(ev[bad], "patent_id", "patent number is not a US grant number", "patent")
    ev = ev[~bad]
    ev["event_date"] = iso_dates(ev["event_date"])
    ev["event_id"] = "MF-" + ev["patent_id"] + "-" + ev["event_date"].fillna("") + "-" + ev["code"]
    loader.add("legal_events", ev[["_file", "_line", "event_id", "patent_id", "event_date",
                                   "event_type"]])
