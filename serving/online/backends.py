"""Online store backends: an embedded SQLite file per generation, and Redis.

A materialization is one *generation*: every entity's record, written beside the generation in
service and made current by one atomic step (a renamed pointer file, one Redis SET). Readers
hold the generation they opened, so a request never mixes two; the generation before the
current one is kept so requests still reading it finish, older ones are deleted.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

log = logging.getLogger(__name__)

# Entity kinds a generation holds records for.
NAMESPACES: tuple[str, ...] = ("patent", "firm")


class OnlineStoreUnreachableError(ConnectionError):
    """The online store does not answer (Redis stopped, unreachable or timing out)."""


@contextmanager
def _answering() -> Iterator[None]:
    """Turn Redis's connection failures and timeouts into `OnlineStoreUnreachableError`."""
    import redis

    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise OnlineStoreUnreachableError(
            f"the online store does not answer ({exc.__class__.__name__}: {exc})") from exc


def new_generation_id() -> str:
    """A sortable, unique generation id (UTC time, then random)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


class GenerationReader(ABC):
    """One complete generation: its manifest, its records by entity id and its blobs."""

    generation: str
    manifest: dict[str, Any]

    @abstractmethod
    def get_many(self, namespace: str, ids: Sequence[str]) -> list[bytes | None]:
        """The records of `ids` in `namespace` (None where an id has none), in order."""

    @abstractmethod
    def blob(self, name: str) -> bytes | None:
        """A named blob of the generation (context tables, search index)."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to close
        """Release what the reader holds."""


class GenerationWriter(ABC):
    """A generation being written; invisible to readers until `commit`."""

    generation: str

    @abstractmethod
    def put_many(self, namespace: str, items: Iterable[tuple[str, bytes]]) -> None:
        """Store records by entity id."""

    @abstractmethod
    def put_blob(self, name: str, data: bytes) -> None:
        """Store a named blob."""

    @abstractmethod
    def commit(self, manifest: dict[str, Any]) -> None:
        """Write the manifest and make this generation the current one, atomically."""

    @abstractmethod
    def abort(self) -> None:
        """Drop everything written; the current generation stays."""


class OnlineStore(ABC):
    """Where materialized generations live; `current()` is the one in service."""

    url: str

    @abstractmethod
    def current_id(self) -> str | None:
        """Id of the current generation, or None when nothing was materialized."""

    @abstractmethod
    def open(self, generation: str) -> GenerationReader:
        """A reader of a committed generation."""

    @abstractmethod
    def begin(self) -> GenerationWriter:
        """Start writing a new generation beside the current one."""

    @abstractmethod
    def set_status(self, status: dict[str, Any] | None) -> None:
        """Record (or clear) what is being rebuilt, for `/readyz` of every worker."""

    @abstractmethod
    def status(self) -> dict[str, Any] | None:
        """What is being rebuilt, if anything."""

    @abstractmethod
    def try_lock(self, ttl_s: int) -> bool:
        """Take the materialization lock (one builder across workers and hosts)."""

    @abstractmethod
    def unlock(self) -> None:
        """Release the materialization lock."""

    def current(self) -> GenerationReader | None:
        """A reader of the current generation, or None."""
        gen = self.current_id()
        return self.open(gen) if gen else None

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to close
        """Release connections."""


# --- embedded: one SQLite file per generation under data_dir/online/<dataset> ---


