"""Save and load any task estimator as native LightGBM text files plus JSON (no pickles)."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

from models.base import META_FILE, BoostedModel
from models.classifier import RiskClassifier
from models.severity import SeverityRegressor
from models.value import ValueQuantileModel

ESTIMATORS: MappingProxyType[str, type[BoostedModel]] = MappingProxyType({
    "classifier": RiskClassifier,
    "severity": SeverityRegressor,
    "value": ValueQuantileModel,
})


def estimator_class(kind: str) -> type[BoostedModel]:
    """The estimator class for a model kind (`classifier`, `severity`, `value`)."""
    try:
        return ESTIMATORS[kind]
    except KeyError:
        raise ValueError(f"model kind must be one of {sorted(ESTIMATORS)}, got {kind!r}") from None


def save_estimator(model: BoostedModel, directory: Path) -> Path:
    """Write a fitted estimator into `directory` (boosters as text, state as JSON)."""
    return model.save(Path(directory))


def load_estimator(directory: Path) -> BoostedModel:
    """Load an estimator written by `save_estimator`."""
    directory = Path(directory)
    meta_path = directory / META_FILE
    if not meta_path.exists():
        raise FileNotFoundError(f"model directory {directory} has no {META_FILE}")
    meta = json.loads(meta_path.read_text())
    return estimator_class(meta["kind"])._load(directory, meta)
