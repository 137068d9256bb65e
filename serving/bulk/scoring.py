"""What both engines share when scoring: champions from the registry, model inputs, grades."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from models.loading import CHAMPION, ChampionMissingError
from models.policy import Policy, Product
from models.tasks import task_spec
from serving.bulk.records import TaskPlan


@dataclass(frozen=True)
class Champion:
    """A task's champion version: its registry URI and its signature's input/output columns."""

    task: str
    name: str
    version: str
    uri: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def resolve_champions(tracking_uri: str, tasks: list[str]) -> dict[str, Champion]:
    """The champion version of each task, pinned (`models:/<name>/<version>`) for the run."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    found: dict[str, Champion] = {}
    for task in tasks:
        name = task_spec(task).registered_name
        try:
            mv = client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException as exc:
            raise ChampionMissingError(task, name, exc.message.splitlines()[0]) from None
        uri = f"models:/{name}/{mv.version}"
        signature = mlflow.models.get_model_info(uri).signature
        if signature is None or signature.outputs is None:
            raise ValueError(f"{uri} has no signature: the bulk run needs input and output columns")
        found[task] = Champion(
            task, name, str(mv.version), uri,
            tuple(signature.inputs.input_names()), tuple(signature.outputs.input_names()),
        )
    return found


def model_input(features: pd.DataFrame, plan: TaskPlan, champion: Champion) -> pd.DataFrame:
    """The champion's input columns from an entity's features and the task's constant inputs."""
    frame = features.reindex(columns=list(champion.inputs)).astype("float64")
    for name, value in plan.constants:
        frame[name] = value
    return frame


def grade_labels(policy: Policy, product: Product, probability: pd.Series) -> pd.Series:
    """The policy grade of each probability (`Policy.grade`, once per distinct value)."""
    values = probability.to_numpy(dtype="float64")
    distinct, inverse = np.unique(values, return_inverse=True)
    labels = np.array([policy.grade(product, float(p)).value for p in distinct], dtype=object)
    return pd.Series(labels[inverse], index=probability.index, name="grade")
