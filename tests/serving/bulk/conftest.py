"""Fixtures of the bulk-run tests: one Spark session for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from features.engines.spark_engine import spark_session, spark_unavailable_reason

# The master the tests' settings name too, so that the bulk run reuses this session.
TEST_SPARK_MASTER = "local[2]"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local Spark session (UI off, few shuffle partitions), or skip naming what is missing."""
    reason = spark_unavailable_reason()
    if reason:
        pytest.skip(f"Spark tests need pyspark and Java 17: {reason}")
    session = spark_session(TEST_SPARK_MASTER, "1g")
    yield session
    session.stop()