class SqliteReader(GenerationReader):
    """A read-only connection to one generation file (shared by threads under a lock)."""

    def __init__(self, path: Path, generation: str) -> None:
        self.generation = generation
        self.path = path
        # The file never changes once committed: immutable=1 skips locking and change checks.
        self._con = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        row = self._con.execute("SELECT v FROM blobs WHERE name = 'manifest'").fetchone()
        self.manifest = json.loads(row[0])

    def get_many(self, namespace: str, ids: Sequence[str]) -> list[bytes | None]:
        """The records of `ids` in `namespace`, in order."""
        if namespace not in NAMESPACES:
            raise ValueError(f"namespace must be one of {NAMESPACES}, got {namespace!r}")
        if not ids:
            return []
        with self._lock:
            if len(ids) == 1:
                row = self._con.execute(f"SELECT v FROM {namespace} WHERE id = ?",
                                        (ids[0],)).fetchone()
                return [row[0] if row else None]
            marks = ", ".join("?" for _ in ids)
            found = dict(self._con.execute(
                f"SELECT id, v FROM {namespace} WHERE id IN ({marks})", list(ids)
            ).fetchall())
        return [found.get(i) for i in ids]

    def blob(self, name: str) -> bytes | None:
        """A named blob."""
        with self._lock:
            row = self._con.execute("SELECT v FROM blobs WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        """Close the connection."""
        self._con.close()


class SqliteWriter(GenerationWriter):
    """Writes `gen-<id>.sqlite.part`, renamed to `.sqlite` and pointed to on commit."""

    def __init__(self, store: SqliteStore, generation: str) -> None:
        self.store = store
        self.generation = generation
        self.part = store.root / f"gen-{generation}.sqlite.part"
        self._con = sqlite3.connect(self.part)
        try:
            self._con.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                # A rowid table: records of ~0.6 kB would overflow a WITHOUT ROWID b-tree's pages.
                + "".join(f"CREATE TABLE {ns} (id TEXT PRIMARY KEY, v BLOB);" for ns in NAMESPACES)
                + "CREATE TABLE blobs (name TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;"
            )
        except BaseException:  # a full disk already here: no half-made file is left behind
            self.abort()
            raise

    def put_many(self, namespace: str, items: Iterable[tuple[str, bytes]]) -> None:
        """Insert records."""
        self._con.executemany(f"INSERT INTO {namespace} (id, v) VALUES (?, ?)", items)

    def put_blob(self, name: str, data: bytes) -> None:
        """Insert a blob."""
        self._con.execute("INSERT INTO blobs (name, v) VALUES (?, ?)", (name, data))

    def commit(self, manifest: dict[str, Any]) -> None:
        """Flush the file, rename it into place, then replace the pointer (atomic rename)."""
        self._con.execute("INSERT INTO blobs (name, v) VALUES ('manifest', ?)",
                          (json.dumps(manifest),))
        self._con.commit()
        self._con.close()
        final = self.store.root / f"gen-{self.generation}.sqlite"
        with open(self.part, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self.part, final)
        previous = self.store.current_id()
        tmp = self.store.pointer.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(self.generation)
        os.replace(tmp, self.store.pointer)
        self.store.prune(keep=(self.generation, previous))

    def abort(self) -> None:
        """Close and delete the partial file."""
        self._con.close()
        self.part.unlink(missing_ok=True)


class SqliteStore(OnlineStore):
    """The embedded online store: generation files and a `CURRENT` pointer in one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = f"sqlite:///{root}"
        self.pointer = root / "CURRENT"
        self._lock_fd: int | None = None

    def current_id(self) -> str | None:
        """The generation named by `CURRENT`, when its file exists."""
        try:
            gen = self.pointer.read_text().strip()
        except FileNotFoundError:
            return None
        return gen if (self.root / f"gen-{gen}.sqlite").exists() else None

    def open(self, generation: str) -> SqliteReader:
        """A reader of a committed generation file."""
        return SqliteReader(self.root / f"gen-{generation}.sqlite", generation)

    def begin(self) -> SqliteWriter:
        """A writer of a new generation file."""
        return SqliteWriter(self, new_generation_id())

    def prune(self, keep: tuple[str | None, ...]) -> None:
        """Delete generations other than `keep` (current and previous), and stale parts."""
        for f in self.root.glob("gen-*.sqlite"):
            if f.name.removeprefix("gen-").removesuffix(".sqlite") not in keep:
                f.unlink(missing_ok=True)  # a reader still holding it keeps reading (POSIX)
        for part in self.root.glob("gen-*.sqlite.part"):
            if time.time() - part.stat().st_mtime > 24 * 3600:
                part.unlink(missing_ok=True)

    def set_status(self, status: dict[str, Any] | None) -> None:
        """Write or remove `STATUS` (what is being rebuilt)."""
        path = self.root / "STATUS"
        if status is None:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps(status))
        os.replace(tmp, path)

    def status(self) -> dict[str, Any] | None:
        """The rebuild status, if one is recorded."""
        try:
            return cast("dict[str, Any]", json.loads((self.root / "STATUS").read_text()))
        except (FileNotFoundError, ValueError):
            return None

    def try_lock(self, ttl_s: int) -> bool:
        """An exclusive flock on `LOCK` (released by the OS if the process dies)."""
        import fcntl

        fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def unlock(self) -> None:
        """Release the flock."""
        import fcntl

        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None


# --- Redis: one hash per generation and namespace, a pointer key, shared by workers and hosts ---


class RedisReader(GenerationReader):
    """Reads one generation's hashes."""

    def __init__(self, client: Any, prefix: str, generation: str, manifest: dict[str, Any]) -> None:
        self.client = client
        self.prefix = prefix
        self.generation = generation
        self.manifest = manifest

    def get_many(self, namespace: str, ids: Sequence[str]) -> list[bytes | None]:
        """HMGET of the ids in the namespace's hash."""
        if namespace not in NAMESPACES:
            raise ValueError(f"namespace must be one of {NAMESPACES}, got {namespace!r}")
        if not ids:
            return []
        with _answering():
            return list(self.client.hmget(f"{self.prefix}:{self.generation}:{namespace}",
                                          list(ids)))

    def blob(self, name: str) -> bytes | None:
        """HGET of the generation's blob hash."""
        with _answering():
            return cast("bytes | None",
                        self.client.hget(f"{self.prefix}:{self.generation}:blobs", name))


