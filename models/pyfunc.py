"""The MLflow pyfunc wrapper: native LightGBM boosters + JSON calibrator in, contract frame out."""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import log_model
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from models.base import BoostedModel
from models.persistence import load_estimator, save_estimator

MODEL_DIR_ARTIFACT = "model_dir"
PINNED_PACKAGES = ("lightgbm", "scikit-learn", "pandas", "numpy", "mlflow")


class PatentRiskModel(PythonModel):
    """Pyfunc that rebuilds a task estimator from its artifacts and returns the contract frame."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load the boosters (LightGBM text) and the calibrator/offsets (JSON) from artifacts."""
        self.estimator = load_estimator(Path(context.artifacts[MODEL_DIR_ARTIFACT]))

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Predictions, raw score and SHAP contributions for each input row."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.score(frame)

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The contract frame of `frame` (what `predict` returns once MLflow checked its input)."""
        return self.estimator.score_frame(frame).reset_index(drop=True)


def pip_requirements() -> list[str]:
    """Pinned requirements of the pyfunc (avoids MLflow's slow requirement inference)."""
    return [f"{name}=={version(name)}" for name in PINNED_PACKAGES]


def log_pyfunc(
    estimator: BoostedModel,
    input_example: pd.DataFrame,
    registered_model_name: str | None = None,
    name: str = "model",
) -> ModelInfo:
    """Log `estimator` as a pyfunc model in the active run, with signature and input example."""
    example = input_example.loc[:, estimator.features_].astype("float64").reset_index(drop=True)
    signature = infer_signature(example, estimator.score_frame(example))
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_estimator(estimator, Path(tmp) / "estimator")
        info: ModelInfo = log_model(
            name=name,
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            registered_model_name=registered_model_name,
        )
        return info
