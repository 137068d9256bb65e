"""Browser fixtures: the app under uvicorn on 127.0.0.1, Debian's Chromium driven by Playwright.

The server runs on the trained world of `tests/serving/conftest.py` (one per session). Playwright
comes from PyPI with its driver; the browser is the system's /usr/bin/chromium (no download).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from features.settings import Settings
from serving import crud
from serving.auth import CallerRole
from tests.conftest import CHROMIUM

PREFERRED_PORT = 8105
PASSWORD = "correct horse battery"
# Where the tests save their screenshots: docs/console when regenerating the README's pictures
# (`PATENTRISK_TEST_SCREENSHOTS=docs/console`), else a temporary folder. Read at import, before
# the tests' environment isolation removes PATENTRISK_* variables.
SCREENSHOTS_ENV = "PATENTRISK_TEST_SCREENSHOTS"
SCREENSHOTS = os.environ.get(SCREENSHOTS_ENV)


@dataclass(frozen=True)
class ConsoleServer:
    """The running server: its base URL, the app, and one API key and user per role."""

    url: str
    app: object
    keys: dict[str, str]
    users: dict[str, str]  # role -> username (password PASSWORD)
    user_ids: dict[str, str]


def _free_port() -> int:
    """The preferred port when it is free, else one the system picks."""
    for port in (PREFERRED_PORT, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1")


@pytest.fixture(scope="session")
def console_server(trained_settings: Settings) -> Iterator[ConsoleServer]:
    """The app over the trained world served by uvicorn in a thread on 127.0.0.1."""
    import uvicorn

    from serving.app import create_app
    from serving.console.users import create_user

    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install "
                    "chromium; .ci/run installs it)")
    app = create_app(trained_settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the console server did not start")
        time.sleep(0.05)
    keys: dict[str, str] = {}
    users: dict[str, str] = {}
    user_ids: dict[str, str] = {}
    with app.state.sessionmaker() as session:
        for role in CallerRole:
            keys[role.value] = crud.create_api_key(session, role, f"browser {role.value}")[1]
            user = create_user(session, f"browser-{role.value}", role, PASSWORD)
            users[role.value], user_ids[role.value] = user.username, user.id
    try:
        yield ConsoleServer(f"http://127.0.0.1:{port}", app, keys, users, user_ids)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def browser(console_server: ConsoleServer, chromium: object) -> object:
    """The session's headless Chromium (tests/conftest.py), once the console server runs."""
    return chromium


@pytest.fixture
def page(browser: object, console_server: ConsoleServer) -> Iterator[object]:
    """A page in a fresh browser context (no cookies), 1280 px wide, English."""
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=console_server.url, viewport={"width": 1280, "height": 900}, locale="en-US",
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go ($PATENTRISK_TEST_SCREENSHOTS, else a temporary folder)."""
    path = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def sign_in(page: object, server: ConsoleServer, role: str, with_key: bool = False) -> None:
    """Sign in through the form as the test user (or with the API key) of `role`."""
    page.goto("/console/signin")  # type: ignore[attr-defined]
    if with_key:
        form = page.locator("#signin-key")  # type: ignore[attr-defined]
        form.locator("input[name=api_key]").fill(server.keys[role])
    else:
        form = page.locator("#signin-password")  # type: ignore[attr-defined]
        form.locator("input[name=username]").fill(server.users[role])
        form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()  # type: ignore[attr-defined]
