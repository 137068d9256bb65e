"""Load the champion model of each task from the MLflow registry, for serving."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel, load_model
from mlflow.types import DataType

from models.pyfunc import PatentRiskModel
from models.tasks import TASK_NAMES, task_spec

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"


class ChampionMissingError(LookupError):
    """A task has no registered model version with the `champion` (or requested) alias."""

    def __init__(self, task: str, registered_name: str, detail: str, alias: str = CHAMPION) -> None:
        self.task = task
        self.registered_name = registered_name
        self.alias = alias
        super().__init__(
            f"no {alias} for task {task!r}: models:/{registered_name}@{alias} does not "
            f"resolve ({detail}); run `patentrisk train --task {task}` first"
        )


@dataclass(frozen=True)
class LoadedModel:
    """A champion model ready to score: registry coordinates, pyfunc and its input features."""

    task: str
    registered_name: str
    version: str
    run_id: str
    pyfunc: PyFuncModel
    feature_names: tuple[str, ...]

    @property
    def uri(self) -> str:
        """The registry URI the model was loaded from."""
        return f"models:/{self.registered_name}/{self.version}"


def load_champions(
    tracking_uri: str, tasks: Iterable[str] = TASK_NAMES
) -> dict[str, LoadedModel]:
    """Load `models:/patentrisk-<task>@champion` for each task; ChampionMissingError if absent."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    loaded: dict[str, LoadedModel] = {}
    for task in tasks:
        loaded[task] = load_model_version(client, task, CHAMPION)
    return loaded


def load_model_version(client: MlflowClient, task: str, alias: str) -> LoadedModel:
    """Load the version of task's registered model that carries `alias`."""
    name = task_spec(task).registered_name
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        raise ChampionMissingError(
            task, name, exc.message.splitlines()[0], alias
        ) from None
    model = load_model(f"models:/{name}/{mv.version}")
    features = input_features(model)
    log.info("loaded %s version %s (run %s)", name, mv.version, mv.run_id)
    return LoadedModel(task, name, str(mv.version), str(mv.run_id), model, features)


def input_features(model: PyFuncModel) -> tuple[str, ...]:
    """The input columns of a logged pyfunc, from its signature (empty without one)."""
    # mlflow leaves ModelMetadata.get_input_schema unannotated; it returns a Schema or None.
    schema = model.metadata.get_input_schema()  # type: ignore[no-untyped-call]
    return tuple(schema.input_names()) if schema is not None else ()


def _conforms(model: PyFuncModel, X: pd.DataFrame) -> bool:
    """Whether `X` is exactly what MLflow's input check hands the model: nothing to convert.

    That is the signature's columns in order, every one a double in the signature and float64
    in `X` (serving builds its frames so). MLflow's check of such a frame changes nothing but
    costs a few ms per call, about what scoring one row with the booster costs.
    """
    schema = model.metadata.get_input_schema()  # type: ignore[no-untyped-call]
    if schema is None or not schema.has_input_names():
        return False
    return (list(X.columns) == schema.input_names()
            and all(t == DataType.double for t in schema.input_types())
            and all(d == np.float64 for d in X.dtypes))


def predict_frame(model: PyFuncModel, X: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's contract frame for `X`; TypeError if the model answers anything else.

    A frame that already conforms to the signature goes straight to the patentrisk pyfunc (the
    same answer, tested); any other input takes MLflow's checked `predict`.
    """
    python_model = _python_model(model)
    if python_model is not None and _conforms(model, X):
        return python_model.score(X)
    out = model.predict(X)
    if not isinstance(out, pd.DataFrame):
        raise TypeError(f"the pyfunc must return a DataFrame, got {type(out).__name__}")
    return out


def _python_model(model: object) -> PatentRiskModel | None:
    """The patentrisk pyfunc inside `model`, None for any other model (or stand-in object)."""
    if not isinstance(model, PyFuncModel):
        return None
    try:
        inner = model.unwrap_python_model()  # type: ignore[no-untyped-call]
    except MlflowException:
        return None
    return inner if isinstance(inner, PatentRiskModel) else None
