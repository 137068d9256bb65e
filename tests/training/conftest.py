"""Fixtures for training tests: one migrated MLflow SQLite store per session, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from features.settings import Settings


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
