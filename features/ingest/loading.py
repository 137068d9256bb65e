"""The load engine every source adapter feeds: row checks, rejects, staging and merge by key.

An adapter hands `Loader.add` chunks of rows already shaped like a canonical table, each row
carrying the source file and line it came from (`_file`, `_line`). The loader

1. checks every row with `features.schema.check_rows`; a failing row is written to the rejects
   file (file, line, column, rule, value) and never reaches the table, not even in part;
2. appends the valid rows to a staging Parquet file per table (memory stays at one chunk);
3. on `finish`, with DuckDB (spilling to disk under a memory limit): drops later duplicates of a
   key (rule `duplicate key`), rejects rows whose strict foreign key does not resolve in the
   dataset (rule `must exist in <table>.<column>`), and merges the rest into the dataset's table:
   a new row replaces an existing row with the same key, other existing rows are kept. Each table
   is written to a temporary file and moved into place, so a failed load leaves the old table.
"""

from __future__ import annotations

import csv
import logging
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.schema import TABLES, arrow_schema, check_rows, table, to_arrow
from features.store import TableStore
from features.terms import expiry_dates

if TYPE_CHECKING:
    from _csv import Writer as CsvWriter

# A rejected cell: file, line, column, rule, offending value.
RejectRow = tuple[Any, Any, Any, Any, Any]

log = logging.getLogger(__name__)

# Owners first, then patents, then everything that points at patents: strict foreign keys are
# checked against tables that are already final.
FINISH_ORDER = ("assignees", "patents", "patent_cpc", "citations", "legal_events", "cases")
# The column whose latest value says up to when a table's data reaches (for dataset end_date).
DATE_OF_TABLE = {
    "patents": "grant_date",
    "citations": "citation_date",
    "legal_events": "event_date",
    "cases": "filed_date",
}
REJECT_COLUMNS = ("file", "line", "column", "rule", "value")
_META = ("_file", "_line")


@dataclass
class IngestReport:
    """What one ingest did: rows read, rows loaded per table, rejects per rule, notes."""

    source: str
    dataset: str
    rows_read: int = 0
    loaded: dict[str, int] = field(default_factory=dict)
    replaced: dict[str, int] = field(default_factory=dict)
    rejected: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    rejects_path: Path | None = None
    rejects_listed: int = 0
    end_date: date | None = None

    @property
    def rows_rejected(self) -> int:
        """Rows rejected over all rules."""
        return sum(self.rejected.values())

    @property
    def rows_loaded(self) -> int:
        """Rows loaded over all tables."""
        return sum(self.loaded.values())


