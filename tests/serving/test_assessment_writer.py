"""Group commit of assessment records on SQLite and PostgreSQL: batching, failures, shutdown.

The database is made to hold a commit (a write lock taken by another connection) so that rows
queue up behind it, as they do under load, and the tests can say exactly what each batch held.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from features.settings import Settings
from serving import crud
from serving.assessment_writer import AssessmentWriter
from serving.auth import Caller, CallerRole
from serving.database import make_engine, migrate
from serving.errors import AssessmentNotStoredError
from serving.tables import Assessment
from tests.serving.conftest import make_client, make_keys

UNDERWRITER = Caller("key_u", "u", CallerRole.underwriter)


def _row(n: int) -> dict[str, Any]:
    return crud.assessment_values(
        kind="enforcement_quote", caller=UNDERWRITER, request={"n": n},
        features={"x": float(n)}, outputs={"premium": n}, explanation={"reasons": []},
        model_versions={}, policy_version="2025.1", policy_hash="h",
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@contextmanager
def write_lock(engine: sa.Engine) -> Iterator[None]:
    """Hold the assessments table's write lock from another connection until the block ends."""
    if engine.dialect.name == "sqlite":
        con = sqlite3.connect(str(engine.url.database), isolation_level=None,
                              check_same_thread=False)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            con.execute("COMMIT")
            con.close()
    else:
        with engine.connect() as conn:
            conn.execute(sa.text("LOCK TABLE assessments IN EXCLUSIVE MODE"))
            try:
                yield
            finally:
                conn.rollback()


class Writers:
    """Threads each handing one row to the writer, and what each got."""

    def __init__(self, writer: AssessmentWriter) -> None:
        self.writer = writer
        self.threads: list[threading.Thread] = []
        self.outcome: dict[str, BaseException | None] = {}

    def start(self, row: dict[str, Any]) -> None:
        def run() -> None:
            try:
                self.writer.write(row)
                self.outcome[row["id"]] = None
            except BaseException as exc:
                self.outcome[row["id"]] = exc
        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)

    def queue(self, rows: list[dict[str, Any]]) -> None:
        """Hand over `rows` while a write lock is held: the first one's commit waits on the
        lock, and the rest wait behind it until every row is pending."""
        self.start(rows[0])
        wait_until(lambda: self.writer.pending() == 1)
        for row in rows[1:]:
            self.start(row)
        wait_until(lambda: self.writer.pending() == len(rows))

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive()


def wait_until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def stored(engine: sa.Engine) -> set[str]:
    with engine.connect() as con:
        return set(con.execute(sa.select(Assessment.id)).scalars())


def test_rows_waiting_during_a_commit_share_the_next_one(engine: sa.Engine) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    rows = [_row(i) for i in range(8)]
    writers = Writers(writer)
    with write_lock(engine):
        writers.queue(rows)
        assert writer.batches == 0
        assert all(t.is_alive() for t in writers.threads)
    writers.join()
    assert writers.outcome == {r["id"]: None for r in rows}
    assert stored(engine) == {r["id"] for r in rows}
    assert (writer.batches, writer.rows) == (2, 8)  # the first alone, the seven others together


def test_the_batch_size_is_bounded(engine: sa.Engine) -> None:
    writer = AssessmentWriter(engine, max_batch=3)
    rows = [_row(i) for i in range(8)]
    writers = Writers(writer)
    with write_lock(engine):
        writers.queue(rows)
    writers.join()
    assert stored(engine) == {r["id"] for r in rows}
    assert (writer.batches, writer.rows) == (4, 8)  # 1, then 3, 3 and 1


def test_a_lone_row_is_committed_at_once(engine: sa.Engine) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    for i in range(3):
        row = _row(i)
        writer.write(row)
        assert row["id"] in stored(engine)  # readable as soon as write returns
    assert (writer.batches, writer.rows) == (3, 3)


def test_a_failed_commit_fails_every_row_of_it_and_the_writer_recovers(
    engine: sa.Engine
) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE assessments RENAME TO assessments_away"))
    rows = [_row(i) for i in range(8)]
    writers = Writers(writer)
    for row in rows:
        writers.start(row)
    writers.join()
    assert all(isinstance(e, AssessmentNotStoredError) for e in writers.outcome.values())
    assert len(writers.outcome) == 8
    assert writer.rows == 0
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE assessments_away RENAME TO assessments"))
    assert stored(engine) == set()
    row = _row(99)
    writer.write(row)
    assert stored(engine) == {row["id"]}


