from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from features.registry import task_features
from features.settings import Settings
from models.classifier import RiskClassifier
from models.loading import ChampionMissingError, _conforms, load_champions, predict_frame
from models.pyfunc import log_pyfunc
from models.tasks import task_spec
from training.datasets import TaskData
from training.runs import configure_mlflow, ensure_experiment, train_on_data


def _litigation_data(root: str, n: int = 4000, seed: int = 0) -> TaskData:
    """Snapshots shaped like the contract, with the risk driven by the first two features."""
    rng = np.random.default_rng(seed)
    names = task_features("litigation")
    X = pd.DataFrame(rng.normal(size=(n, len(names))), columns=names)
    truth = 1.0 / (1.0 + np.exp(-(-2.5 + 1.5 * X[names[0]] + 0.8 * X[names[1]])))
    frame = pd.DataFrame({
        "entity_id": [f"P{i}" for i in range(n)],
        "as_of": pd.to_datetime(rng.choice([f"{y}-12-31" for y in range(2014, 2022)], n)),
        "label": (rng.random(n) < truth).astype(float),
        "truth": truth,
    })
    frame = pd.concat([frame, X], axis=1).sort_values("as_of").reset_index(drop=True)
    return TaskData("litigation", frame, tuple(names), "fp-test", "world", "synthetic",
                    "2022-12-31", root)


@pytest.mark.slow
def test_gate_refuses_a_deliberately_worse_model(mlflow_settings: Settings) -> None:
    client = configure_mlflow(mlflow_settings)
    data = _litigation_data(str(mlflow_settings.data_dir))
    spec = task_spec("litigation")
    good = train_on_data(mlflow_settings, client, spec, data, fixed_params={"n_estimators": 150})
    assert good.promoted
    assert good.reason == "no champion yet"
    worse = train_on_data(mlflow_settings, client, spec, data,
                          fixed_params={"n_estimators": 1, "num_leaves": 2})
    assert worse.promoted is False
    assert worse.metrics["test_roc_auc"] < good.metrics["test_roc_auc"]
    assert "worse than champion v1" in worse.reason
    name = spec.registered_name
    assert str(client.get_model_version_by_alias(name, "champion").version) == good.version
    assert str(client.get_model_version_by_alias(name, "challenger").version) == worse.version
    again = train_on_data(mlflow_settings, client, spec, data, fixed_params={"n_estimators": 150})
    assert again.promoted  # equal on the same test rows is "at least as good"
    assert str(client.get_model_version_by_alias(name, "champion").version) == again.version
    run = client.get_run(worse.run_id)
    assert run.data.tags["gate_alias"] == "challenger"
    assert {"test_roc_auc", "oracle_test_roc_auc", "test_roc_auc_vs_oracle", "test_ece"} <= set(
        run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(worse.run_id)}
    assert {"model_card.md", "plots"} <= artifacts


def test_registered_pyfunc_scores_exactly_like_the_estimator(mlflow_settings: Settings) -> None:
    client = configure_mlflow(mlflow_settings)
    data = _litigation_data(str(mlflow_settings.data_dir), n=2000, seed=1)
    X, y = data.frame.loc[:, list(data.features)], data.frame["label"].to_numpy()
    model = RiskClassifier(n_estimators=60).fit(X[:1200], y[:1200], X[1200:1600], y[1200:1600])
    spec = task_spec("litigation")
    with pytest.raises(ChampionMissingError, match="patentrisk-litigation@champion"):
        load_champions(mlflow_settings.resolved_tracking_uri, ["litigation"])
    with mlflow.start_run(experiment_id=ensure_experiment(client, mlflow_settings, spec)):
        info = log_pyfunc(model, X.head(5), registered_model_name=spec.registered_name)
    client.set_registered_model_alias(spec.registered_name, "champion",
                                      info.registered_model_version)
    loaded = load_champions(mlflow_settings.resolved_tracking_uri, ["litigation"])["litigation"]
    assert loaded.version == str(info.registered_model_version)
    assert loaded.feature_names == data.features
    expected = model.score_frame(X[1600:]).reset_index(drop=True)
    got = loaded.pyfunc.predict(X[1600:].reset_index(drop=True))
    pd.testing.assert_frame_equal(got, expected)
    # A frame already in the signature's form skips MLflow's input check: the same answer.
    conforming = X[1600:].astype("float64").reset_index(drop=True)
    assert _conforms(loaded.pyfunc, conforming)
    pd.testing.assert_frame_equal(predict_frame(loaded.pyfunc, conforming), expected)
    # Any other frame (columns reordered) takes MLflow's checked predict, also the same answer.
    reordered = conforming.loc[:, list(reversed(conforming.columns))]
    assert not _conforms(loaded.pyfunc, reordered)
    pd.testing.assert_frame_equal(predict_frame(loaded.pyfunc, reordered), expected)
    assert mlflow_settings.resolved_artifact_root.startswith("file://")
    assert client.get_experiment_by_name(spec.registered_name).artifact_location.startswith(
        mlflow_settings.resolved_artifact_root)
