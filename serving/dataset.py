"""The active dataset opened read-only through DuckDB for patent lookups and features."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
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
        cur = self._open_cursor()
        try:
            yield cur
        finally:
            cur.close()

    def lazy_cursor(self) -> LazyCursor:
        """A cursor for one request opened on first use (`LazyCursor`); close it afterwards."""
        return LazyCursor(self._open_cursor)

    def _open_cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor of the dataset's connection."""
        with self._lock:
            return self.connection.cursor()

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


class LazyCursor:
    """A request's DuckDB cursor, opened when first asked for.

    A request that never reads the dataset (a quote of a stored patent reads the online store)
    then neither opens nor closes one (both take locks, on the event loop's thread where the
    scoring context is made and closed).
    """

    def __init__(self, open_cursor: Callable[[], duckdb.DuckDBPyConnection],
                 owned: bool = True) -> None:
        self._open = open_cursor
        self._owned = owned  # closed by `close` (else its opener closes it)
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, cursor: duckdb.DuckDBPyConnection) -> LazyCursor:
        """An open cursor that its opener closes (`close` leaves it open)."""
        return cls(lambda: cursor, owned=False)

    def get(self) -> duckdb.DuckDBPyConnection:
        """The cursor, opened now if it is not yet."""
        with self._lock:
            if self._cursor is None:
                self._cursor = self._open()
            return self._cursor

    def close(self) -> None:
        """Close the cursor if this opened it."""
        with self._lock:
            cursor, self._cursor = self._cursor, None
        if cursor is not None and self._owned:
            cursor.close()


def open_dataset(settings: Settings) -> DatasetHandle | None:
    """Open the active dataset, or None (logged) when it has no `patents` table yet."""
    store = TableStore(settings.dataset_dir)
    if not store.exists("patents"):
        log.warning("dataset %s has no patents table; patent endpoints answer 503",
                    settings.dataset_dir)
        return None
    return DatasetHandle(store, store.connect(duckdb.connect()))
