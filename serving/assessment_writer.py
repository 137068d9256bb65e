"""Group commit of assessment records: the rows waiting at one moment share one transaction.

A committed assessment costs one durable commit (an fsync on SQLite, a WAL flush on PostgreSQL);
concurrent requests committing one row each serialize on it. Here each request hands its row to
the app's `AssessmentWriter` and waits: the first request that finds no commit running becomes
the committer (leader) and inserts every row waiting at that moment (at most `max_batch`) in one
transaction with one commit, then releases their requests. Rows that arrive during a commit wait
for it and go together in the next. No request waits for rows that are not there: alone, a
request commits its own row at once, on its own thread, as before.

A request answers only after its row is committed. When a batch's commit fails, every request of
that batch gets `AssessmentNotStoredError` (503). An integrity or data error (one row refused by
the database) is retried row by row, each in its own transaction, so only the refused row fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError

from serving.errors import AssessmentNotStoredError
from serving.tables import Assessment

log = logging.getLogger(__name__)

_INSERT_ROWS = sa.insert(cast(sa.Table, Assessment.__table__))
NOT_STORED_MESSAGE = "the assessment could not be stored, so no answer is given; try again"


@dataclass
class _Waiting:
    """One row handed to the writer, and what became of it."""

    values: Mapping[str, Any]
    done: bool = False
    failure: BaseException | None = None


class AssessmentWriter:
    """Commits the assessment rows of concurrent requests in shared transactions (group commit).

    One per engine (the app keeps it on `app.state`). Thread-safe; `write` blocks its caller (a
    worker thread) until the row is committed or has failed.
    """

    def __init__(self, engine: sa.Engine, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.engine = engine
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Waiting] = []
        self._committing = False
        self._in_flight = 0  # rows of the commit running now
        self._closed = False
        self.batches = 0  # commits made (rows per commit = rows / batches)
        self.rows = 0

    def write(self, values: Mapping[str, Any]) -> None:
        """Insert one assessment row and return once it is committed.

        Raise `AssessmentNotStoredError` if its commit failed or the writer is closed.
        """
        item = _Waiting(values)
        with self._cond:
            if self._closed:
                raise AssessmentNotStoredError(
                    "the service is stopping, so the assessment was not stored; try again")
            self._queue.append(item)
        while True:
            with self._cond:
                while self._committing and not item.done:
                    self._cond.wait()
                if item.done:
                    break
                # No commit is running and this row still waits: this thread commits the
                # rows waiting now (its own among them unless more than `max_batch` are ahead).
                self._committing = True
                batch = self._queue[:self.max_batch]
                del self._queue[:self.max_batch]
                self._in_flight = len(batch)
            failures: Sequence[BaseException | None] = [None] * len(batch)
            try:
                failures = self._commit(batch)
            except BaseException as exc:  # never leave waiting requests without an outcome
                failures = [exc] * len(batch)
                raise
            finally:
                with self._cond:
                    for waiting, failure in zip(batch, failures, strict=True):
                        waiting.failure = failure
                        waiting.done = True
                    self._committing = False
                    self._in_flight = 0
                    self._cond.notify_all()
        if item.failure is not None:
            raise AssessmentNotStoredError(NOT_STORED_MESSAGE) from item.failure

    def _commit(self, batch: list[_Waiting]) -> list[BaseException | None]:
        """Insert and commit `batch` in one transaction; each row's failure (None if stored)."""
        try:
            self._insert([w.values for w in batch])
        except (IntegrityError, DataError) as exc:
            if len(batch) == 1:
                self._log_failure(batch, exc)
                return [exc]
            # One row the database refuses must not fail the others: each on its own.
            log.warning("a batch of %d assessments was refused (%s); storing them one by one",
                        len(batch), type(exc).__name__)
            return [self._commit_one(w) for w in batch]
        except Exception as exc:
            self._log_failure(batch, exc)
            return [exc] * len(batch)
        return [None] * len(batch)

    def _commit_one(self, waiting: _Waiting) -> BaseException | None:
        """Insert and commit one row alone; its failure, or None."""
        try:
            self._insert([waiting.values])
        except Exception as exc:
            self._log_failure([waiting], exc)
            return exc
        return None

    def _insert(self, rows: list[Mapping[str, Any]]) -> None:
        """One transaction inserting `rows`, committed (one durable commit for all of them)."""
        with self.engine.begin() as connection:
            connection.execute(_INSERT_ROWS, list(rows))
        self.batches += 1
        self.rows += len(rows)

    @staticmethod
    def _log_failure(batch: Sequence[_Waiting], exc: BaseException) -> None:
        """Log which assessments were not stored, with the cause."""
        ids = ", ".join(str(w.values.get("id")) for w in batch)
        log.error("%d assessment(s) not stored: %s", len(batch), ids, exc_info=exc)

    def pending(self) -> int:
        """Rows handed over and not yet committed or failed (waiting or being committed)."""
        with self._cond:
            return len(self._queue) + self._in_flight

    def close(self, timeout: float = 60.0) -> bool:
        """Refuse new rows and wait until every row handed over is committed or failed.

        Rows already waiting are never dropped: their requests commit them (this only waits).
        Return False if some were still pending after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closed = True
            while self._queue or self._committing:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.error("%d assessment row(s) still pending at shutdown", len(self._queue))
                    return False
                self._cond.wait(left)
        return True
