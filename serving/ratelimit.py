"""Per-key rate limits: a token bucket per API key, refilled at the configured rate.

The buckets live in the process (each worker limits on its own): the limit protects the service
from one runaway client, it is not a billing quota.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from serving.errors import RateLimitedError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """At most `per_minute` requests a minute per key, with bursts of up to `burst`."""

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether any limit applies (`per_minute` 0 turns it off)."""
        return self.per_minute > 0

    def check(self, key_id: str) -> None:
        """Take one request from `key_id`'s bucket; raise `RateLimitedError` (429) when empty."""
        if not self.enabled:
            return
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / rate
        raise RateLimitedError(key_id, self.per_minute, max(1, math.ceil(wait)))
