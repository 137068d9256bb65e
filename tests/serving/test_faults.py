"""Faults with real components: a killed server, the database stopped, a corrupt champion.

Each test runs a real `patentrisk serve` (uvicorn) on 127.0.0.1 over the trained scoring world,
drives a few concurrent clients for a few seconds and checks the store afterwards: no answer was
acknowledged (200) without its record.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from features.settings import Settings
from serving import crud
from serving.app import create_app
from serving.auth import CallerRole
from serving.database import make_engine, make_sessionmaker, migrate
from serving.tables import Assessment

pytestmark = pytest.mark.slow

SERVER_PORT = 8109
PG_PORT = 8119
REPO = Path(__file__).resolve().parents[2]


def _quote(patent_id: str) -> dict[str, object]:
    return {"patent": {"patent_id": patent_id},
            "applicant": {"applicant_id": "APP-F", "role": "patent_holder"},
            "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}


def _keys(database_url: str) -> dict[str, str]:
    """An underwriter and a bank key in the (migrated) store at `database_url`."""
    engine = make_engine(database_url)
    migrate(engine)
    with make_sessionmaker(engine)() as session:
        keys = {r.value: crud.create_api_key(session, r, "faults")[1]
                for r in (CallerRole.underwriter, CallerRole.bank)}
    engine.dispose()
    return keys


def _stored_ids(database_url: str, ids: set[str]) -> set[str]:
    """Which of `ids` are stored assessments."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as con:
            found = con.execute(sa.select(Assessment.id)).scalars().all()
    finally:
        engine.dispose()
    return ids & set(found)