class RedisWriter(GenerationWriter):
    """Writes a new generation's hashes in pipelined batches."""

    def __init__(self, store: RedisStore, generation: str) -> None:
        self.store = store
        self.generation = generation
        self.key = f"{store.prefix}:{generation}"

    def put_many(self, namespace: str, items: Iterable[tuple[str, bytes]]) -> None:
        """HSET in batches of 2,000 records."""
        batch: dict[str | bytes | bytearray | memoryview[int] | int | float,
                    str | bytes | bytearray | memoryview[int] | int | float] = {}
        for key, value in items:
            batch[key] = value
            if len(batch) >= 2000:
                self.store.client.hset(f"{self.key}:{namespace}", mapping=batch)
                batch = {}
        if batch:
            self.store.client.hset(f"{self.key}:{namespace}", mapping=batch)

    def put_blob(self, name: str, data: bytes) -> None:
        """HSET into the blob hash."""
        self.store.client.hset(f"{self.key}:blobs", name, data)

    def commit(self, manifest: dict[str, Any]) -> None:
        """Store the manifest, then SET the pointer (one atomic command) and prune."""
        client = self.store.client
        client.hset(f"{self.key}:blobs", "manifest", json.dumps(manifest))
        client.rpush(f"{self.store.prefix}:generations", self.generation)
        previous = cast("bytes | None",
                        client.getset(f"{self.store.prefix}:current", self.generation))
        self.store.prune(keep=(self.generation, previous.decode() if previous else None))

    def abort(self) -> None:
        """Delete the partial generation."""
        self.store.drop(self.generation)


class RedisStore(OnlineStore):
    """The shared online store in Redis (`PATENTRISK_ONLINE_STORE_URL=redis://...`)."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self._token: str | None = None

    def current_id(self) -> str | None:
        """The generation the pointer key names."""
        with _answering():
            gen = cast("bytes | None", self.client.get(f"{self.prefix}:current"))
        return gen.decode() if gen else None

    def open(self, generation: str) -> RedisReader:
        """A reader of a committed generation (its manifest read once)."""
        raw = self.client.hget(f"{self.prefix}:{generation}:blobs", "manifest")
        if raw is None:
            raise LookupError(f"generation {generation} has no manifest in {self.url}")
        return RedisReader(self.client, self.prefix, generation, json.loads(raw))

    def begin(self) -> RedisWriter:
        """A writer of a new generation."""
        return RedisWriter(self, new_generation_id())

    def drop(self, generation: str) -> None:
        """Delete a generation's keys (UNLINK frees memory in the background)."""
        keys = [f"{self.prefix}:{generation}:{ns}" for ns in (*NAMESPACES, "blobs")]
        self.client.unlink(*keys)
        self.client.lrem(f"{self.prefix}:generations", 0, generation)

    def prune(self, keep: tuple[str | None, ...]) -> None:
        """Drop committed generations other than `keep` (current and previous)."""
        listed = cast("list[bytes]", self.client.lrange(f"{self.prefix}:generations", 0, -1))
        gens = [g.decode() for g in listed]
        for g in gens:
            if g not in keep:
                self.drop(g)

    def set_status(self, status: dict[str, Any] | None) -> None:
        """SET (with a day's expiry) or DEL the status key."""
        key = f"{self.prefix}:status"
        if status is None:
            self.client.delete(key)
        else:
            self.client.set(key, json.dumps(status), ex=24 * 3600)

    def status(self) -> dict[str, Any] | None:
        """The rebuild status, if any."""
        with _answering():
            raw = self.client.get(f"{self.prefix}:status")
        return cast("dict[str, Any]", json.loads(raw)) if raw else None

    def try_lock(self, ttl_s: int) -> bool:
        """SET NX with expiry: one builder at a time across hosts."""
        token = uuid.uuid4().hex
        if self.client.set(f"{self.prefix}:lock", token, nx=True, ex=ttl_s):
            self._token = token
            return True
        return False

    def unlock(self) -> None:
        """Delete the lock if this process still holds it."""
        key = f"{self.prefix}:lock"
        if self._token and self.client.get(key) == self._token.encode():
            self.client.delete(key)
        self._token = None

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def is_embedded_store(url: str | None) -> bool:
    """Whether `url` names the embedded store (SQLite files on this host) rather than Redis."""
    return url is None or url.startswith("sqlite")


def open_online_store(url: str | None, data_dir: Path, dataset: str) -> OnlineStore:
    """The store `url` names (`redis://...`), or the embedded one under the data directory."""
    if url is None or is_embedded_store(url):
        root = Path(url.removeprefix("sqlite:///")) if url else data_dir / "online"
        return SqliteStore(root / dataset)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(url, f"patentrisk:{dataset}")
    raise ValueError(f"online_store_url must start with redis://, rediss://, unix:// or "
                     f"sqlite:///, got {url!r}")
