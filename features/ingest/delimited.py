"""Reading large delimited files (TSV/CSV) with DuckDB, keeping each record's line number.

Files are read without sniffing: the header line is read in Python, checked against the columns
the source layout needs, and DuckDB then reads every field as text. Malformed records (too many or
too few fields, broken quotes) are collected by DuckDB's `store_rejects` instead of stopping the
load, and are reported as rejects with their line number; every other record keeps its own line
number (`_line`, the header is line 1).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from features.ingest.loading import Loader


class SourceFileError(ValueError):
    """A source file cannot be read at all; names the file, line and rule."""

    def __init__(self, path: Path | str, line: int | None, rule: str) -> None:
        self.path = str(path)
        self.line = line
        self.rule = rule
        where = f"{path}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {rule}")


def header_of(path: Path, delimiter: str, encoding: str = "utf-8-sig") -> list[str]:
    """Column names on the first line of a delimited file (quotes and BOM removed)."""
    try:
        with path.open(encoding=encoding, newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError as exc:
        raise SourceFileError(path, 1, f"header is not valid {encoding} text") from exc
    if not first.strip():
        raise SourceFileError(path, 1, "file is empty or has no header line")
    return [c.strip().strip('"').strip() for c in first.rstrip("\r\n").split(delimiter)]


def load_table(
    con: duckdb.DuckDBPyConnection,
    loader: Loader,
    path: Path,
    name: str,
    required: tuple[str, ...],
    *,
    delimiter: str,
    layout: str,
) -> int:
    """Read `path` into DuckDB temp table `name` (all text, plus `_file`, `_line`); return rows.

    Raises `SourceFileError` when the header lacks a column the layout needs; malformed records
    are rejected (rule `malformed record: ...`) and the rest is read.
    """
    columns = header_of(path, delimiter)
    missing = [c for c in required if c not in columns]
    if missing:
        raise SourceFileError(
            path, 1, f"header lacks column(s) {', '.join(missing)} required by the {layout} layout"
            f" (found: {', '.join(columns[:12])})",
        )
    if len(set(columns)) != len(columns):
        raise SourceFileError(path, 1, "header repeats a column name")
    spec = "{" + ", ".join(f"'{_q(c)}': 'VARCHAR'" for c in columns) + "}"
    file_sql = _q(str(path))
    delim_sql = _q(delimiter)
    con.execute("DROP TABLE IF EXISTS reject_errors")
    con.execute("DROP TABLE IF EXISTS reject_scans")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT '{_q(path.name)}' AS _file, "
        f"row_number() OVER () + 1 AS _line, * FROM read_csv('{file_sql}', delim='{delim_sql}', "
        f"skip=1, header=false, auto_detect=false, columns={spec}, quote='\"', escape='\"', "
        "store_rejects=true, max_line_size=20000000)"
    )
    bad = con.execute(
        "SELECT DISTINCT line, error_type, coalesce(column_name, ''), left(csv_line, 200) "
        "FROM reject_errors ORDER BY line"
    ).fetchall()
    if bad:
        import pandas as pd

        frame = pd.DataFrame(
            {"_file": path.name, "_line": [b[0] for b in bad],
             "rule": [f"malformed record: {str(b[1]).lower()}" for b in bad],
             "value": [b[3] for b in bad]}
        )
        for rule, part in frame.groupby("rule", sort=False):
            loader.reject(part, "record", str(rule), "value")
        # Shift line numbers of the good records past the malformed lines before them.
        con.execute("CREATE OR REPLACE TEMP TABLE _bad AS SELECT line, row_number() OVER "
                    "(ORDER BY line) AS j FROM (SELECT DISTINCT line FROM reject_errors)")
        con.execute(
            f"UPDATE {name} SET _line = _line + (SELECT count(*) FROM _bad "
            f"WHERE _bad.line - _bad.j < {name}._line)"
        )
    rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    return int(rows) + len(bad)


def us_id_sql(column: str) -> str:
    """SQL expression turning a US grant number column into the canonical `US...` id (or NULL)."""
    text = f"upper(replace(trim({column}), ',', ''))"
    pattern = r"'^(?:US)?(D|RE|PP|H|T|X|AI)?0*(\d+)$'"
    return (f"CASE WHEN regexp_matches({text}, {pattern}) THEN 'US' || "
            f"regexp_extract({text}, {pattern}, 1) || regexp_extract({text}, {pattern}, 2) END")


def _q(text: str) -> str:
    """Text quoted for a DuckDB string literal."""
    return text.replace("'", "''")
