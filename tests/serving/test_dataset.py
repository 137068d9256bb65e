"""The request cursor over the dataset: opened on first use, closed once."""

from __future__ import annotations

import duckdb
import pytest

from serving.dataset import LazyCursor


def test_a_lazy_cursor_opens_on_first_use_and_closes_what_it_opened() -> None:
    connection = duckdb.connect()
    opened: list[duckdb.DuckDBPyConnection] = []

    def open_cursor() -> duckdb.DuckDBPyConnection:
        opened.append(connection.cursor())
        return opened[-1]

    unused = LazyCursor(open_cursor)
    unused.close()
    assert opened == []  # never asked for: never opened
    lazy = LazyCursor(open_cursor)
    assert lazy.get().execute("SELECT 41 + 1").fetchone() == (42,)
    assert lazy.get() is opened[0]
    assert len(opened) == 1
    lazy.close()
    with pytest.raises(duckdb.ConnectionException):
        opened[0].execute("SELECT 1")
    connection.close()


def test_a_lazy_cursor_of_an_open_cursor_leaves_it_open() -> None:
    connection = duckdb.connect()
    cursor = connection.cursor()
    lazy = LazyCursor.of(cursor)
    assert lazy.get() is cursor
    lazy.close()
    assert cursor.execute("SELECT 1").fetchone() == (1,)
    connection.close()
