"""A small synthetic world built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.store import TableStore
from features.world.generate import WorldSummary, generate_world

WORLD_PATENTS = 5000
WORLD_SEED = 7


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[TableStore, WorldSummary]:
    """A 5,000-patent world (seed 7) and its summary."""
    store = TableStore(tmp_path_factory.mktemp("world") / "datasets" / "world")
    return store, generate_world(store, WORLD_PATENTS, WORLD_SEED)


@pytest.fixture(scope="session")
def store(world: tuple[TableStore, WorldSummary]) -> TableStore:
    """The small world's table store."""
    return world[0]


def fresh_store(root: Path) -> TableStore:
    """An empty store under `root`."""
    return TableStore(root / "datasets" / "world")