class Loader:
    """Collects canonical rows from an adapter and merges them into one dataset by key."""

    def __init__(
        self,
        store: TableStore,
        report: IngestReport,
        rejects_path: Path,
        *,
        max_listed_rejects: int = 1_000_000,
        memory_limit: str = "1GB",
        on_read: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.report = report
        self.rejects_path = rejects_path
        self.max_listed_rejects = max_listed_rejects
        self.memory_limit = memory_limit
        self.on_read = on_read
        self._work = store.root / ".ingest-staging"
        # Merged tables waiting to replace the dataset's files once every table is merged.
        self._pending: dict[str, Path] = {}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._seq: dict[str, int] = {}
        self._rejects_file: TextIO | None = None
        self._rejects_csv: CsvWriter | None = None

    # -- what adapters call -------------------------------------------------------------------

    def read(self, rows: int) -> None:
        """Count `rows` source records read (drives the progress bar)."""
        self.report.rows_read += rows
        if self.on_read is not None:
            self.on_read(rows)

    def note(self, what: str, count: int = 1) -> None:
        """Count something worth reporting that is neither loaded nor an error (ignored codes)."""
        if count:
            self.report.notes[what] += count

    def reject(self, frame: pd.DataFrame, column: str, rule: str, value: str | None = None) -> None:
        """Reject the source rows in `frame` (with `_file`, `_line`) for `rule` on `column`."""
        if frame.empty:
            return
        values = frame[value] if value and value in frame.columns else pd.Series(None, frame.index)
        self._write_rejects(
            zip(frame["_file"], frame["_line"], [column] * len(frame), [rule] * len(frame),
                values, strict=True),
            rule, len(frame),
        )

    def add(self, name: str, rows: pd.DataFrame) -> None:
        """Check `rows` of canonical table `name` and stage the valid ones for the merge."""
        if rows.empty:
            return
        tbl = table(name)
        rows = rows.reset_index(drop=True)
        rows["_row"] = range(len(rows))
        canonical = rows[[c for c in rows.columns if c not in (*_META, "_row")]]
        valid, rejects = check_rows(tbl, canonical.assign(_row=rows["_row"]))
        if len(rejects):
            bad_rows = rows.set_index("_row").loc[rejects["_row"].to_numpy()]
            values = [
                ",".join(_text(r.get(c)) for c in col.split(",")) if col else None
                for col, (_, r) in zip(rejects["column"], bad_rows.iterrows(), strict=True)
            ]
            self._write_rejects(
                zip(bad_rows["_file"], bad_rows["_line"], rejects["column"], rejects["rule"],
                    values, strict=True),
                None, len(rejects),
                rules=list(rejects["rule"]),
            )
        if valid.empty:
            return
        if name == "patents":
            valid = _with_expiry(valid)
        keep = ~rows["_row"].isin(rejects["_row"]) if len(rejects) else pd.Series(True, rows.index)
        meta = rows.loc[keep, list(_META)].reset_index(drop=True)
        data = to_arrow(name, valid[tbl.column_names])
        start = self._seq.get(name, 0)
        data = (
            data.cast(_nullable_schema(name))
            .append_column("_file", pa.array(meta["_file"].astype(str).tolist(), pa.string()))
            .append_column("_line", pa.array(meta["_line"].astype("Int64"), pa.int64(),
                                             from_pandas=True))
            .append_column("_seq", pa.array(range(start, start + len(valid)), pa.int64()))
        )
        self._seq[name] = start + len(valid)
        writer = self._writers.get(name)
        if writer is None:
            self._work.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(self._work / f"{name}.parquet", _staging_schema(name))
            self._writers[name] = writer
        writer.write_table(data)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection under the load's memory limit, spilling into the staging folder."""
        con = duckdb.connect()
        con.execute(f"SET memory_limit='{self.memory_limit}'")
        self._work.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory='{_sql_path(self._work / 'duckdb-tmp')}'")
        return con

    def existing(self, name: str, columns: list[str]) -> pd.DataFrame | None:
        """Columns of a table already in the dataset (small tables only), or None if absent."""
        return self.store.read(name, columns) if self.store.exists(name) else None

    # -- finishing ------------------------------------------------------------------------------

    def finish(self) -> IngestReport:
        """Deduplicate, check foreign keys and merge every staged table into the dataset."""
        for writer in self._writers.values():
            writer.close()
        staged = [t for t in FINISH_ORDER if t in self._writers]
        staged += [t.name for t in TABLES if t.name in self._writers and t.name not in staged]
        ends: list[date] = []
        if staged:
            con = self.connect()
            try:
                for name in staged:
                    end = self._merge(con, name)
                    if end is not None:
                        ends.append(end)
            finally:
                con.close()
            # Every table merged (the disk had room for all of them): only now do they replace
            # the dataset's files, so a failed ingest leaves the dataset as it was.
            for name, merged in self._pending.items():
                merged.replace(self.store.path(name))
            self._pending.clear()
        if self._rejects_file is not None:
            self._rejects_file.close()
        shutil.rmtree(self._work, ignore_errors=True)
        if ends and self.report.end_date is None:
            self.report.end_date = max(ends)
        return self.report

    def abort(self) -> None:
        """Drop the staged rows after a fatal error; the dataset's tables stay as they were."""
        for writer in self._writers.values():
            try:
                writer.close()
            except OSError:  # a full disk fails the close too; the staged file goes anyway
                pass
        for merged in self._pending.values():
            merged.unlink(missing_ok=True)
        self._pending.clear()
        if self._rejects_file is not None:
            self._rejects_file.close()
        shutil.rmtree(self._work, ignore_errors=True)

    def _merge(self, con: duckdb.DuckDBPyConnection, name: str) -> date | None:
        tbl = table(name)
        cols = ", ".join(tbl.column_names)
        key = ", ".join(tbl.key)
        stage = _sql_path(self._work / f"{name}.parquet")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE ranked AS SELECT *, row_number() OVER "
            f"(PARTITION BY {key} ORDER BY _seq) AS _rn FROM read_parquet('{stage}')"
        )
        dup_value = " || ',' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in tbl.key)
        self._rejects_from(con, f"SELECT _file, _line, '{','.join(tbl.key)}', 'duplicate key', "
                                f"{dup_value} FROM ranked WHERE _rn > 1 ORDER BY _seq",
                           "duplicate key")
        con.execute("DELETE FROM ranked WHERE _rn > 1")
        for fk in tbl.foreign_keys:
            if not fk.strict or not (fk.table in self._pending or self.store.exists(fk.table)):
                continue
            # The parent as this ingest leaves it (merged earlier in this run), else as stored.
            target = _sql_path(self._pending.get(fk.table, self.store.path(fk.table)))
            where = (f"{fk.column} IS NOT NULL AND {fk.column} NOT IN "
                     f"(SELECT {fk.target} FROM read_parquet('{target}'))")
            rule = f"must exist in {fk.table}.{fk.target}"
            self._rejects_from(con, f"SELECT _file, _line, '{fk.column}', '{rule}', {fk.column} "
                                    f"FROM ranked WHERE {where} ORDER BY _seq", rule)
            con.execute(f"DELETE FROM ranked WHERE {where}")
        loaded = con.execute("SELECT count(*) FROM ranked").fetchall()[0][0]
        self.report.loaded[name] = int(loaded)
        final = self.store.path(name)
        tmp = final.with_suffix(".parquet.merging")
        if final.exists():
            old = _sql_path(final)
            on = " AND ".join(f"e.{k} = n.{k}" for k in tbl.key)
            replaced = con.execute(
                f"SELECT count(*) FROM read_parquet('{old}') e SEMI JOIN ranked n ON {on}"
            ).fetchall()[0][0]
            self.report.replaced[name] = int(replaced)
            query = (f"SELECT {cols} FROM read_parquet('{old}') e ANTI JOIN ranked n ON {on} "
                     f"UNION ALL SELECT {cols} FROM ranked")
        else:
            query = f"SELECT {cols} FROM ranked ORDER BY _seq"
        casts = ", ".join(f"CAST({c.name} AS {_DUCK_TYPES[c.kind]}) AS {c.name}"
                          for c in tbl.columns)
        con.execute(f"COPY (SELECT {casts} FROM ({query})) TO '{_sql_path(tmp)}' "
                    "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
        got = pq.read_schema(tmp)
        if got.names != tbl.column_names:
            tmp.unlink()
            raise RuntimeError(f"{name}: merged columns {got.names} != {tbl.column_names}")
        self._pending[name] = tmp
        date_col = DATE_OF_TABLE.get(name)
        if date_col and loaded:
            end = con.execute(f"SELECT max({date_col}) FROM ranked").fetchall()[0][0]
            return end if isinstance(end, date) else None
        return None

    def _rejects_from(self, con: duckdb.DuckDBPyConnection, query: str, rule: str) -> None:
        reader = con.sql(query).to_arrow_reader(100_000)
        for batch in reader:
            cols = batch.to_pydict()
            rows = list(zip(*cols.values(), strict=True))
            self._write_rejects(((r[0], r[1], r[2], r[3], r[4]) for r in rows), rule, len(rows))

    def _write_rejects(
        self, rows: Iterable[RejectRow], rule: str | None, count: int,
        rules: list[str] | None = None,
    ) -> None:
        if rules is not None:
            self.report.rejected.update(rules)
        elif rule is not None:
            self.report.rejected[rule] += count
        if self._rejects_csv is None:
            self.rejects_path.parent.mkdir(parents=True, exist_ok=True)
            self._rejects_file = self.rejects_path.open("w", newline="", encoding="utf-8")
            self._rejects_csv = csv.writer(self._rejects_file)
            self._rejects_csv.writerow(REJECT_COLUMNS)
            self.report.rejects_path = self.rejects_path
        room = self.max_listed_rejects - self.report.rejects_listed
        if room <= 0:
            return
        written = 0
        for row in rows:
            if written >= room:
                break
            f, line, col, why, value = row
            line_out = "" if line is None or pd.isna(line) else int(line)
            val_out = "" if value is None or value is pd.NA or (
                isinstance(value, float) and pd.isna(value)) else str(value)[:200]
            self._rejects_csv.writerow((f, line_out, col, why, val_out))
            written += 1
        self.report.rejects_listed += written


def _with_expiry(patents: pd.DataFrame) -> pd.DataFrame:
    """Fill a missing expiry_date with the statutory term end (features.terms.expiry_dates)."""
    term_end = expiry_dates(patents["jurisdiction"], patents["patent_type"],
                            patents["filing_date"], patents["grant_date"])
    filled = patents["expiry_date"].fillna(term_end.set_axis(patents.index))
    return patents.assign(expiry_date=filled.astype("datetime64[ms]"))


def _text(value: object) -> str:
    """A source value as text for the rejects file (missing -> empty)."""
    try:
        missing = value is None or bool(pd.isna(value))  # type: ignore[call-overload]  # stubs: isna(object) has no overload
    except (TypeError, ValueError):
        missing = False
    return "" if missing else str(value)


_DUCK_TYPES = {"string": "VARCHAR", "date": "DATE", "int": "BIGINT", "float": "DOUBLE",
               "bool": "BOOLEAN"}


def _nullable_schema(name: str) -> pa.Schema:
    """Canonical schema of table `name` with every field nullable (staging holds checked rows)."""
    return pa.schema([pa.field(f.name, f.type, nullable=True) for f in arrow_schema(table(name))])


def _staging_schema(name: str) -> pa.Schema:
    """Nullable canonical schema plus the source position columns."""
    fields = list(_nullable_schema(name))
    fields += [pa.field("_file", pa.string()), pa.field("_line", pa.int64()),
               pa.field("_seq", pa.int64())]
    return pa.schema(fields)


def _sql_path(path: Path) -> str:
    """A path quoted for use inside a DuckDB SQL string literal."""
    return str(path).replace("'", "''")
