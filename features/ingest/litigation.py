"""USPTO OCE Patent Litigation Docket Reports (cases.csv, names.csv, patents.csv) -> cases.

Layout followed: the 2020 release (Toole, Miller and Sichelman, "Technical Documentation for
Patent Litigation Docket Reports Data, 1963-2020", USPTO Economic Working Paper 2024-01),
comma-separated with a header line and double-quoted text. Columns read:

- cases.csv: case_row_id, case_number, date_filed, date_closed; court_name and settlement
  when present
- names.csv: case_row_id, party_type, name; party_row_count when present (orders the parties)
- patents.csv: case_row_id, patent; patent_doc_type when present

One canonical row per case and patent in suit (`case_id` = `OCE-<case_row_id>`). Cases that
patents.csv links to no patent are counted, not loaded (the canonical table is per patent).
Rows whose patent_doc_type is not `Patent` (applications, foreign patents) are rejected.

Parties: the first `Plaintiff` and the first `Defendant` of the case (by party_row_count, else
file order). Each is mapped to a dataset owner whose normalised name matches exactly
(features.ingest.names: case-folding, punctuation, corporate suffixes such as INC, CORP, LLC,
CO LTD); a party without a match gets the stable id `N:<normalised name>`.

Outcome: `settled` where the docket's settlement field is set (any value other than empty, 0,
no, false); the docket files give no structured judgment, so other outcomes stay empty.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.ingest.delimited import SourceFileError, header_of, load_table
from features.ingest.fields import iso_dates, us_patent_ids
from features.ingest.loading import Loader
from features.ingest.names import known_ids_by_name, match_ids

LAYOUT = "USPTO OCE litigation docket (2020 release)"
FILES: dict[str, tuple[str, ...]] = {
    "cases": ("case_row_id", "case_number", "date_filed", "date_closed"),
    "names": ("case_row_id", "party_type", "name"),
    "patents": ("case_row_id", "patent"),
}
NOT_SETTLED = {"", "0", "0.0", "no", "n", "false", "na", "none"}
BATCH_ROWS = 100_000


def load(paths: list[Path], loader: Loader) -> None:
    """Map the three OCE litigation files into the cases table via `loader`."""
    files: dict[str, Path] = {}
    for path in paths:
        stem = path.name.split(".")[0].lower()
        if stem not in FILES:
            raise SourceFileError(path, None, "not an OCE litigation file; expected cases.csv, "
                                              "names.csv and patents.csv")
        files[stem] = path
    missing = [f"{f}.csv" for f in FILES if f not in files]
    if missing:
        raise SourceFileError(paths[0], None, f"the litigation load needs {', '.join(missing)} too")
    known = known_ids_by_name(loader.existing("assignees", ["assignee_id", "name"]))
    con = loader.connect()
    try:
        for name, path in files.items():
            loader.read(load_table(con, loader, path, f"oce_{name}", FILES[name], delimiter=",",
                                   layout=LAYOUT))
        cases_cols = header_of(files["cases"], ",")
        names_cols = header_of(files["names"], ",")
        patents_cols = header_of(files["patents"], ",")
        venue = "c.court_name" if "court_name" in cases_cols else "NULL"
        settlement = "c.settlement" if "settlement" in cases_cols else "NULL"
        order = "TRY_CAST(party_row_count AS BIGINT), _line" if "party_row_count" in names_cols \
            else "_line"
        doc_type = "p.patent_doc_type" if "patent_doc_type" in patents_cols else "NULL"
        loader.note("cases without a patent in suit in patents.csv (not loaded)", int(con.execute(
            "SELECT count(*) FROM oce_cases WHERE case_row_id NOT IN "
            "(SELECT case_row_id FROM oce_patents)").fetchall()[0][0]))
        query = f"""
            WITH parties AS (
                SELECT case_row_id,
                    first(name ORDER BY {order}) FILTER (WHERE lower(trim(party_type)) =
                        'plaintiff') AS plaintiff,
                    first(name ORDER BY {order}) FILTER (WHERE lower(trim(party_type)) =
                        'defendant') AS defendant
                FROM oce_names GROUP BY case_row_id)
            SELECT p._file, p._line, 'OCE-' || trim(p.case_row_id) AS case_id, p.patent,
                   {doc_type} AS patent_doc_type, c.case_row_id IS NULL AS no_case,
                   c.date_filed AS filed_date, c.date_closed AS closed_date, {venue} AS venue,
                   {settlement} AS settlement, parties.plaintiff, parties.defendant
            FROM oce_patents p LEFT JOIN oce_cases c ON c.case_row_id = p.case_row_id
            LEFT JOIN parties ON parties.case_row_id = p.case_row_id ORDER BY p._line
        """
        for batch in con.sql(query).to_arrow_reader(BATCH_ROWS):
            _rows(batch.to_pandas(), loader, known)
    finally:
        con.close()


def _rows(frame: pd.DataFrame, loader: Loader, known: dict[str, str]) -> None:
    """Turn joined patent-in-suit rows into canonical case rows."""
    no_case = frame["no_case"].astype(bool)
    loader.reject(frame[no_case], "case_row_id", "case_row_id not in cases.csv", "case_id")
    frame = frame[~no_case]
    doc = frame["patent_doc_type"].fillna("Patent").str.strip().str.lower()
    not_patent = ~doc.isin(["patent", ""])
    loader.reject(frame[not_patent], "patent_doc_type", "patent_doc_type is not a US patent",
                  "patent_doc_type")
    frame = frame[~not_patent].copy()
    frame["patent_id"] = us_patent_ids(frame["patent"])
    bad = frame["patent_id"].isna()
    loader.reject(frame[bad], "patent", "patent is not a US grant number", "patent")
    frame = frame[~bad].copy()
    settled = ~frame["settlement"].fillna("").str.strip().str.lower().isin(NOT_SETTLED)
    frame["outcome"] = pd.Series(pd.NA, index=frame.index, dtype="string").mask(settled, "settled")
    frame["filed_date"] = iso_dates(frame["filed_date"])
    frame["closed_date"] = iso_dates(frame["closed_date"])
    frame["plaintiff_id"] = match_ids(frame["plaintiff"], known)
    frame["defendant_id"] = match_ids(frame["defendant"], known)
    loader.add("cases", frame[["_file", "_line", "case_id", "patent_id", "filed_date",
                               "plaintiff_id", "defendant_id", "venue", "outcome",
                               "closed_date"]])
