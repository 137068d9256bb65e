"""Models (scientist): champion and challenger per task, metrics against the oracle, calibration."""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from features.settings import Settings
from models.loading import CHALLENGER, CHAMPION
from models.tasks import TASK_NAMES, task_spec
from serving.auth import Caller
from serving.charts import CalibrationCurve, calibration_chart
from serving.console.access import page_caller
from serving.console.error_pages import error_page
from serving.console.i18n import Translator
from serving.console.rendering import render, translator
from serving.deps import ModelsDep, SettingsDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)

# Metrics shown per kind of task, in this order (names as training logs them).
SHOWN_METRICS: dict[str, tuple[str, ...]] = {
    "classifier": ("test_roc_auc", "oracle_test_roc_auc", "test_roc_auc_vs_oracle", "test_brier",
                   "oracle_test_brier", "test_brier_vs_oracle", "test_ece", "test_event_rate",
                   "test_mean_probability"),
    "severity": ("test_deviance", "test_cost_ratio", "test_mean_cost"),
    "value": ("test_pinball_p10", "test_pinball_p50", "test_pinball_p90", "test_pinball_mean",
              "test_coverage_p10_p90"),
}

# Model version tag naming the validation report artifact (set by `patentrisk validate`).
REPORT_TAG = "validation_report"


@dataclass
class VersionView:
    """One registered version with an alias: number, run, metrics, gate decision, calibration."""

    alias: str
    version: str
    run_id: str
    metrics: dict[str, float]
    gate: str | None
    calibration: dict[str, Any] | None = None
    report: str | None = None  # artifact path of the validation report (`patentrisk validate`)


@dataclass
class TaskView:
    """A task's champion and challenger, and the version served now."""

    task: str
    name: str
    kind: str
    primary_metric: str
    served: str | None
    versions: list[VersionView] = field(default_factory=list)
    chart: str | None = None


def registry_views(settings: Settings, served: dict[str, str]) -> list[TaskView]:
    """Champion and challenger of every task from the MLflow registry, with their run metrics."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    views = []
    for task in TASK_NAMES:
        spec = task_spec(task)
        view = TaskView(task, spec.registered_name, spec.kind, spec.primary_metric,
                        served.get(task))
        for alias in (CHAMPION, CHALLENGER):
            try:
                mv = client.get_model_version_by_alias(spec.registered_name, alias)
            except MlflowException:
                continue
            run_id = str(mv.run_id)
            run = client.get_run(run_id)
            calibration = None
            if spec.kind == "classifier" and alias == CHAMPION:
                try:
                    calibration = _load_calibration(client, run_id)
                except (MlflowException, OSError, ValueError):
                    calibration = None  # older runs logged no calibration points
            view.versions.append(VersionView(
                alias=alias, version=str(mv.version), run_id=run_id,
                metrics=dict(run.data.metrics), gate=(mv.tags or {}).get("gate_decision"),
                calibration=calibration, report=(mv.tags or {}).get(REPORT_TAG),
            ))
        views.append(view)
    return views


def _load_calibration(client: Any, run_id: str) -> dict[str, Any]:
    """The run's `calibration.json` artifact (reliability points logged by training)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run_id, "calibration.json", tmp)
        points: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        return points


def calibration_svg(points: dict[str, Any], t: Translator) -> str:
    """The champion's logged reliability curves (model and oracle) as an SVG chart."""
    curves = [CalibrationCurve(label, pts["predicted"], pts["observed"])
              for label, pts in points.items()]
    return calibration_chart(curves, t("models.calibration"), t("models.predicted"),
                             t("models.observed"))


@router.get("/models")
def models_page(
    request: Request,
    _caller: Annotated[Caller, Depends(page_caller("models"))],
    models: ModelsDep,
    settings: SettingsDep,
) -> Response:
    """Each task's champion and challenger with metrics against the oracle and calibration."""
    t = translator(request)
    served = {task: m.version for task, m in models.models.items()}
    error = None
    views: list[TaskView] = []
    try:
        views = registry_views(settings, served)
    except Exception as exc:  # noqa: BLE001 - a registry outage is shown, not raised
        log.exception("model registry could not be read")
        error = exc.__class__.__name__
    for view in views:
        champion = next((v for v in view.versions if v.alias == CHAMPION), None)
        if champion and champion.calibration:
            view.chart = calibration_svg(champion.calibration, t)
    return render(
        request, "models.html", views=views, error=error, shown=SHOWN_METRICS,
        mlflow_command=f"mlflow ui --backend-store-uri {settings.resolved_tracking_uri}",
        policy_version=models.policy_version, policy_hash=models.policy_hash,
    )


@router.get("/models/{task}/validation")
def validation_report_page(
    request: Request,
    task: str,
    _caller: Annotated[Caller, Depends(page_caller("models"))],
    settings: SettingsDep,
) -> Response:
    """The champion's validation report as logged to its MLflow run by `patentrisk validate`."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    t = translator(request)
    if task not in TASK_NAMES:
        return error_page(request, 404, t("error.404"))
    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        mv = client.get_model_version_by_alias(task_spec(task).registered_name, CHAMPION)
        artifact = (mv.tags or {}).get(REPORT_TAG)
        if not artifact:
            return error_page(request, 404, t("models.no_report", task=task))
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(str(mv.run_id), artifact, tmp)
            text = Path(path).read_text(encoding="utf-8")
    except (MlflowException, OSError) as exc:
        log.warning("validation report of %s could not be read: %s", task, exc)
        return error_page(request, 404, t("models.no_report", task=task))
    return HTMLResponse(text)
