"""One training run per task: data, out-of-time split, tuning, fit, evaluation, MLflow, gate."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas

from features.registry import static_features
from features.settings import Settings
from models.base import BoostedModel
from models.drift import PROFILE_ARTIFACT, build_profile, score_of
from models.persistence import estimator_class
from models.pyfunc import log_pyfunc
from models.tasks import TaskSpec, task_spec
from training.datasets import TaskData, TaskUnavailable, load_task_data
from training.evaluation import task_metrics
from training.model_card import CardInputs, render_model_card
from training.plots import (
    actual_vs_predicted_figure,
    calibration_figure,
    calibration_points,
    roc_figure,
    shap_summary_figure,
)
from training.registry import GateDecision, apply_gate
from training.splits import TimeSplit, task_split
from training.tuning import tune

log = logging.getLogger(__name__)

MAX_TUNE_ROWS = 100_000  # tuning trials fit on at most this many training rows
PLOT_ROWS = 5_000


@dataclass(frozen=True)
class TaskResult:
    """What one task's training produced (or why it was skipped)."""

    task: str
    status: str  # trained | skipped
    reason: str = ""
    rows: Mapping[str, int] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    version: str | None = None
    promoted: bool | None = None
    run_id: str | None = None
    seconds: float = 0.0


def configure_mlflow(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured tracking/registry store and return a client."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uri = settings.resolved_tracking_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(client: MlflowClient, settings: Settings, spec: TaskSpec) -> str:
    """Id of the task's experiment, created under the configured artifact root if new."""
    name = spec.registered_name
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = f"{settings.resolved_artifact_root.rstrip('/')}/{name}"
    return str(client.create_experiment(name, artifact_location=location))


def make_estimator(
    spec: TaskSpec, data: TaskData, params: Mapping[str, Any], seed: int
) -> BoostedModel:
    """A fresh estimator for the task with registry constraints and the given parameters."""
    kwargs: dict[str, Any] = {"monotone": data.monotone(spec.name),
                              "categorical": data.categorical(), "random_state": seed, **params}
    return estimator_class(spec.kind)(**kwargs)


def train_task(
    settings: Settings,
    client: MlflowClient,
    task: str,
    trials: int | None = None,
    fixed_params: Mapping[str, Any] | None = None,
) -> TaskResult:
    """Train, evaluate, log, register and gate one task; skipped when the data has no labels."""
    started = time.monotonic()
    spec = task_spec(task)
    try:
        data = load_task_data(settings, spec)
    except TaskUnavailable as exc:
        return TaskResult(task, "skipped", str(exc))
    return train_on_data(settings, client, spec, data, trials, fixed_params, started)


def train_on_data(
    settings: Settings,
    client: MlflowClient,
    spec: TaskSpec,
    data: TaskData,
    trials: int | None = None,
    fixed_params: Mapping[str, Any] | None = None,
    started: float | None = None,
) -> TaskResult:
    """Split, tune, fit, evaluate, log, register and gate a task on already built snapshots."""
    started = time.monotonic() if started is None else started
    task = spec.name
    frame = data.frame
    split = task_split(frame)
    parts = {name: frame.iloc[getattr(split, name)] for name in ("train", "valid", "test")}
    X = {k: v.loc[:, list(data.features)] for k, v in parts.items()}
    y = {k: v["label"].to_numpy() for k, v in parts.items()}
    for name in ("train", "valid", "test"):
        if spec.kind == "classifier" and len(np.unique(y[name])) < 2:
            return TaskResult(task, "skipped", f"{name} period holds one class only",
                              rows=split.sizes())

    seed = settings.seed
    n_trials = settings.train_trials if trials is None else trials
    best: dict[str, Any] = dict(fixed_params or {})
    if not fixed_params:
        Xt, yt = _tuning_rows(X["train"], y["train"], seed)
        found, _ = tune(spec, lambda p: make_estimator(spec, data, p, seed),
                        Xt, yt, X["valid"], y["valid"], n_trials, seed)
        best.update(found)
    model = make_estimator(spec, data, best, seed).fit(
        X["train"], y["train"], X["valid"], y["valid"]
    )
    scored = model.score_frame(X["test"])
    truth = parts["test"]["truth"].to_numpy() if data.has_truth else None
    metrics = task_metrics(spec, y["test"], scored, truth)

    experiment_id = ensure_experiment(client, settings, spec)
    with mlflow.start_run(experiment_id=experiment_id,
                          run_name=f"{task}-{data.fingerprint}") as run:
        _log_run(spec, data, split, model, best, n_trials, metrics)
        info = log_pyfunc(model, X["test"].head(5), registered_model_name=spec.registered_name)
        version = str(info.registered_model_version)
        decision = apply_gate(client, spec, version, metrics[spec.primary_metric],
                              X["test"], y["test"])
        mlflow.set_tags({"gate_alias": decision.alias, "gate_reason": decision.reason,
                         "registered_version": version})
        _log_artifacts(spec, data, split, model, metrics, scored, X["test"], y["test"],
                       truth, run.info.run_id, decision)
    return TaskResult(task, "trained", decision.reason, split.sizes(), metrics, version,
                      decision.promoted, run.info.run_id, time.monotonic() - started)


def train_tasks(
    settings: Settings,
    tasks: Iterable[str],
    trials: int | None = None,
    on_result: Callable[[TaskResult], None] | None = None,
) -> list[TaskResult]:
    """Train each task in turn into the configured MLflow store."""
    client = configure_mlflow(settings)
    results = []
    for task in tasks:
        result = train_task(settings, client, task, trials)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _tuning_rows(X: pd.DataFrame, y: np.ndarray, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """At most MAX_TUNE_ROWS training rows (sampled without breaking time order)."""
    if len(X) <= MAX_TUNE_ROWS:
        return X, y
    keep = np.sort(np.random.default_rng(seed).choice(len(X), MAX_TUNE_ROWS, replace=False))
    return X.iloc[keep], y[keep]


def _log_run(
    spec: TaskSpec,
    data: TaskData,
    split: TimeSplit,
    model: BoostedModel,
    params: Mapping[str, Any],
    trials: int,
    metrics: Mapping[str, float],
) -> None:
    """Log parameters, tags, metrics and the training/test data of the active run."""
    mlflow.set_tags({"task": spec.name, "dataset": data.dataset, "source": data.source,
                     "dataset_fingerprint": data.fingerprint})
    logged = {k: v for k, v in model.get_params().items() if k not in ("monotone", "categorical")}
    logged.update({
        "dataset": data.dataset, "dataset_fingerprint": data.fingerprint,
        "data_end_date": data.end_date, "n_features": len(data.features),
        "optuna_trials": trials, "tuned": bool(params),
        "train_period": "..".join(split.train_period),
        "valid_period": "..".join(split.valid_period),
        "test_period": "..".join(split.test_period),
        "purged_train_rows": split.purged[0], "purged_valid_rows": split.purged[1],
        "static_features": ",".join(static_features(spec.name)) or "none",
        "best_iteration": getattr(model, "best_iteration_", ""),
        "calibration": getattr(getattr(model, "calibrator_", None), "method_", ""),
        "monotone_constraints": sum(1 for c in model.monotone_constraints_ if c),
    })
    mlflow.log_params(logged)
    mlflow.log_metrics({**metrics, **{f"rows_{k}": v for k, v in split.sizes().items()}})
    frame = data.frame.drop(columns=["truth"])
    for context, idx in (("training", split.train), ("testing", split.test)):
        with warnings.catch_warnings():
            # MLflow registers the local-file source under two schemes and warns about it
            warnings.filterwarnings("ignore", "The specified dataset source", UserWarning)
            dataset = from_pandas(
                frame.iloc[idx], source=Path(data.root).resolve().as_uri(), targets="label",
                name=f"{data.dataset}-{spec.name}-{context}",
                digest=f"{data.fingerprint}-{context}",
            )
        mlflow.log_input(dataset, context=context, tags={"fingerprint": data.fingerprint})


def _log_artifacts(
    spec: TaskSpec,
    data: TaskData,
    split: TimeSplit,
    model: BoostedModel,
    metrics: Mapping[str, float],
    scored: pd.DataFrame,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    truth: np.ndarray | None,
    run_id: str,
    decision: GateDecision,
) -> None:
    """Log plots, the model card and the monitoring reference profile of the test period.

    Serving bins the rows it scores by this profile and compares them with it (PSI); it is the
    newest period the model was tested on, the state of the world nearest to the one it serves.
    """
    profile = build_profile(spec.name, X_test, score_of(spec.kind, scored), data.categorical(),
                            split.test_period, {"run_id": run_id})
    mlflow.log_text(profile.to_json(), PROFILE_ARTIFACT)
    sample = np.sort(np.random.default_rng(0).choice(
        len(X_test), min(PLOT_ROWS, len(X_test)), replace=False))
    mlflow.log_figure(
        shap_summary_figure(scored.iloc[sample], X_test.iloc[sample]), "plots/shap_summary.png"
    )
    if spec.kind == "classifier":
        p = scored["probability"].to_numpy()
        mlflow.log_figure(calibration_figure(y_test, p, truth), "plots/calibration_curve.png")
        mlflow.log_dict(calibration_points(y_test, p, truth), "calibration.json")
        mlflow.log_figure(roc_figure(y_test, p, truth), "plots/roc_curve.png")
    else:
        column = "expected_cost" if spec.kind == "severity" else "p50"
        mlflow.log_figure(actual_vs_predicted_figure(y_test[sample], scored.iloc[sample], column),
                          "plots/actual_vs_predicted.png")
    constraints = dict(zip(model.features_, model.monotone_constraints_, strict=True))
    card = CardInputs(
        spec=spec, dataset=data.dataset, source=data.source, fingerprint=data.fingerprint,
        end_date=data.end_date, split=split, metrics=metrics,
        params={k: v for k, v in model.get_params().items()
                if k not in ("monotone", "categorical")},
        constraints=constraints,
        calibration=getattr(getattr(model, "calibrator_", None), "method_", None),
        run_id=run_id,
        notes=[f"Registry gate: {decision.alias} ({decision.reason}).", _static_note(spec.name),
               f"Purged {split.purged[0]} training and {split.purged[1]} validation rows whose "
               "label matured after the next period started."],
    )
    mlflow.log_text(render_model_card(card), "model_card.md")


def _static_note(task: str) -> str:
    """The model card's line on features read from undated columns."""
    names = static_features(task)
    if not names:
        return "Every feature is dated: none reads a column without a date."
    return ("Static features (read from undated columns, their value today stands in for T; "
            f"the point-in-time guard cannot check them): {', '.join(names)}.")
