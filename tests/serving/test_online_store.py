"""Online store backends (SQLite file, Redis): generations, atomic swap, pruning, lock, status."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.online.backends import OnlineStore, RedisStore, SqliteStore, open_online_store


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    """An empty store of each backend (Redis under a prefix of its own, deleted afterwards)."""
    if request.param == "sqlite":
        yield open_online_store(None, tmp_path, "tiny")
        return
    url = request.getfixturevalue("redis_url")
    backend = open_online_store(url, tmp_path, f"test-{uuid.uuid4().hex[:10]}")
    assert isinstance(backend, RedisStore)
    try:
        yield backend
    finally:
        keys = list(backend.client.scan_iter(f"{backend.prefix}:*"))
        if keys:
            backend.client.delete(*keys)
        backend.close()


def _write(store: OnlineStore, value: bytes) -> str:
    writer = store.begin()
    writer.put_many("patent", [("P1", value), ("P2", value + b"2")])
    writer.put_many("firm", [("F1", b"firm")])
    writer.put_blob("ctx", b"context " + value)
    writer.commit({"value": value.decode()})
    return writer.generation


def test_a_generation_is_invisible_until_committed(store: OnlineStore) -> None:
    assert store.current() is None
    writer = store.begin()
    writer.put_many("patent", [("P1", b"one")])
    assert store.current_id() is None
    writer.commit({"n": 1})
    reader = store.current()
    assert reader is not None
    assert reader.generation == writer.generation
    assert reader.manifest == {"n": 1}
    assert reader.get_many("patent", ["P1", "NOPE"]) == [b"one", None]
    assert reader.get_many("firm", ["P1"]) == [None]
    with pytest.raises(ValueError, match="namespace must be one of"):
        reader.get_many("loan", ["P1"])


def test_swap_keeps_the_previous_generation_readable_and_prunes_older(
    store: OnlineStore,
) -> None:
    first = _write(store, b"a")
    reader_a = store.open(first)
    second = _write(store, b"b")
    # A request still reading the first generation finishes on it.
    assert reader_a.get_many("patent", ["P2"]) == [b"a2"]
    assert reader_a.blob("ctx") == b"context a"
    assert store.current_id() == second
    third = _write(store, b"c")
    assert store.current_id() == third
    assert store.open(second).get_many("patent", ["P1"]) == [b"b"]  # previous kept
    if isinstance(store, SqliteStore):
        assert not (store.root / f"gen-{first}.sqlite").exists()
    else:
        with pytest.raises(LookupError, match="no manifest"):
            store.open(first)
    reader_a.close()


def test_abort_leaves_the_current_generation(store: OnlineStore) -> None:
    first = _write(store, b"a")
    writer = store.begin()
    writer.put_many("patent", [("P1", b"half")])
    writer.abort()
    assert store.current_id() == first
    current = store.current()
    assert current is not None
    assert current.get_many("patent", ["P1"]) == [b"a"]


def test_one_builder_at_a_time_and_status(store: OnlineStore, tmp_path: Path) -> None:
    other = (open_online_store(None, tmp_path, "tiny") if isinstance(store, SqliteStore)
             else RedisStore(store.url, store.prefix))  # type: ignore[attr-defined]
    assert store.try_lock(60)
    assert not other.try_lock(60)
    store.unlock()
    assert other.try_lock(60)
    other.unlock()
    assert store.status() is None
    store.set_status({"reason": "dataset changed", "fraction": 0.5})
    assert other.status() == {"reason": "dataset changed", "fraction": 0.5}
    store.set_status(None)
    assert other.status() is None


def test_store_url_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="online_store_url must start with redis://"):
        open_online_store("http://example.com", tmp_path, "x")
    assert isinstance(open_online_store(f"sqlite:///{tmp_path}/s", tmp_path, "x"), SqliteStore)
