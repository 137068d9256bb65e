"""The default model loader: each task's `champion` from the MLflow registry, and the policy."""

from __future__ import annotations

import logging

from features.settings import Settings
from models.loading import LoadedModel, load_champions
from models.policy import load_policy
from serving.modelset import SERVED_TASKS, ModelSet, ServedModel

log = logging.getLogger(__name__)


def load_served_models(settings: Settings) -> ModelSet:
    """Champions of every served task (each loaded on its own) and the policy file.

    A task without a loadable champion is left out and logged, so the others still serve and
    `/readyz` names the missing one; an invalid policy file raises (a reload keeps the old set).
    """
    policy = load_policy(settings.policy_file)
    models: dict[str, ServedModel] = {}
    for task in SERVED_TASKS if _registry_exists(settings) else ():
        try:
            loaded: LoadedModel = load_champions(settings.resolved_tracking_uri, [task])[task]
        except Exception as exc:  # noqa: BLE001 - one task's failure must not block the others
            log.warning("no model served for task %s: %s", task, exc)
            continue
        models[task] = ServedModel(
            task=task, name=loaded.registered_name, version=loaded.version, model=loaded
        )
    if not models:
        log.warning("no champion model found in %s", settings.resolved_tracking_uri)
    return ModelSet(
        models=models, policy=policy, policy_version=policy.version, policy_hash=policy.sha256
    )


def _registry_exists(settings: Settings) -> bool:
    """False when the default SQLite registry file was never created (nothing trained yet).

    Opening a missing SQLite registry would create and migrate an empty one, which takes
    seconds and leaves a file behind; a configured tracking URI is always tried.
    """
    if settings.mlflow_tracking_uri:
        return True
    return (settings.data_dir / "mlflow.db").exists()
