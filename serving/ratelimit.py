"""Per-key rate limits: a token bucket per API key, refilled at the configured rate.

With a Redis online store (`online_store_url=redis://...`) the buckets live in Redis, so every
worker process and host shares one limit per key (`SharedRateLimiter`: one Lua script takes a
token atomically, on Redis's clock). Without Redis, or while Redis does not answer, each process
counts on its own (`RateLimiter`): with N workers a key may then send up to N times its limit.
The limit protects the service from one runaway client, it is not a billing quota.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from serving.errors import RateLimitedError

if TYPE_CHECKING:
    import redis.asyncio

log = logging.getLogger(__name__)

# Keys not seen for longer than a full refill are dropped (a full bucket is the same as none).
_SWEEP_EVERY = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """At most `per_minute` requests a minute per key, with bursts of up to `burst` (in-process)."""

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._checks = 0

    @property
    def enabled(self) -> bool:
        """Whether any limit applies (`per_minute` 0 turns it off)."""
        return self.per_minute > 0

    @property
    def refill_seconds(self) -> float:
        """Time an empty bucket takes to fill up to `burst`."""
        return self.burst * 60.0 / self.per_minute

    def check(self, key_id: str) -> None:
        """Take one request from `key_id`'s bucket; raise `RateLimitedError` (429) when empty."""
        if not self.enabled:
            return
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            self._checks += 1
            if self._checks % _SWEEP_EVERY == 0:
                self._sweep(now)
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

    async def admit(self, key_id: str) -> None:
        """Take one request of `key_id` (429 over the limit); what request handling awaits."""
        self.check(key_id)

    async def close(self) -> None:
        """Release what the limiter holds (nothing in process)."""

    def _sweep(self, now: float) -> None:
        """Drop buckets that have refilled (caller holds the lock): memory stays bounded."""
        full = self.refill_seconds
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full}


# KEYS[1] the key's bucket; ARGV: tokens per second, burst. Returns {1, "0"} when a token was
# taken, else {0, seconds to wait} (as a string: Redis truncates Lua numbers to integers).
# TIME makes every host share Redis's clock; the bucket expires once it would be full again.
_TAKE_TOKEN = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""


class SharedRateLimiter(RateLimiter):
    """The per-key limit counted in Redis for all workers and hosts; per process when it is down.

    A Redis failure or timeout (`timeout_s`) falls back to this process's own buckets, logged
    once, and Redis is tried again `retry_seconds` later: requests are never refused or held up
    because the limiter's store is away.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        per_minute: int,
        burst: int,
        prefix: str = "patentrisk:ratelimit",
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(per_minute, burst, clock)
        self.client = client
        self.prefix = prefix
        self.retry_seconds = retry_seconds
        self._script: Any = client.register_script(_TAKE_TOKEN)
        self._down_until: float | None = None

    @classmethod
    def from_url(
        cls, url: str, per_minute: int, burst: int, prefix: str = "patentrisk:ratelimit",
        timeout_s: float = 0.5,
    ) -> SharedRateLimiter:
        """A limiter on the Redis at `url` (no connection is made before the first request)."""
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        return cls(client, per_minute, burst, prefix)

    @property
    def shared(self) -> bool:
        """Whether the limit is counted in Redis now (False while falling back)."""
        return self._down_until is None

    async def admit(self, key_id: str) -> None:
        """Take one request of `key_id` from its Redis bucket (429 when empty)."""
        if not self.enabled:
            return
        now = self.clock()
        if self._down_until is not None and now < self._down_until:
            self.check(key_id)
            return
        try:
            allowed, wait = await self._script(
                keys=[f"{self.prefix}:{key_id}"], args=[self.per_minute / 60.0, self.burst]
            )
        except Exception as exc:  # any Redis failure: count here rather than fail the request
            if self._down_until is None:
                log.warning(
                    "rate limits counted per process: Redis does not answer (%s: %s)",
                    type(exc).__name__, exc,
                )
            self._down_until = now + self.retry_seconds
            self.check(key_id)
            return
        if self._down_until is not None:
            log.warning("rate limits shared through Redis again")
            self._down_until = None
        if not int(allowed):
            wait_s = float(wait.decode() if isinstance(wait, bytes) else wait)
            raise RateLimitedError(key_id, self.per_minute, max(1, math.ceil(wait_s)))

    async def close(self) -> None:
        """Close the Redis connections (a failure to is only logged: the app is stopping)."""
        try:
            await self.client.aclose()
        except Exception:
            log.warning("closing the rate limiter's Redis connections failed", exc_info=True)


def make_rate_limiter(
    online_store_url: str | None, dataset: str, per_minute: int, burst: int
) -> RateLimiter:
    """A limiter shared through the Redis online store (under its dataset's prefix), else local."""
    if per_minute > 0 and online_store_url and online_store_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        return SharedRateLimiter.from_url(online_store_url, per_minute, burst,
                                          f"patentrisk:{dataset}:ratelimit")
    return RateLimiter(per_minute, burst)
