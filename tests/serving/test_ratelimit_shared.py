"""Per-key rate limits shared through Redis by every worker, and per process when Redis is down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from features.settings import Settings
from serving.errors import RateLimitedError
from serving.ratelimit import RateLimiter, SharedRateLimiter, make_rate_limiter
from tests.serving.conftest import make_client

# Nothing listens on port 1: connections are refused at once.
DOWN_URL = "redis://127.0.0.1:1/0"
T = TypeVar("T")


def run_in_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on a fresh event loop in its own thread.

    The browser tests' Playwright keeps an event loop running in the main thread for the whole
    session, where `asyncio.run` refuses to start another.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admitted(limiter: RateLimiter, key: str, n: int) -> list[bool]:
    """Whether each of `n` requests of `key` was admitted."""
    out = []
    for _ in range(n):
        try:
            await limiter.admit(key)
            out.append(True)
        except RateLimitedError:
            out.append(False)
    return out


def test_two_workers_share_one_bucket_per_key(redis_url: str) -> None:
    prefix = f"test:ratelimit:{uuid.uuid4().hex}"

    async def run() -> tuple[list[bool], list[bool], int, list[bool], bool]:
        a = SharedRateLimiter.from_url(redis_url, per_minute=60, burst=3, prefix=prefix)
        b = SharedRateLimiter.from_url(redis_url, per_minute=60, burst=3, prefix=prefix)
        try:
            first = await _admitted(a, "k", 2) + await _admitted(b, "k", 1)
            over = await _admitted(b, "k", 1) + await _admitted(a, "k", 1)
            with pytest.raises(RateLimitedError) as refused:
                await b.admit("k")
            other = await _admitted(a, "other", 3)  # every key has its own bucket
            return first, over, refused.value.retry_after, other, a.shared and b.shared
        finally:
            await a.client.delete(f"{prefix}:k", f"{prefix}:other")
            await a.close()
            await b.close()

    first, over, retry_after, other, shared = run_in_own_loop(run())
    assert first == [True, True, True]  # the burst of 3, taken by two workers together
    assert over == [False, False]
    assert retry_after == 1  # 60 a minute: a token a second
    assert other == [True, True, True]
    assert shared


def test_the_bucket_refills_and_expires_in_redis(redis_url: str) -> None:
    prefix = f"test:ratelimit:{uuid.uuid4().hex}"

    async def run() -> tuple[list[bool], int, list[bool]]:
        limiter = SharedRateLimiter.from_url(redis_url, per_minute=600, burst=2, prefix=prefix)
        try:
            drained = await _admitted(limiter, "k", 3)
            ttl = int(await limiter.client.pttl(f"{prefix}:k"))
            await asyncio.sleep(0.25)  # 10 tokens a second: 2 back after 0.2 s
            refilled = await _admitted(limiter, "k", 2)
            return drained, ttl, refilled
        finally:
            await limiter.client.delete(f"{prefix}:k")
            await limiter.close()

    drained, ttl, refilled = run_in_own_loop(run())
    assert drained == [True, True, False]
    assert 0 < ttl <= 1_200 + 1_000  # gone once it would be full again (plus a second)
    assert refilled == [True, True]


def test_redis_down_falls_back_to_counting_in_the_process(caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    async def run() -> tuple[list[bool], bool]:
        limiter = SharedRateLimiter.from_url(DOWN_URL, per_minute=60, burst=2)
        try:
            return await _admitted(limiter, "k", 3), limiter.shared
        finally:
            await limiter.close()

    admitted, shared = run_in_own_loop(run())
    assert admitted == [True, True, False]  # the per-process bucket still limits
    assert not shared
    warnings = [r for r in caplog.records if "counted per process" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not per request


def test_the_limiter_is_shared_only_with_a_redis_online_store() -> None:
    assert type(make_rate_limiter(None, "d", 60, 5)) is RateLimiter
    assert type(make_rate_limiter("sqlite:///tmp/online", "d", 60, 5)) is RateLimiter
    assert type(make_rate_limiter("redis://127.0.0.1:6379/0", "d", 0, 5)) is RateLimiter
    shared = make_rate_limiter("redis://127.0.0.1:6379/0", "d", 60, 5)
    assert isinstance(shared, SharedRateLimiter)
    assert shared.prefix == "patentrisk:d:ratelimit"


def test_two_apps_on_one_redis_share_the_key_limit(redis_url: str, tmp_path: Path) -> None:
    # Two workers (apps) over one store and one Redis: a key's burst of 3 is spent across both.
    dataset = f"rl{uuid.uuid4().hex[:8]}"
    admin = "admin-key-" + uuid.uuid4().hex
    settings = Settings(data_dir=tmp_path / "var", dataset=dataset, online_store_url=redis_url,
                        admin_api_key=SecretStr(admin), rate_limit_per_minute=6, rate_limit_burst=3,
                        online_auto_materialize=False)
    headers = {"X-API-Key": admin}
    with make_client(settings) as one, make_client(settings) as two:
        assert isinstance(one.app.state.rate_limiter, SharedRateLimiter)  # type: ignore[attr-defined]
        statuses = [c.get("/v1/assessments", headers=headers).status_code
                    for c in (one, two, one, two)]
        limited = one.get("/v1/assessments", headers=headers)
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
