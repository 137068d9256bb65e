"""Fixtures for training tests: one migrated MLflow SQLite store per session, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from features.settings import Settings
from features.store import TableStore
from features.world import generate_world


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly migrated, empty MLflow SQLite database (migrations run once per session)."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{path}")
    client.search_experiments()
    client._get_registry_client().search_registered_models()
    return path


@pytest.fixture
def mlflow_settings(tmp_path: Path, mlflow_template: Path) -> Settings:
    """Settings whose MLflow store is a private copy of the migrated template."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copy(mlflow_template, data_dir / "mlflow.db")
    return Settings(data_dir=data_dir, train_trials=0)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic world, generated once per test session."""
    root = tmp_path_factory.mktemp("tiny-world") / "datasets" / "world"
    generate_world(TableStore(root), 3000, 7)  # seed 7: every period has events
    return root


@pytest.fixture
def world_settings(mlflow_settings: Settings, tiny_world: Path) -> Settings:
    """Settings pointing at a copy-free view of the tiny world and a private MLflow store."""
    target = mlflow_settings.data_dir / "datasets" / "world"
    target.parent.mkdir(parents=True)
    target.symlink_to(tiny_world, target_is_directory=True)
    return mlflow_settings
