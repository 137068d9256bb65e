"""The common base of the task estimators: parameters, validation rows, SHAP and persistence."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from models.boosting import (
    base_params,
    constraint_vector,
    explained_frame,
    feature_matrix,
    tree_contributions,
)

META_FILE = "meta.json"


class BoostedModel(BaseEstimator):
    """A LightGBM-based estimator following the scikit-learn contract (learned state ends in _)."""

    kind: ClassVar[str] = ""
    objective: ClassVar[str] = ""

    def _fit_inputs(
        self,
        X: pd.DataFrame,
        y: Sequence[float] | np.ndarray | pd.Series,
        X_valid: pd.DataFrame | None,
        y_valid: Sequence[float] | np.ndarray | pd.Series | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Matrices for training and validation; without validation rows, the last fifth of X."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame of feature columns, got {type(X)}")
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        y_arr = np.asarray(y, dtype=np.float64)
        if len(y_arr) != len(X):
            raise ValueError(f"y must have one value per row of X ({len(X)}), got {len(y_arr)}")
        if np.isnan(y_arr).any():
            raise ValueError("y must not contain NaN labels")
        matrix = feature_matrix(X, self.features_)
        if X_valid is None or y_valid is None:
            cut = int(len(X) * 0.8)
            return matrix[:cut], y_arr[:cut], matrix[cut:], y_arr[cut:]
        return matrix, y_arr, feature_matrix(X_valid, self.features_), np.asarray(
            y_valid, dtype=np.float64
        )

    @property
    def features_(self) -> list[str]:
        """Feature names in training order."""
        return [str(f) for f in self.feature_names_in_]

    def _params(self, objective: str, **extra: Any) -> dict[str, Any]:
        """LightGBM parameters from this estimator's hyper-parameters."""
        categorical = list(self.categorical or ())
        self.monotone_constraints_ = constraint_vector(
            self.features_, getattr(self, "monotone", None), categorical
        )
        params = base_params(
            objective, self.learning_rate, self.num_leaves, self.min_child_samples,
            self.feature_fraction, self.bagging_fraction, self.lambda_l2,
            self.monotone_constraints_, self.random_state, self.n_jobs,
        )
        return {**params, **extra}

    def _main_booster(self) -> lgb.Booster:
        """The booster whose raw score and SHAP values the model reports."""
        raise NotImplementedError

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact SHAP contributions (raw space) per feature plus `shap_base` for each row."""
        return self._explained(X, {})

    def _explained(
        self,
        X: pd.DataFrame,
        head: Mapping[str, np.ndarray],
        base_output: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """`head` columns, `shap_base` and `shap__*` (raw space), then `base_output` if given."""
        contrib = tree_contributions(self._main_booster(), feature_matrix(X, self.features_))
        return explained_frame(head, contrib, self.features_, X.index, base_output)

    def score_frame(self, X: pd.DataFrame, explain: bool = True) -> pd.DataFrame:
        """The model's contract output frame (predictions, raw_score, shap_base, shap__*)."""
        raise NotImplementedError

    # --- persistence: native LightGBM text files plus JSON, never pickles ---

    def _boosters(self) -> dict[str, lgb.Booster]:
        """Named boosters to persist as LightGBM text files."""
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        """Learned state beyond the boosters, as JSON-serialisable values."""
        return {}

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore learned state written by `_extra_state`."""

    def save(self, directory: Path) -> Path:
        """Write boosters (LightGBM text) and JSON metadata into `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, booster in self._boosters().items():
            booster.save_model(str(directory / f"{name}.txt"))
        meta = {
            "kind": self.kind,
            "params": _json_params(self.get_params()),
            "features": self.features_,
            "monotone_constraints": self.monotone_constraints_,
            "boosters": sorted(self._boosters()),
            "state": self._extra_state(),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))
        return directory

    @classmethod
    def _load(cls, directory: Path, meta: Mapping[str, Any]) -> BoostedModel:
        """Rebuild a fitted estimator of this class from a saved directory."""
        params = dict(meta["params"])
        if params.get("categorical") is not None:
            params["categorical"] = tuple(params["categorical"])
        obj = cls(**params)
        obj.feature_names_in_ = np.asarray(meta["features"], dtype=object)
        obj.n_features_in_ = len(obj.feature_names_in_)
        obj.monotone_constraints_ = list(meta["monotone_constraints"])
        boosters = {
            name: lgb.Booster(model_file=str(Path(directory) / f"{name}.txt"))
            for name in meta["boosters"]
        }
        obj._restore_boosters(boosters)
        obj._set_extra_state(meta["state"])
        return obj

    def _restore_boosters(self, boosters: Mapping[str, lgb.Booster]) -> None:
        """Attach boosters loaded from text files."""
        raise NotImplementedError


def _json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Hyper-parameters as JSON values (tuples become lists)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, Mapping):
            value = dict(value)
        out[key] = value
    return out
