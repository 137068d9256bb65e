"""Group commit of assessment records: the rows waiting at one moment share one transaction.

A committed assessment costs one durable commit (an fsync on SQLite, a WAL flush on PostgreSQL);
concurrent requests committing one row each would serialize on it. Here each request hands its
row to the app's `AssessmentWriter` and waits: the writer's own thread inserts every row waiting
at that moment (at most `max_batch`) in one transaction with one commit, then releases their
requests. Rows that arrive during a commit wait for it and go together in the next. No request
waits for rows that are not there: alone, a request's row is committed at once.

A worker thread waits in `write`; a request on the event loop awaits `write_async`, so the loop
serves other requests meanwhile and no thread is held per waiting request.

A request answers only after its row is committed. When a batch's commit fails, every request of
that batch gets `AssessmentNotStoredError` (503). An integrity or data error (one row refused by
the database) is retried row by row, each in its own transaction, so only the refused row fails.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError

from serving.errors import AssessmentNotStoredError
from serving.tables import Assessment

log = logging.getLogger(__name__)

_INSERT_ROWS = sa.insert(cast(sa.Table, Assessment.__table__))
NOT_STORED_MESSAGE = "the assessment could not be stored, so no answer is given; try again"
STOPPING_MESSAGE = "the service is stopping, so the assessment was not stored; try again"


@dataclass
class _Waiting:
    """One row handed to the writer, and how its request learns the outcome (None: stored)."""

    values: Mapping[str, Any]
    settle: Callable[[BaseException | None], None]


class AssessmentWriter:
    """Commits the assessment rows of concurrent requests in shared transactions (group commit).

    One per engine (the app keeps it on `app.state`), with one thread of its own that commits,
    started on the first row. Thread-safe: `write` blocks its caller (a worker thread) until
    the row is committed or has failed; `write_async` awaits the same on an event loop.
    """

    def __init__(self, engine: sa.Engine, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.engine = engine
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Waiting] = []
        self._in_flight = 0  # rows of the commit running now
        self._closed = False
        self._thread: threading.Thread | None = None
        self.batches = 0  # commits made (rows per commit = rows / batches)
        self.rows = 0

    def write(self, values: Mapping[str, Any]) -> None:
        """Insert one assessment row and return once it is committed.

        Raise `AssessmentNotStoredError` if its commit failed or the writer is closed.
        """
        done = threading.Event()
        outcome: list[BaseException | None] = []

        def settle(failure: BaseException | None) -> None:
            outcome.append(failure)
            done.set()

        self._hand_over(_Waiting(values, settle))
        done.wait()
        if outcome[0] is not None:
            raise AssessmentNotStoredError(NOT_STORED_MESSAGE) from outcome[0]

    async def write_async(self, values: Mapping[str, Any]) -> None:
        """`write` for a caller on an event loop: awaits the commit without holding a thread.

        The row is committed even if the awaiting task is cancelled (its client went away).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[BaseException | None] = loop.create_future()

        def settle(failure: BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(_set_outcome, future, failure)
            except RuntimeError:  # the loop is closed: nobody waits for this answer any more
                pass

        self._hand_over(_Waiting(values, settle))
        failure = await future
        if failure is not None:
            raise AssessmentNotStoredError(NOT_STORED_MESSAGE) from failure

    def _hand_over(self, item: _Waiting) -> None:
        """Queue `item` for the next commit (starting the commit thread on first use)."""
        with self._cond:
            if self._closed:
                raise AssessmentNotStoredError(STOPPING_MESSAGE)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="assessment-writer", daemon=True)
                self._thread.start()
            self._queue.append(item)
            self._cond.notify_all()

    def _run(self) -> None:
        """The commit thread: commit what waits, settle each row's request, until closed."""
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return  # closed, and every row handed over is settled
                batch = self._queue[:self.max_batch]
                del self._queue[:self.max_batch]
                self._in_flight = len(batch)
            failures: Sequence[BaseException | None]
            try:
                failures = self._commit(batch)
            except BaseException as exc:  # never leave waiting requests without an outcome
                failures = [exc] * len(batch)
            for waiting, failure in zip(batch, failures, strict=True):
                waiting.settle(failure)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

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

        Rows already waiting are never dropped: the commit thread commits them before it ends.
        Return False if some were still pending after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.error("%d assessment row(s) still pending at shutdown",
                              len(self._queue) + self._in_flight)
                    return False
                self._cond.wait(left)
        return True


def _set_outcome(future: asyncio.Future[BaseException | None],
                 failure: BaseException | None) -> None:
    """Give an awaiting request its row's outcome (unless it stopped waiting)."""
    if not future.done():
        future.set_result(failure)
