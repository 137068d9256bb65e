"""The promotion gate: `champion` moves only to a version at least as good on the same test rows.

Otherwise the new version gets the `challenger` alias and the decision says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import load_model

from models.loading import CHALLENGER, CHAMPION, input_features, predict_frame
from models.tasks import TaskSpec
from training.evaluation import at_least_as_good, primary_score

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateDecision:
    """Outcome of the gate: which alias the new version got and why."""

    promoted: bool
    alias: str
    reason: str
    new_score: float
    champion_version: str | None = None
    champion_score: float | None = None


def current_champion(client: MlflowClient, registered_name: str) -> str | None:
    """Version number holding the `champion` alias, or None."""
    try:
        return str(client.get_model_version_by_alias(registered_name, CHAMPION).version)
    except MlflowException:
        return None


def rescore_version(
    registered_name: str, version: str, X_test: pd.DataFrame
) -> pd.DataFrame | None:
    """A registered version's output frame on the test rows, or None if it needs other features."""
    model = load_model(f"models:/{registered_name}/{version}")
    features = list(input_features(model) or X_test.columns)
    if any(f not in X_test.columns for f in features):
        return None
    return predict_frame(model, X_test.loc[:, features].reset_index(drop=True))


def apply_gate(
    client: MlflowClient,
    spec: TaskSpec,
    version: str,
    new_score: float,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
) -> GateDecision:
    """Compare the new version with the champion on the same test rows and set the alias."""
    name, metric = spec.registered_name, spec.primary_metric
    champion = current_champion(client, name)
    if champion is None:
        decision = GateDecision(True, CHAMPION, "no champion yet", new_score)
    else:
        frame = rescore_version(name, champion, X_test)
        if frame is None:
            decision = GateDecision(
                True, CHAMPION,
                f"champion v{champion} needs features the current pipeline does not produce",
                new_score, champion,
            )
        else:
            old = primary_score(spec, y_test, frame)
            cmp = ">=" if spec.higher_is_better else "<="
            if at_least_as_good(spec, new_score, old):
                reason = (f"{metric} {new_score:.4f} {cmp} champion v{champion} {old:.4f} "
                          f"on the same {len(y_test)} test rows")
                decision = GateDecision(True, CHAMPION, reason, new_score, champion, old)
            else:
                reason = (f"{metric} {new_score:.4f} is worse than champion v{champion} "
                          f"{old:.4f} on the same {len(y_test)} test rows; champion stays")
                decision = GateDecision(False, CHALLENGER, reason, new_score, champion, old)
    client.set_registered_model_alias(name, decision.alias, version)
    client.set_model_version_tag(name, version, "gate_decision", decision.reason)
    log.info("%s v%s -> %s: %s", name, version, decision.alias, decision.reason)
    return decision
