from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from features.pipelines import FeatureBlock, LeakageError
from features.settings import Settings
from models.loading import load_champions
from models.tasks import TASK_NAMES, task_spec
from tests.training.validation.report_checks import assert_validation_reports
from training.datasets import load_task_data
from training.evaluation import primary_score
from training.runs import train_tasks
from training.splits import task_split
from training.validation.runner import validate_tasks

pytestmark = pytest.mark.slow


def test_every_task_trains_end_to_end_and_serves_from_the_registry(
    world_settings: Settings,
) -> None:
    results = {r.task: r for r in train_tasks(world_settings, TASK_NAMES, trials=1)}
    assert {t: (r.status, r.reason)[0] for t, r in results.items()} == dict.fromkeys(
        TASK_NAMES, "trained"), {t: r.reason for t, r in results.items()}
    for task in ("litigation", "liability", "default"):
        m = results[task].metrics
        assert 0.5 < m["test_roc_auc"] <= 1.0
        assert m["oracle_test_roc_auc"] > 0.5
        assert m["test_roc_auc_vs_oracle"] == pytest.approx(
            m["test_roc_auc"] / m["oracle_test_roc_auc"])
    assert 0.5 <= results["value"].metrics["test_coverage_p10_p90"] <= 0.98
    assert results["severity"].metrics["test_cost_ratio"] > 0
    assert all(r.promoted for r in results.values())

    champions = load_champions(world_settings.resolved_tracking_uri)
    client = MlflowClient(world_settings.resolved_tracking_uri)
    for task in ("litigation", "value"):
        spec = task_spec(task)
        data = load_task_data(world_settings, spec)
        split = task_split(data.frame)
        test = data.frame.iloc[split.test]
        loaded = champions[task]
        assert loaded.feature_names == data.features
        frame = loaded.pyfunc.predict(test.loc[:, list(data.features)].reset_index(drop=True))
        logged = client.get_run(loaded.run_id).data.metrics[spec.primary_metric]
        assert primary_score(spec, test["label"].to_numpy(), frame) == pytest.approx(logged)
        shap = frame.filter(like="shap__").sum(axis=1) + frame["shap_base"]
        np.testing.assert_allclose(shap, frame["raw_score"], atol=1e-6)

    # the validation report of every champion, on the same trained store
    assert_validation_reports(world_settings, validate_tasks(world_settings, TASK_NAMES))


def test_a_feature_computed_after_the_as_of_date_fails_the_build(
    world_settings: Settings,
) -> None:
    leaky = FeatureBlock(
        entity="patent",
        # counts every suit on the patent, including those filed after the as-of date
        sql="SELECT t.patent_id, t.as_of, (SELECT count(*) FROM {cases} c "
            "WHERE c.patent_id = t.patent_id) AS all_time_suits FROM {targets} t",
        columns=("all_time_suits",),
    )
    with pytest.raises(LeakageError, match="all_time_suits"):
        load_task_data(world_settings, task_spec("litigation"), extra_blocks=[leaky])


def test_a_task_without_label_tables_is_skipped_with_the_reason(
    world_settings: Settings, tmp_path: Path, tiny_world: Path
) -> None:
    partial = tmp_path / "var" / "datasets" / "public"
    partial.mkdir(parents=True)
    for path in tiny_world.iterdir():
        if not path.name.startswith(("loans", "loan_patents")):
            shutil.copy(path, partial / path.name)
    settings = Settings(data_dir=world_settings.data_dir, dataset="public", train_trials=0)
    (result,) = train_tasks(settings, ["default"])
    assert result.status == "skipped"
    assert "loans" in result.reason
