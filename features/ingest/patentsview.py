"""PatentsView granted-patent bulk tables -> patents, patent_cpc, citations, assignees.

Layout followed: the PatentsView bulk download tables of the "g_" generation (data releases since
2022, e.g. the 2024-12-31 release), tab-separated with a header line, one file per table, as
documented in the PatentsView data dictionary (https://patentsview.org/download/data-download-
dictionary). Columns read (others are ignored, so later additions do not break the load):

- g_patent.tsv: patent_id, patent_type, patent_date, patent_title, num_claims, withdrawn
- g_application.tsv: patent_id, filing_date
- g_us_patent_citation.tsv: patent_id, citation_patent_id, citation_category
- g_cpc_current.tsv: patent_id, cpc_sequence, cpc_section, cpc_subclass
- g_assignee_disambiguated.tsv: patent_id, assignee_sequence, assignee_id,
  disambig_assignee_individual_name_first, disambig_assignee_individual_name_last,
  disambig_assignee_organization, assignee_type
- g_inventor_disambiguated.tsv: patent_id, inventor_id

Point-in-time rule: `g_us_patent_citation.citation_date` is the date of the *cited* patent. A
citation becomes known when the citing patent is granted, so `citations.citation_date` is the
citing patent's `g_patent.patent_date` (from the g_patent file of the same ingest, else from the
dataset's patents table). Using the PatentsView column would leak the future.

`assignee_type` codes (a leading 1 marks a part interest and is ignored, so 12 reads as 2):
2 US company and 3 foreign company -> `large_firm` (PatentsView does not tell firm size; a
company whose name says university, college or institute of technology -> `university`);
4 US individual and 5 foreign individual -> `individual`; 6 US federal government, 7 foreign
government, 8 US county and 9 US state government -> `university` (public research owners that
license rather than practise and rarely sue; of the canonical kinds this is the closest). Any
other code is rejected with the rule naming the code.

Withdrawn patents (`withdrawn` = 1) never issued and are rejected (rule `withdrawn patent`).
Patent types other than utility and design (plant, reissue, ...) are rejected by the schema rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from features.ingest.delimited import SourceFileError, load_table, us_id_sql
from features.ingest.loading import Loader

LAYOUT = "PatentsView g_* (2022+)"
FILES: dict[str, tuple[str, ...]] = {
    "g_patent": ("patent_id", "patent_type", "patent_date", "patent_title", "num_claims",
                 "withdrawn"),
    "g_application": ("patent_id", "filing_date"),
    "g_us_patent_citation": ("patent_id", "citation_patent_id", "citation_category"),
    "g_cpc_current": ("patent_id", "cpc_sequence", "cpc_section", "cpc_subclass"),
    "g_assignee_disambiguated": (
        "patent_id", "assignee_sequence", "assignee_id", "disambig_assignee_individual_name_first",
        "disambig_assignee_individual_name_last", "disambig_assignee_organization",
        "assignee_type",
    ),
    "g_inventor_disambiguated": ("patent_id", "inventor_id"),
}
ASSIGNEE_KINDS_BY_TYPE = {
    2: "large_firm", 3: "large_firm", 4: "individual", 5: "individual",
    6: "university", 7: "university", 8: "university", 9: "university",
}
_UNIVERSITY = re.compile(r"UNIVERSIT|COLLEGE|INSTITUTE OF TECHNOLOGY|大学|学院", re.IGNORECASE)
BATCH_ROWS = 200_000


def table_of(path: Path) -> str:
    """Which g_* table a file holds, from its name (`g_patent.tsv`, `g_patent_2024.tsv`)."""
    stem = path.name.split(".")[0].lower()
    for name in sorted(FILES, key=len, reverse=True):
        if stem == name or stem.startswith(name + "_") and not stem.startswith("g_patent_abstract"):
            return name
    raise SourceFileError(path, None, f"not a PatentsView table this adapter reads; expected one "
                                      f"of {', '.join(f + '.tsv' for f in FILES)}")


def load(paths: list[Path], loader: Loader) -> None:
    """Map the given PatentsView g_* files into the canonical tables via `loader`."""
    files: dict[str, Path] = {}
    for path in paths:
        name = table_of(path)
        if name in files:
            raise SourceFileError(path, None, f"{name} given twice ({files[name].name})")
        files[name] = path
    if "g_patent" in files and "g_application" not in files:
        raise SourceFileError(files["g_patent"], None, "g_patent needs g_application.tsv in the "
                                                       "same ingest (it holds the filing dates)")
    con = loader.connect()
    try:
        for name, path in files.items():
            rows = load_table(con, loader, path, name, FILES[name], delimiter="\t", layout=LAYOUT)
            if name in ("g_application", "g_inventor_disambiguated"):
                loader.read(rows)
        if "g_assignee_disambiguated" in files:
            _assignees(con, loader)
        if "g_patent" in files:
            _patents(con, loader, files)
        if "g_cpc_current" in files:
            _patent_cpc(con, loader)
        if "g_us_patent_citation" in files:
            _citations(con, loader, "g_patent" in files)
    finally:
        con.close()


def _stream(con: duckdb.DuckDBPyConnection, query: str) -> Iterator[pd.DataFrame]:
    """Batches of a query as pandas frames, streamed (bounded memory)."""
    for batch in con.sql(query).to_arrow_reader(BATCH_ROWS):
        yield batch.to_pandas()


def _assignees(con: duckdb.DuckDBPyConnection, loader: Loader) -> None:
    loader.read(con.execute("SELECT count(*) FROM g_assignee_disambiguated").fetchall()[0][0])
    query = """
        SELECT arg_min(_file, _line) AS _file, min(_line) AS _line, assignee_id,
               arg_min(coalesce(nullif(trim(disambig_assignee_organization), ''),
                       trim(coalesce(disambig_assignee_individual_name_first, '') || ' ' ||
                            coalesce(disambig_assignee_individual_name_last, ''))), _line) AS name,
               arg_min(assignee_type, _line) AS assignee_type
        FROM g_assignee_disambiguated WHERE assignee_id IS NOT NULL AND trim(assignee_id) <> ''
        GROUP BY assignee_id ORDER BY _line
    """
    for frame in _stream(con, query):
        code = pd.to_numeric(frame["assignee_type"], errors="coerce")
        code = code.where(code < 10, code % 10)
        kind = code.map(ASSIGNEE_KINDS_BY_TYPE).astype("string")
        uni = frame["name"].fillna("").str.contains(_UNIVERSITY) & kind.eq("large_firm")
        kind = kind.mask(uni.fillna(False), "university")
        unknown = kind.isna()
        for raw, part in frame[unknown].groupby(frame["assignee_type"].fillna("").astype(str)):
            loader.reject(part, "assignee_type",
                          f"assignee_type {raw or '(empty)'} is not a PatentsView code 2-9",
                          "assignee_type")
        ok = frame[~unknown].assign(kind=kind[~unknown])
        loader.add("assignees", ok[["_file", "_line", "assignee_id", "name", "kind"]])


def _patents(con: duckdb.DuckDBPyConnection, loader: Loader, files: dict[str, Path]) -> None:
    joins = ["LEFT JOIN (SELECT patent_id, min(filing_date) AS filing_date FROM g_application "
             "GROUP BY patent_id) app USING (patent_id)"]
    extra = ["app.filing_date"]
    if "g_inventor_disambiguated" in files:
        joins.append("LEFT JOIN (SELECT patent_id, count(DISTINCT inventor_id) AS n FROM "
                     "g_inventor_disambiguated GROUP BY patent_id) inv USING (patent_id)")
        extra.append("inv.n AS num_inventors")
    if "g_cpc_current" in files:
        joins.append("LEFT JOIN (SELECT patent_id, arg_min(cpc_subclass, TRY_CAST(cpc_sequence AS "
                     "INTEGER)) AS cpc_main FROM g_cpc_current GROUP BY patent_id) cpc "
                     "USING (patent_id)")
        extra.append("cpc.cpc_main")
    if "g_assignee_disambiguated" in files:
        joins.append("LEFT JOIN (SELECT patent_id, arg_min(assignee_id, TRY_CAST("
                     "assignee_sequence AS INTEGER)) AS assignee_id FROM g_assignee_disambiguated "
                     "GROUP BY patent_id) asg USING (patent_id)")
        extra.append("asg.assignee_id")
    query = f"""
        SELECT p._file, p._line, {us_id_sql('p.patent_id')} AS patent_id, 'US' AS jurisdiction,
               lower(trim(p.patent_type)) AS patent_type, p.patent_date AS grant_date,
               p.num_claims, p.patent_title AS title, p.withdrawn, p.patent_id AS raw_id,
               {', '.join(extra)}
        FROM g_patent p {' '.join(joins)} ORDER BY p._line
    """
    for frame in _stream(con, query):
        loader.read(len(frame))
        bad_id = frame["patent_id"].isna() & frame["raw_id"].notna()
        loader.reject(frame[bad_id], "patent_id", "patent_id is not a US grant number", "raw_id")
        withdrawn = frame["withdrawn"].fillna("0").str.strip().isin(["1", "1.0", "true", "True"])
        loader.reject(frame[withdrawn & ~bad_id], "withdrawn", "withdrawn patent", "raw_id")
        loader.add("patents", frame[~withdrawn & ~bad_id].drop(columns=["withdrawn", "raw_id"]))


def _patent_cpc(con: duckdb.DuckDBPyConnection, loader: Loader) -> None:
    query = f"""
        SELECT arg_min(_file, _line) AS _file, min(_line) AS _line,
               {us_id_sql('patent_id')} AS patent_id, upper(trim(cpc_subclass)) AS cpc_class,
               arg_min(upper(trim(cpc_section)), _line) AS cpc_section,
               min(TRY_CAST(cpc_sequence AS INTEGER)) AS sequence
        FROM g_cpc_current GROUP BY patent_id, upper(trim(cpc_subclass)) ORDER BY _line
    """
    for frame in _stream(con, query):
        loader.add("patent_cpc", frame)
    loader.read(con.execute("SELECT count(*) FROM g_cpc_current").fetchall()[0][0])


def _citations(con: duckdb.DuckDBPyConnection, loader: Loader, with_patents: bool) -> None:
    if with_patents:
        grants = f"SELECT {us_id_sql('patent_id')} AS patent_id, arg_min(patent_date, _line) " \
                 f"AS grant_date FROM g_patent GROUP BY {us_id_sql('patent_id')}"
    elif loader.store.exists("patents"):
        path = str(loader.store.path("patents")).replace("'", "''")
        grants = f"SELECT patent_id, CAST(grant_date AS VARCHAR) AS grant_date " \
                 f"FROM read_parquet('{path}')"
    else:
        grants = "SELECT NULL::VARCHAR AS patent_id, NULL::VARCHAR AS grant_date WHERE false"
    query = f"""
        SELECT c._file, c._line, {us_id_sql('c.patent_id')} AS citing_patent_id,
               {us_id_sql('c.citation_patent_id')} AS cited_patent_id,
               g.grant_date AS citation_date,
               lower(trim(c.citation_category)) AS category
        FROM g_us_patent_citation c
        LEFT JOIN ({grants}) g ON g.patent_id = {us_id_sql('c.patent_id')}
    """
    for frame in _stream(con, query):
        loader.read(len(frame))
        no_grant = frame["citation_date"].isna() & frame["citing_patent_id"].notna()
        loader.reject(frame[no_grant], "citation_date",
                      "citing patent's grant date unknown (not in g_patent or the dataset)",
                      "citing_patent_id")
        frame = frame[~no_grant]
        category = frame["category"]
        loader.note("citations without citation_category (by_examiner = false)",
                    int(category.isna().sum()))
        frame = frame.assign(by_examiner=category.eq("cited by examiner").fillna(False))
        loader.add("citations", frame.drop(columns=["category"]))
