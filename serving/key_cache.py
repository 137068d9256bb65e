"""Callers of recently seen API keys, kept for a short bounded time (one per app, on app.state).

Looking a key up costs a database round trip per request. A key's caller is kept for
`Settings.api_key_cache_seconds` after its lookup, so a key revoked in the store (by the CLI, in
another process) is refused at most that long after. Only keys found active are kept; unknown
keys are looked up every time, so a key created a moment ago works at once. Entries are keyed by
the key's SHA-256, never by the raw key, and the cache holds at most `max_entries` of them.
"""

from __future__ import annotations

import threading
import time

from serving.auth import Caller

MAX_CACHED_KEYS = 10_000


class CallerCache:
    """Key hash -> caller for `ttl_seconds` after the lookup; thread-safe, bounded in size."""

    def __init__(self, ttl_seconds: float, max_entries: int = MAX_CACHED_KEYS) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Caller, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Caller | None:
        """The caller of `key_hash` if it was looked up less than the TTL ago, else None."""
        if self.ttl_seconds <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key_hash)
            if entry is None:
                return None
            if time.monotonic() >= entry[1]:
                del self._entries[key_hash]
                return None
            return entry[0]

    def put(self, key_hash: str, caller: Caller) -> None:
        """Keep `caller` for `key_hash` for the TTL (expired entries go first when full)."""
        if self.ttl_seconds <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
                while len(self._entries) >= self.max_entries:  # all live: drop the oldest
                    del self._entries[next(iter(self._entries))]
            self._entries[key_hash] = (caller, now + self.ttl_seconds)

    def clear(self) -> None:
        """Forget every kept caller."""
        with self._lock:
            self._entries.clear()
