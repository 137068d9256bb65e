"""MLflow models-from-code entry point: MLflow runs this file to build the pyfunc (no pickle).

It is executed by `mlflow.pyfunc.log_model` / `load_model`, never imported by the package.
"""

from __future__ import annotations

from mlflow.models import set_model

from models.pyfunc import PatentRiskModel

set_model(PatentRiskModel())
