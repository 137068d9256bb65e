"""The online store (Redis) down: answers are computed per request, equal to the stored ones.

A private Redis server (never the shared one) holds the trained world's materialization. It is
stopped under the running app: every scoring request still answers 200 with exactly the stored
answer (computed through the pipelines), `/readyz` stays ready and says the store is unreachable,
and when Redis comes back empty the service rebuilds the store by itself.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from serving.app import create_app
from tests.serving.conftest import make_keys
from tests.serving.test_online_api import _requests, _same

pytestmark = pytest.mark.slow


class PrivateRedis:
    """A redis-server on a free port of 127.0.0.1, without persistence, started and stopped."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("the private redis-server did not start within 30 s")

    def stop(self) -> None:
        """Stop the server (its data is gone: no persistence)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private Redis, stopped after the test whatever happened."""
    if shutil.which("redis-server") is None:
        pytest.skip("the Redis-down test needs the redis-server program")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _until(check: Callable[[], bool], seconds: float) -> bool:
    """Whether `check()` became true within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_redis_down_answers_are_computed_per_request_and_the_store_comes_back(
    trained_settings: Settings, trained_ids: dict[str, Any], private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    settings = Settings(**{**trained_settings.model_dump(), "online_store_url": private_redis.url,
                           "database_url": f"sqlite:///{tmp_path / 'store.db'}"})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        online = client.app.state.online  # type: ignore[attr-defined]
        assert online.wait_idle(600)
        assert online.view is not None
        keys = make_keys(client)

        def answers() -> list[Any]:
            out = []
            for role, path, body in _requests(trained_ids):
                r = client.post(path, json=body, headers={"X-API-Key": keys[role]})
                assert r.status_code == 200, (path, r.status_code, r.text)
                out.append(r.json())
            return out

        def store_status() -> dict[str, Any]:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            status: dict[str, Any] = ready.json()["components"]["online_store"]
            return status

        stored = answers()
        private_redis.stop()
        down = answers()
        for a, b in zip(stored, down, strict=True):
            _same(a, b)
        assert _until(lambda: "unreachable" in store_status()["detail"], 15)
        assert store_status()["ok"] is True

        private_redis.start()  # back, but empty: the service rebuilds its store by itself
        assert _until(lambda: "generation" in store_status()["detail"]
                      and "unreachable" not in store_status()["detail"], 15)
        assert online.wait_idle(600)
        assert _until(lambda: online.view is not None, 15)
        for a, b in zip(stored, answers(), strict=True):
            _same(a, b)