def _server(settings: Settings, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    """`patentrisk serve` on SERVER_PORT over `settings`' world, storing into `database_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATENTRISK_")}
    env.update({
        "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE",
        "PATENTRISK_DATA_DIR": str(settings.data_dir), "PATENTRISK_DATABASE_URL": database_url,
        "PATENTRISK_MAX_BATCH_ITEMS": str(settings.max_batch_items),
        "PATENTRISK_RATE_LIMIT_PER_MINUTE": "0", "PATENTRISK_LOG_LEVEL": "WARNING",
    })
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "serving.cli", "serve", "--port", str(SERVER_PORT)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{SERVER_PORT}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    pytest.fail(f"the server was not ready within 240 s: {log.read_text()[-2000:]}")


@dataclass
class Load:
    """What concurrent clients sent and got: statuses, acknowledged ids, Retry-After seen."""

    acknowledged: set[str] = field(default_factory=set)
    statuses: list[int] = field(default_factory=list)
    missing_retry_after: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, clients: int, key: str, patent_id: str) -> list[threading.Thread]:
        """Start `clients` threads posting quotes until `stop` is set."""
        threads = [threading.Thread(target=self._client, args=(key, patent_id), daemon=True)
                   for _ in range(clients)]
        for t in threads:
            t.start()
        return threads

    def _client(self, key: str, patent_id: str) -> None:
        url = f"http://127.0.0.1:{SERVER_PORT}/v1/quotes/enforcement"
        with httpx.Client(timeout=30) as http:
            while not self.stop.is_set():
                try:
                    response = http.post(url, json=_quote(patent_id), headers={"X-API-Key": key})
                except httpx.HTTPError:
                    time.sleep(0.05)  # server gone or restarting: nothing was acknowledged
                    continue
                with self.lock:
                    self.statuses.append(response.status_code)
                    if response.status_code == 200:
                        self.acknowledged.add(response.json()["assessment_id"])
                    elif response.status_code == 503 and "retry-after" not in response.headers:
                        self.missing_retry_after += 1

    def finish(self, threads: list[threading.Thread]) -> None:
        """Stop the clients and wait for them."""
        self.stop.set()
        for t in threads:
            t.join(timeout=30)

    def wait_for(self, status: int, n: int, seconds: float = 60) -> None:
        """Wait until `n` answers had `status` (or `seconds` passed)."""
        deadline = time.monotonic() + seconds
        while self.count(status) < n and time.monotonic() < deadline:
            time.sleep(0.1)

    def count(self, status: int) -> int:
        """How many answers had `status`."""
        with self.lock:
            return self.statuses.count(status)


@pytest.fixture
def server_log(tmp_path: Path) -> Path:
    """Where the server subprocess writes its output."""
    return tmp_path / "server.log"


def test_kill_9_under_load_loses_no_acknowledged_assessment(
    trained_settings: Settings, trained_ids: dict, tmp_path: Path, server_log: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    key = _keys(url)["underwriter"]
    proc = _server(trained_settings, url, server_log)
    load = Load()
    try:
        threads = load.run(4, key, trained_ids["patents"][0])
        load.wait_for(200, 8)
        os.kill(proc.pid, signal.SIGKILL)  # mid-flight: requests are being scored and stored
        proc.wait(timeout=10)
        time.sleep(0.5)
    finally:
        load.stop.set()
        if proc.poll() is None:
            proc.kill()
    load.finish(threads)
    assert len(load.acknowledged) >= 8, server_log.read_text()[-2000:]
    assert _stored_ids(url, load.acknowledged) == load.acknowledged


def _pg_bin(name: str) -> str:
    """Path of a PostgreSQL server program (initdb, pg_ctl), or skip without one."""
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.skip(f"PostgreSQL server programs ({name}) are not installed")
    return found[-1]


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, list[str]]]:
    """A private PostgreSQL cluster on PG_PORT in a temporary folder: its URL and pg_ctl command.

    Never the shared server: the test stops and restarts this one.
    """
    folder = Path(tempfile.mkdtemp(prefix="patentrisk-pg-"))
    data = folder / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    subprocess.run([*as_user, _pg_bin("initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8"], check=True, capture_output=True)
    ctl = [*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-l", str(folder / "pg.log"), "-w",
           "-o", f"-p {PG_PORT} -k {folder} -c listen_addresses=127.0.0.1"]
    subprocess.run([*ctl, "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{PG_PORT}/postgres", ctl
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_stopped_under_load_answers_503_and_recovers(
    trained_settings: Settings, trained_ids: dict, private_postgres, server_log: Path
) -> None:
    url, ctl = private_postgres
    key = _keys(url)["underwriter"]
    proc = _server(trained_settings, url, server_log)
    load = Load()
    try:
        threads = load.run(4, key, trained_ids["patents"][0])
        load.wait_for(200, 4)
        subprocess.run([*ctl, "-m", "immediate", "stop"], check=True, capture_output=True)
        load.wait_for(503, 4)
        ok_while_down = load.count(200)
        subprocess.run([*ctl, "start"], check=True, capture_output=True)
        load.wait_for(200, ok_while_down + 4)
    finally:
        load.stop.set()
        proc.terminate()
        proc.wait(timeout=30)
    load.finish(threads)
    assert load.count(503) >= 4, server_log.read_text()[-2000:]
    assert load.missing_retry_after == 0
    assert set(load.statuses) <= {200, 503}, sorted(set(load.statuses))
    assert load.count(200) >= ok_while_down + 4, "the service did not recover by itself"
    assert _stored_ids(url, load.acknowledged) == load.acknowledged


def test_corrupt_champion_on_reload_keeps_the_previous_one_serving(
    trained_settings: Settings, trained_ids: dict, tmp_path: Path
) -> None:
    settings = Settings(**{**trained_settings.model_dump(),
                           "database_url": f"sqlite:///{tmp_path / 'store.db'}"})
    registry = MlflowClient(tracking_uri=settings.resolved_tracking_uri,
                            registry_uri=settings.resolved_tracking_uri)
    name = "patentrisk-litigation"
    champion = registry.get_model_version_by_alias(name, "champion").version
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "MLmodel").write_text("flavors: {python_function: {loader_module: no.such.module")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            uw = crud.create_api_key(session, CallerRole.underwriter)[1]
            sci = crud.create_api_key(session, CallerRole.scientist)[1]
        corrupt = registry.create_model_version(name, source=str(broken))
        registry.set_registered_model_alias(name, "champion", corrupt.version)
        try:
            reload = client.post("/v1/models/reload", headers={"X-API-Key": sci})
            quote = client.post("/v1/quotes/enforcement", json=_quote(trained_ids["patents"][0]),
                                headers={"X-API-Key": uw})
        finally:
            registry.set_registered_model_alias(name, "champion", champion)
            registry.delete_model_version(name, corrupt.version)
    assert reload.status_code == 503, reload.text
    assert reload.json()["code"] == "model_reload_failed"
    assert "litigation" in reload.json()["detail"]
    assert quote.status_code == 200, quote.text
    assert quote.json()["model"]["litigation"]["version"] == str(champion)
