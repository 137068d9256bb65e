"""The active dataset opened read-only through DuckDB for patent lookups and features."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from features.settings import Settings
from features.store import TableStore

log = logging.getLogger(__name__)


class DatasetHandle:
    """One DuckDB connection over the dataset's Parquet views; hand out a cursor per request.

    DuckDB connections are not safe to share across threads, cursors are: each request gets its
    own `cursor()` (a connection to the same in-memory catalogue, so it sees the views).
    """

    def __init__(self, store: TableStore, connection: duckdb.DuckDBPyConnection) -> None:
        self.store = store
        self.connection = connection
        self.tables = frozenset(store.tables())
        self.meta = store.meta()
        self._lock = threading.Lock()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one request, closed afterwards."""
        with self._lock:
            cur = self.connection.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @property
    def end_date(self) -> dt.date | None:
        """The last date the data is complete for (`dataset.json`), if recorded."""
        value = self.meta.get("end_date")
        return dt.date.fromisoformat(str(value)) if value else None

    def as_of(self, settings: Settings) -> dt.date:
        """The date the service scores as of: `Settings.as_of` or today, capped at `end_date`."""
        day = settings.as_of or dt.date.today()
        end = self.end_date
        return min(day, end) if end else day

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def open_dataset(settings: Settings) -> DatasetHandle | None:
    """Open the active dataset, or None (logged) when it has no `patents` table yet."""
    store = TableStore(settings.dataset_dir)
    if not store.exists("patents"):
        log.warning("dataset %s has no patents table; patent endpoints answer 503",
                    settings.dataset_dir)
        return None
    return DatasetHandle(store, store.connect(duckdb.connect()))
