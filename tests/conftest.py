"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from features.settings import Settings

POSTGRES_ENV = "PATENTRISK_TEST_POSTGRES_URL"
REDIS_ENV = "PATENTRISK_TEST_REDIS_URL"
FORBID_SKIPS_ENV = "PATENTRISK_TEST_FORBID_SKIPS"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data directory is a fresh temporary folder."""
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the developer's own PATENTRISK_* variables out of tests (except the test URLs)."""
    for key in list(os.environ):
        if key.startswith("PATENTRISK_") and key not in (POSTGRES_ENV, REDIS_ENV):
            monkeypatch.delenv(key, raising=False)
    return


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL for tests, or skip with the reason."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (set by .ci/run when a server is up)")
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as con:
            con.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any connection failure means skip
        pytest.skip(f"PostgreSQL at {url} is not reachable: {exc.__class__.__name__}")
    return url




CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright, one for the whole session.

    Playwright's sync API allows one running instance per thread, so every browser test (the
    console's and the reports') shares this one and opens its own context.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install "
                    "chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a reachable Redis for the online store tests, or skip with the reason."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis tests need {REDIS_ENV} (set by .ci/run, which starts Redis)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any connection failure means skip
        pytest.skip(f"Redis at {url} is not reachable: {exc.__class__.__name__}")
    return url


def _skipped_reports(config: pytest.Config) -> list[pytest.TestReport]:
    """The skip reports of this session (empty when the terminal reporter is off)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return list(reporter.stats.get("skipped", [])) if reporter is not None else []


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Under PATENTRISK_TEST_FORBID_SKIPS (set by .ci/run) name every skipped test as a failure."""
    skipped = _skipped_reports(config)
    if os.environ.get(FORBID_SKIPS_ENV) and skipped:
        title = f"{len(skipped)} skipped test(s) fail the run ({FORBID_SKIPS_ENV})"
        terminalreporter.section(title)
        for report in skipped:
            terminalreporter.line(f"{report.nodeid}: {report.longrepr}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI must run every test: under PATENTRISK_TEST_FORBID_SKIPS a skip makes the run fail."""
    if os.environ.get(FORBID_SKIPS_ENV) and exitstatus == 0 and _skipped_reports(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# The master the Spark tests' settings name too, so that every run reuses the one session.
TEST_SPARK_MASTER = "local[2]"


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the test session (UI off, few shuffle partitions), or skip."""
    from features.engines.spark_engine import spark_session, spark_unavailable_reason

    reason = spark_unavailable_reason()
    if reason:
        pytest.skip(f"Spark tests need pyspark and Java 17: {reason}")
    session = spark_session(TEST_SPARK_MASTER, "1g")
    yield session
    session.stop()


# Property tests judge correctness, not speed: on a loaded 2-core machine Hypothesis's default
# 200 ms deadline turned slow examples into "flaky" failures.
hypothesis_settings.register_profile("patentrisk", deadline=None)
hypothesis_settings.load_profile("patentrisk")
