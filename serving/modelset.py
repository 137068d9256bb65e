"""The models and policy in service, swapped as one immutable set so a reload drops no request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from features.settings import Settings
from serving.errors import ModelNotLoadedError

# Tasks the service needs a champion model for before it reports ready.
SERVED_TASKS: tuple[str, ...] = ("litigation", "liability", "default", "severity", "value")


@dataclass(frozen=True)
class ServedModel:
    """One loaded model: its task, registered name and version, and the loaded pyfunc."""

    task: str
    name: str
    version: str
    model: Any
    alias: str = "champion"


@dataclass(frozen=True)
class ModelSet:
    """The loaded models by task, and the rating policy with its version and hash."""

    models: Mapping[str, ServedModel] = field(default_factory=dict)
    policy: Any = None
    policy_version: str | None = None
    policy_hash: str | None = None

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


def no_models(_settings: Settings) -> ModelSet:
    """The loader used until the champion-model loader exists: nothing is loaded."""
    return ModelSet()
