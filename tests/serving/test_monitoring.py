"""Model monitoring: served rows binned per day by the reference profile, PSI over a window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from models.drift import build_profile
from serving.database import make_engine, make_sessionmaker, migrate
from serving.metrics import ServiceMetrics
from serving.modelset import ModelSet, ServedModel
from serving.monitoring import ServingMonitor, monitoring_summary
from serving.tables import MonitoringBin

DAY = dt.date(2026, 3, 2)


def _rows(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
    X = pd.DataFrame({"age": rng.gamma(4.0, 2.0, n) + shift,
                      "kind": rng.choice([0.0, 1.0, 2.0], n, p=[0.5, 0.3, 0.2])})
    scored = pd.DataFrame({"raw_score": -3 + 0.2 * X["age"].to_numpy()})
    return X, scored


def _served(rng: np.random.Generator) -> ServedModel:
    X, scored = _rows(rng, 20_000)
    profile = build_profile("litigation", X, scored["raw_score"].to_numpy(), ["kind"],
                            ("2024-12-31", "2024-12-31"))
    return ServedModel("litigation", "patentrisk-litigation", "4", None, reference=profile)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated store of each backend."""
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_counts_of_several_workers_add_up_and_show_drift_only_when_traffic_shifts(
    sessions: sessionmaker[Session],
) -> None:
    rng = np.random.default_rng(0)
    served = _served(rng)
    models = ModelSet(models={"litigation": served})
    workers = [ServingMonitor(sessions, flush_seconds=3600), ServingMonitor(sessions, 3600)]
    for worker in workers:  # traffic drawn like the reference, one request of 5 rows at a time
        for _ in range(60):
            worker.observe(served, *_rows(rng, 5), today=DAY)
    with sessions() as session:  # closed at once: an open transaction blocks the schema's drop
        assert session.execute(
            sa.select(sa.func.count()).select_from(MonitoringBin)).scalar() == 0
    for worker in workers:
        worker.flush()
    metrics = ServiceMetrics()
    (same,) = monitoring_summary(workers[0], models, DAY, DAY, metrics=metrics)
    assert same.rows == 600
    assert same.status == "stable", same.variables
    assert same.max_psi is not None
    assert same.max_psi < 0.10
    assert {v.name for v in same.variables} == {"age", "kind", "score"}

    # the next day only young patents: the age and the score move, the kind does not
    later = DAY + dt.timedelta(days=1)
    for _ in range(60):
        workers[1].observe(served, *_rows(rng, 5, shift=6.0), today=later)
    (shifted,) = monitoring_summary(workers[1], models, later, later, metrics=metrics)
    psi = {v.name: v for v in shifted.variables}
    assert shifted.status == "drift"
    assert psi["age"].status == "drift"
    assert psi["score"].status == "drift"
    assert psi["kind"].status == "stable"
    assert [d.day for d in shifted.days] == [later]
    (both,) = monitoring_summary(workers[0], models, DAY, later)
    assert both.rows == 900
    assert [(d.day, d.rows) for d in both.days] == [(DAY, 600), (later, 300)]
    text = metrics.exposition().decode()
    assert 'patentrisk_model_psi{task="litigation",variable="age"}' in text
    assert 'patentrisk_model_monitored_rows{task="litigation"} 300.0' in text


def test_few_rows_are_insufficient_and_a_model_without_profile_is_left_out(
    sessions: sessionmaker[Session],
) -> None:
    rng = np.random.default_rng(1)
    served = _served(rng)
    bare = ServedModel("value", "patentrisk-value", "2", None)
    monitor = ServingMonitor(sessions, flush_seconds=0)  # stores on every observation
    monitor.observe(served, *_rows(rng, 20, shift=6.0), today=DAY)
    monitor.observe(bare, *_rows(rng, 20), today=DAY)
    models = ModelSet(models={"litigation": served, "value": bare})
    (only,) = monitoring_summary(monitor, models, DAY, DAY)
    assert only.task == "litigation"
    assert only.rows == 20
    assert only.status == "insufficient"
