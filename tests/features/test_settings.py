from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from features.settings import Settings


def test_defaults_put_everything_under_var() -> None:
    s = Settings()
    assert s.data_dir == Path("./var")
    assert s.port == 8000
    assert s.host == "127.0.0.1"
    assert s.resolved_tracking_uri.startswith("sqlite:///")
    assert s.resolved_tracking_uri.endswith("var/mlflow.db")
    assert s.resolved_database_url.endswith("var/assessments.db")
    assert s.resolved_artifact_root.endswith("var/mlartifacts")
    assert s.dataset_dir == Path("./var/datasets/world")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PATENTRISK_PORT", "9100")
    monkeypatch.setenv("PATENTRISK_DATABASE_URL", "postgresql+psycopg://u@h/db")
    s = Settings()
    assert s.data_dir == tmp_path
    assert s.port == 9100
    assert s.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert s.resolved_tracking_uri == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"


def test_a_copy_resolves_its_own_database_and_folders(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.resolved_database_url.endswith("/assessments.db")  # cached on `s` now
    assert s.dataset_dir == tmp_path / "datasets" / "world"
    copy = s.model_copy(update={"database_url": SecretStr("sqlite:///other.db"),
                                "dataset": "tiny"})
    assert copy.resolved_database_url == "sqlite:///other.db"
    assert copy.dataset_dir == tmp_path / "datasets" / "tiny"
    assert s.resolved_database_url.endswith("/assessments.db")


@pytest.mark.parametrize(
    ("var", "value", "field"),
    [
        ("PATENTRISK_PORT", "70000", "port"),
        ("PATENTRISK_PORT", "eighty", "port"),
        ("PATENTRISK_LOG_LEVEL", "LOUD", "log_level"),
        ("PATENTRISK_DATASET", "../etc", "dataset"),
    ],
)
def test_bad_value_names_the_field(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, field: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert info.value.errors()[0]["loc"] == (field,)
