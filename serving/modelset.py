"""The models and policy in service and their loader.

The set is swapped as one immutable value, so a reload drops no request. The default loader
takes each task's `champion` from the MLflow registry (`models.loading`) and the policy file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from features.settings import Settings
from models.loading import ChampionMissingError, LoadedModel, load_champions
from models.policy import Policy, load_policy
from serving.errors import ModelNotLoadedError

log = logging.getLogger(__name__)

# Tasks the service needs a champion model for before it reports ready.
SERVED_TASKS: tuple[str, ...] = ("litigation", "liability", "default", "severity", "value")


@dataclass(frozen=True)
class ServedModel:
    """One loaded model: its task, registered name and version, and the loaded pyfunc."""

    task: str
    name: str
    version: str
    model: LoadedModel
    alias: str = "champion"
    # Binned reference of the model's inputs and score (`models.drift`), None when not logged.
    reference: Any = None


@dataclass(frozen=True)
class ModelSet:
    """The loaded models by task, and the rating policy with its version and hash."""

    models: Mapping[str, ServedModel] = field(default_factory=dict)
    policy: Policy | None = None
    policy_version: str | None = None
    policy_hash: str | None = None
    # Tasks whose champion exists but could not be loaded, with the reason (never served).
    failures: Mapping[str, str] = field(default_factory=dict)

    def require(self, task: str) -> ServedModel:
        """The model serving `task`; raises `ModelNotLoadedError` (503) when there is none."""
        served = self.models.get(task)
        if served is None:
            raise ModelNotLoadedError(task)
        return served

    def missing(self, tasks: tuple[str, ...] = SERVED_TASKS) -> list[str]:
        """Tasks among `tasks` that have no model loaded."""
        return [t for t in tasks if t not in self.models]

    def versions(self, *tasks: str) -> dict[str, dict[str, str]]:
        """Name and version of each model used (all when no task is named), for assessments."""
        chosen = tasks or tuple(self.models)
        return {
            t: {"name": self.models[t].name, "version": self.models[t].version}
            for t in chosen
            if t in self.models
        }


ModelLoader = Callable[[Settings], ModelSet]


def load_served_models(settings: Settings) -> ModelSet:
    """Champions of every served task (each loaded on its own) and the policy file.

    A task without a champion is left out, so the others still serve and `/readyz` names the
    missing one. A champion that exists but does not load (a corrupt or incompatible version) is
    left out too and named in `failures` with the reason, so that a reload can refuse the new set
    and keep the previous champion serving. An invalid policy file raises.
    """
    policy = load_policy(settings.policy_file)
    models: dict[str, ServedModel] = {}
    failures: dict[str, str] = {}
    for task in SERVED_TASKS if _registry_exists(settings) else ():
        try:
            loaded: LoadedModel = load_champions(settings.resolved_tracking_uri, [task])[task]
        except ChampionMissingError as exc:
            log.warning("no model served for task %s: %s", task, exc)
            continue
        except Exception as exc:  # noqa: BLE001 - one task's failure must not block the others
            reason = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.error("the champion of task %s does not load: %s", task, reason)
            failures[task] = reason[:300]
            continue
        models[task] = ServedModel(
            task=task, name=loaded.registered_name, version=loaded.version, model=loaded,
            reference=load_reference(loaded.run_id),
        )
    if not models:
        log.warning("no champion model found in %s", settings.resolved_tracking_uri)
    return ModelSet(
        models=models, policy=policy, policy_version=policy.version, policy_hash=policy.sha256,
        failures=failures,
    )


def reload_failures(previous: ModelSet, fresh: ModelSet) -> dict[str, str]:
    """Why `fresh` must not replace `previous`: tasks that failed to load or lost their model."""
    failures = dict(fresh.failures)
    for task in previous.models:
        if task not in fresh.models and task not in failures:
            failures[task] = "served before, but the registry no longer gives a champion"
    return failures


def load_reference(run_id: str) -> Any:
    """The monitoring reference profile logged with a model's run, or None without one."""
    import mlflow.artifacts

    from models.drift import PROFILE_ARTIFACT, ReferenceProfile

    try:
        return ReferenceProfile.from_json(
            mlflow.artifacts.load_text(f"runs:/{run_id}/{PROFILE_ARTIFACT}"))
    except Exception as exc:  # noqa: BLE001 - an old run without a profile serves unmonitored
        log.warning("run %s has no monitoring reference profile: %s", run_id, exc)
        return None


def _registry_exists(settings: Settings) -> bool:
    """False when the default SQLite registry file was never created (nothing trained yet).

    Opening a missing SQLite registry would create and migrate an empty one, which takes
    seconds and leaves a file behind; a configured tracking URI is always tried.
    """
    if settings.mlflow_tracking_uri:
        return True
    return (settings.data_dir / "mlflow.db").exists()