def test_a_refused_row_fails_alone_and_its_batch_is_stored_row_by_row(
    engine: sa.Engine
) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    first = _row(0)
    writer.write(first)
    rows = [_row(i) for i in range(1, 6)]
    duplicate = {**_row(6), "id": first["id"]}  # the primary key is taken: integrity error
    writers = Writers(writer)
    with write_lock(engine):
        writers.queue([rows[0], *rows[1:3], duplicate, *rows[3:]])
    writers.join()
    assert isinstance(writers.outcome.pop(first["id"]), AssessmentNotStoredError)
    assert writers.outcome == {r["id"]: None for r in rows}
    assert stored(engine) == {first["id"]} | {r["id"] for r in rows}


def test_close_commits_the_pending_rows_and_refuses_new_ones(engine: sa.Engine) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    rows = [_row(i) for i in range(8)]
    writers = Writers(writer)
    closed: list[bool] = []
    closing = threading.Thread(target=lambda: closed.append(writer.close(timeout=60)))
    with write_lock(engine):
        writers.queue(rows)
        closing.start()
        time.sleep(0.3)
        assert closing.is_alive()  # shutdown waits for the rows handed over
    closing.join(timeout=60)
    writers.join()
    assert closed == [True]
    assert writers.outcome == {r["id"]: None for r in rows}
    assert stored(engine) == {r["id"] for r in rows}
    with pytest.raises(AssessmentNotStoredError):
        writer.write(_row(9))


# --- from the event loop: awaited commits, failures, a request that stops waiting ---

async def _write_many_async(writer: AssessmentWriter, rows: list[dict[str, Any]]
                            ) -> list[BaseException | None]:
    """Each row awaited by its own task on this loop; each task's outcome (None: stored)."""
    async def one(row: dict[str, Any]) -> BaseException | None:
        try:
            await writer.write_async(row)
        except AssessmentNotStoredError as exc:
            return exc
        return None

    return await asyncio.gather(*(one(r) for r in rows))


def _in_own_loop(main: Callable[[], Any]) -> Any:
    """`asyncio.run(main())` on a thread of its own (this thread may hold another test's loop)."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(main()))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    if failure:
        raise failure[0]
    return result[0]


def test_rows_awaited_on_an_event_loop_share_commits(engine: sa.Engine) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    rows = [_row(i) for i in range(8)]
    outcome: list[list[BaseException | None]] = []

    def run_loop() -> None:
        outcome.append(asyncio.run(_write_many_async(writer, rows)))

    loop_thread = threading.Thread(target=run_loop)
    with write_lock(engine):
        loop_thread.start()
        wait_until(lambda: writer.pending() == 8)  # the first committing, seven waiting
        assert writer.batches == 0
    loop_thread.join(timeout=60)
    assert outcome == [[None] * 8]
    assert stored(engine) == {r["id"] for r in rows}
    # The first row's commit may have started before the others arrived: one or two commits.
    assert writer.rows == 8
    assert writer.batches <= 2
    assert writer.close()


def test_an_awaited_row_that_fails_raises_not_stored(engine: sa.Engine) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE assessments RENAME TO assessments_away"))
    rows = [_row(i) for i in range(3)]
    outcome = _in_own_loop(lambda: _write_many_async(writer, rows))
    assert all(isinstance(e, AssessmentNotStoredError) for e in outcome)
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE assessments_away RENAME TO assessments"))
    assert stored(engine) == set()
    row = _row(7)
    assert _in_own_loop(lambda: _write_many_async(writer, [row])) == [None]
    assert stored(engine) == {row["id"]}
    assert writer.close()


def test_a_row_whose_request_stopped_waiting_is_still_committed(engine: sa.Engine) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    row = _row(1)

    async def give_up() -> None:
        task = asyncio.create_task(writer.write_async(row))
        while writer.pending() == 0:
            await asyncio.sleep(0.01)
        task.cancel()  # the client went away while the commit waits on the lock
        with pytest.raises(asyncio.CancelledError):
            await task

    with write_lock(engine):
        _in_own_loop(give_up)
        assert writer.pending() == 1
    assert writer.close(timeout=60)  # waits for the commit; the loop is gone by now
    assert stored(engine) == {row["id"]}


def test_a_closed_writer_refuses_awaited_rows(engine: sa.Engine) -> None:
    writer = AssessmentWriter(engine, max_batch=64)
    assert writer.close()
    with pytest.raises(AssessmentNotStoredError):
        _in_own_loop(lambda: writer.write_async(_row(1)))


# --- through the app: concurrent requests, a store failure, shutdown ---

async def _post_many(app: Any, key: str, n: int, reader: str | None = None
                     ) -> list[httpx.Response]:
    """`n` probe quotes at once over ASGI; each 200's record read back right after (`reader`)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def one(i: int) -> httpx.Response:
            r = await client.post("/probe/quote", json={"cover_limit": i, "period_months": 1},
                                  headers={"X-API-Key": key})
            if r.status_code == 200 and reader is not None:
                back = await client.get(f"/v1/assessments/{r.json()['assessment_id']}",
                                        headers={"X-API-Key": reader})
                assert back.status_code == 200, back.text
                assert back.json()["request"]["cover_limit"] == i
            return r

        return await asyncio.gather(*(one(i) for i in range(n)))


