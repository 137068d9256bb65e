"""Canonical tables stored as Parquet files in a dataset folder and queried with DuckDB."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.schema import TABLES, SchemaError, arrow_schema, table, to_arrow, validate_table


class TableStore:
    """A dataset folder holding one Parquet file per canonical table."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        """Parquet path of table `name`."""
        table(name)
        return self.root / f"{name}.parquet"

    def exists(self, name: str) -> bool:
        """Whether table `name` has been written."""
        return self.path(name).exists()

    def tables(self) -> list[str]:
        """Names of the canonical tables present, in schema order."""
        return [t.name for t in TABLES if self.exists(t.name)]

    def write(self, name: str, df: pd.DataFrame, validate: bool = True) -> Path:
        """Validate `df` against table `name` and write it atomically as Parquet."""
        frame = validate_table(name, df) if validate else df
        return self.write_arrow(name, to_arrow(name, frame))

    def write_arrow(self, name: str, data: pa.Table) -> Path:
        """Write an Arrow table that already has the canonical schema of `name`."""
        expected = arrow_schema(table(name))
        if not data.schema.equals(expected, check_metadata=False):
            data = data.select(expected.names).cast(expected)
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.path(name)
        tmp = final.with_suffix(".parquet.tmp")
        pq.write_table(data, tmp, compression="zstd", row_group_size=1_000_000)
        tmp.replace(final)
        return final

    def read(self, name: str, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """Read table `name` into pandas with datetime64 dates and nullable dtypes."""
        if not self.exists(name):
            raise SchemaError(name, None, "table is missing", str(self.path(name)))
        data = pq.read_table(self.path(name), columns=list(columns) if columns else None)
        return data.to_pandas(date_as_object=False, types_mapper=_nullable_types)

    def connect(self, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per present table (named as the table)."""
        con = con or duckdb.connect()
        for name in self.tables():
            path = str(self.path(name)).replace("'", "''")
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        return con

    def write_meta(self, meta: dict[str, object]) -> None:
        """Write the dataset's metadata (`dataset.json`: source, end_date, currency, ...)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "dataset.json.tmp"  # replaced at once: never a half-written file
        tmp.write_text(json.dumps(meta, indent=2, default=str))
        tmp.replace(self.root / "dataset.json")

    def meta(self) -> dict[str, object]:
        """The dataset's metadata, or an empty dict when none was written."""
        path = self.root / "dataset.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def fingerprint(self) -> str:
        """A short hash of the dataset's files (names, sizes and Parquet row counts)."""
        parts = []
        for name in self.tables():
            meta = pq.read_metadata(self.path(name))
            parts.append((name, meta.num_rows, self.path(name).stat().st_size))
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]

    def check_references(self) -> None:
        """Raise `SchemaError` if a strict foreign key of any present table does not resolve."""
        con = self.connect()
        present = set(self.tables())
        for t in TABLES:
            if t.name not in present:
                continue
            for fk in t.foreign_keys:
                if not fk.strict or fk.table not in present:
                    continue
                row = con.execute(
                    f"SELECT count(*), min(a.{fk.column}) FROM {t.name} a "
                    f"ANTI JOIN {fk.table} b ON a.{fk.column} = b.{fk.target} "
                    f"WHERE a.{fk.column} IS NOT NULL"
                ).fetchone()
                if row and row[0]:
                    raise SchemaError(
                        t.name, fk.column, f"must exist in {fk.table}.{fk.target}",
                        f"{row[0]} unresolved, e.g. {row[1]!r}",
                    )


def _nullable_types(arrow_type: pa.DataType) -> object:
    """Map Arrow types to pandas nullable dtypes (dates stay datetime64)."""
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_floating(arrow_type):
        return pd.Float64Dtype()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    return None
