from __future__ import annotations

import re

import mlflow
from mlflow import MlflowClient

from features.registry import static_features
from features.settings import Settings
from models.drift import PROFILE_ARTIFACT, ReferenceProfile
from models.tasks import TASK_NAMES
from training.validation.runner import REPORT_ARTIFACT_DIR, REPORT_FILE, ValidationResult


def assert_validation_reports(settings: Settings, validated: list[ValidationResult]) -> None:
    """Every task's report has its sections and is logged to the champion's run.

    Called by the end-to-end training test, which has trained every task already.
    """
    world_settings = settings
    results = {r.task: r for r in validated}
    assert {t: r.status for t, r in results.items()} == dict.fromkeys(TASK_NAMES, "validated")
    client = MlflowClient(world_settings.resolved_tracking_uri)
    for task, result in results.items():
        assert result.path is not None
        page = result.path.read_text(encoding="utf-8")
        for heading in ("Periods", "Static features", "Stability", "Benchmark challenger",
                        "Sensitivity", "SHAP contributions"):
            assert f"{heading}" in page, (task, heading)
        for name in static_features(task):
            assert f"<td>{name}</td>" in page
        assert page.count("<svg") >= 4
        mv = client.get_model_version_by_alias(f"patentrisk-{task}", "champion")
        logged = [a.path for a in client.list_artifacts(mv.run_id, REPORT_ARTIFACT_DIR)]
        assert f"{REPORT_ARTIFACT_DIR}/{REPORT_FILE}" in logged
        profile = ReferenceProfile.from_json(mlflow.artifacts.load_text(
            f"runs:/{mv.run_id}/{PROFILE_ARTIFACT}"))
        assert "score" in profile.variables
        assert profile.rows > 0
    for task in ("litigation", "liability", "default"):
        page = results[task].path.read_text(encoding="utf-8")  # type: ignore[union-attr]
        assert "Discrimination per period" in page
        assert "Calibration per grade" in page
        assert re.search(r"Jeffreys p", page)
    assert "Interval coverage per period" in results["value"].path.read_text()  # type: ignore[union-attr]
    # every model, the value quantiles included, carries the registry's monotone constraints,
    # so no sampled row moves against a registry direction
    for task in ("litigation", "liability", "default", "value"):
        assert "direction failures: 0" in results[task].headline, (task, results[task].headline)
    severity = results["severity"].path.read_text()  # type: ignore[union-attr]
    assert "Censoring of claim costs" in severity
    assert "Actual vs predicted by decile" in severity
