"""Hyper-parameter search with optuna (seeded TPE, fixed trial budget) on the validation period."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import optuna
import pandas as pd

from models.base import BoostedModel
from models.tasks import TaskSpec
from training.evaluation import beats_beyond_noise, primary_score

log = logging.getLogger(__name__)

EstimatorFactory = Callable[[dict[str, Any]], BoostedModel]


# First trial of every search: the parameters used when tuning finds nothing better.
DEFAULT_TRIAL: dict[str, Any] = {"learning_rate": 0.05, "num_leaves": 31,
                                 "min_child_samples": 100, "feature_fraction": 0.9,
                                 "lambda_l2": 1.0}


def suggest_params(trial: optuna.Trial) -> dict[str, Any]:
    """The search space shared by every task's booster."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 20, 400, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.6, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def tune(
    spec: TaskSpec,
    make_estimator: EstimatorFactory,
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    trials: int,
    seed: int,
) -> tuple[dict[str, Any], float | None]:
    """Best parameters after `trials` TPE trials scored on the validation rows ({} when 0)."""
    if trials <= 0:
        return {}, None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction: Literal["maximize", "minimize"] = (
        "maximize" if spec.higher_is_better else "minimize"
    )
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))

    def objective(trial: optuna.Trial) -> float:
        params = suggest_params(trial)
        model = make_estimator(params).fit(X_train, y_train, X_valid, y_valid)
        return primary_score(spec, y_valid, model.score_frame(X_valid))

    # the defaults are a sensible first trial, so tuning never ends worse than no tuning
    study.enqueue_trial(DEFAULT_TRIAL)
    study.optimize(objective, n_trials=trials)
    best, baseline = study.best_trial, study.trials[0]
    log.info("%s: best validation %s=%.4f after %d trials (defaults %.4f)", spec.name,
             spec.primary_metric, best.value, len(study.trials), baseline.value)
    if best.number != baseline.number and not beats_beyond_noise(
        spec, _score(best), _score(baseline), np.asarray(y_valid)
    ):
        log.info("%s: tuned parameters are within the validation noise; keeping defaults",
                 spec.name)
        best = baseline
    return dict(best.params), _score(best)


def _score(trial: optuna.trial.FrozenTrial) -> float:
    """The validation score of a finished trial (every trial here returns one)."""
    if trial.value is None:
        raise ValueError(f"trial {trial.number} finished without a score")
    return float(trial.value)