def _app_settings(world_settings: Settings, database_url: str) -> Settings:
    return Settings(data_dir=world_settings.data_dir, dataset="tiny",
                    database_url=database_url,  # type: ignore[arg-type]
                    online_auto_materialize=False, rate_limit_per_minute=0)


def test_concurrent_requests_get_distinct_records_readable_after_their_answer(
    world_settings: Settings, database_url: str
) -> None:
    with make_client(_app_settings(world_settings, database_url)) as client:
        keys = make_keys(client)
        app = client.app
        responses = client.portal.call(  # type: ignore[union-attr]
            _post_many, app, keys["underwriter"], 40, keys["regulator"])
        writer: AssessmentWriter = app.state.assessment_writer  # type: ignore[attr-defined]
        ids = [r.json()["assessment_id"] for r in responses]
        assert [r.status_code for r in responses] == [200] * 40
        assert len(set(ids)) == 40
        assert writer.rows == 40
        with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            assert set(ids) <= set(session.scalars(sa.select(Assessment.id)))


def test_a_failed_store_answers_503_to_the_batch_and_the_app_recovers(
    world_settings: Settings, database_url: str
) -> None:
    with make_client(_app_settings(world_settings, database_url)) as client:
        keys = make_keys(client)
        app = client.app
        engine: sa.Engine = app.state.engine  # type: ignore[attr-defined]
        # Warm the key cache: the caller lookup must not be what fails.
        assert client.portal.call(  # type: ignore[union-attr]
            _post_many, app, keys["underwriter"], 1)[0].status_code == 200
        with engine.begin() as con:
            con.execute(sa.text("ALTER TABLE assessments RENAME TO assessments_away"))
        failed = client.portal.call(  # type: ignore[union-attr]
            _post_many, app, keys["underwriter"], 16)
        assert [r.status_code for r in failed] == [503] * 16
        assert {r.json()["code"] for r in failed} == {"assessment_not_stored"}
        assert all(int(r.headers["retry-after"]) > 0 for r in failed)
        with engine.begin() as con:
            con.execute(sa.text("ALTER TABLE assessments_away RENAME TO assessments"))
        again = client.portal.call(  # type: ignore[union-attr]
            _post_many, app, keys["underwriter"], 16, keys["regulator"])
        assert [r.status_code for r in again] == [200] * 16


def test_shutdown_with_rows_pending_loses_none(
    world_settings: Settings, database_url: str
) -> None:
    client = make_client(_app_settings(world_settings, database_url))
    with client:
        keys = make_keys(client)
        app = client.app
        engine: sa.Engine = app.state.engine  # type: ignore[attr-defined]
        writer: AssessmentWriter = app.state.assessment_writer  # type: ignore[attr-defined]
        rows = [_row(i) for i in range(6)]
        writers = Writers(writer)
        lock = write_lock(engine)
        lock.__enter__()
        try:
            writers.queue(rows)
            # The lifespan's shutdown waits for these rows; release the lock meanwhile.
            threading.Timer(0.5, lambda: lock.__exit__(None, None, None)).start()
        except BaseException:
            lock.__exit__(None, None, None)
            raise
    writers.join()
    assert keys
    assert writers.outcome == {r["id"]: None for r in rows}
    check = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        assert {r["id"] for r in rows} <= stored(check)
    finally:
        check.dispose()
