"""`RiskClassifier`: monotone LightGBM classifier calibrated on the validation period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin

from models.base import BoostedModel
from models.boosting import feature_matrix, raw_scores, train_booster
from models.calibration import ScoreCalibrator


class RiskClassifier(ClassifierMixin, BoostedModel):
    """Binary LightGBM with monotone constraints, early stopping and isotonic/Platt calibration."""

    kind = "classifier"

    def __init__(
        self,
        monotone: Mapping[str, int] | None = None,
        categorical: Sequence[str] | None = None,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 100,
        feature_fraction: float = 0.9,
        bagging_fraction: float = 0.8,
        lambda_l2: float = 1.0,
        n_estimators: int = 600,
        early_stopping_rounds: int = 40,
        calibration: str = "auto",
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.monotone = monotone
        self.categorical = categorical
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.lambda_l2 = lambda_l2
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(
        self,
        X: pd.DataFrame,
        y: Sequence[float] | np.ndarray | pd.Series,
        X_valid: pd.DataFrame | None = None,
        y_valid: Sequence[float] | np.ndarray | pd.Series | None = None,
    ) -> RiskClassifier:
        """Fit the booster (early stopping on the validation rows), then calibrate on them."""
        Xt, yt, Xv, yv = self._fit_inputs(X, y, X_valid, y_valid)
        for name, labels in (("y", yt), ("y_valid", yv)):
            if not np.isin(labels, (0.0, 1.0)).all() or len(np.unique(labels)) < 2:
                raise ValueError(f"{name} must hold both classes 0 and 1 and nothing else")
        self.classes_ = np.array([0, 1])
        self.booster_ = train_booster(
            self._params("binary", metric="auc"), Xt, yt, Xv, yv, self.features_,
            list(self.categorical or ()), self.n_estimators, self.early_stopping_rounds,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.num_trees())
        self.calibrator_ = ScoreCalibrator(self.calibration, random_state=self.random_state).fit(
            raw_scores(self.booster_, Xv), yv
        )
        return self

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Booster log-odds per row (before calibration)."""
        return raw_scores(self.booster_, feature_matrix(X, self.features_))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities, shape (n, 2)."""
        p = self.calibrator_.predict(self.raw_score(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class label 1 where the calibrated probability is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def score_frame(self, X: pd.DataFrame, explain: bool = True) -> pd.DataFrame:
        """Contract output: `probability`, `raw_score`, `shap_base`, `shap__*`, `base_output`.

        `base_output` is the calibrated probability at the SHAP base value, from which the
        explanation expresses each reason's effect on the probability the user reads.
        `explain=False` returns only `probability` and `raw_score` (tree SHAP costs far more
        than scoring).
        """
        raw = self.raw_score(X)
        head = {"probability": self.calibrator_.predict(raw), "raw_score": raw}
        if not explain:
            return pd.DataFrame(head, index=X.index)
        return self._explained(X, head, self.calibrator_.predict)

    def _main_booster(self) -> lgb.Booster:
        return self.booster_

    def _boosters(self) -> dict[str, lgb.Booster]:
        return {"booster": self.booster_}

    def _restore_boosters(self, boosters: Mapping[str, lgb.Booster]) -> None:
        self.booster_ = boosters["booster"]
        self.classes_ = np.array([0, 1])

    def _extra_state(self) -> dict[str, Any]:
        return {"calibrator": self.calibrator_.to_dict(), "best_iteration": self.best_iteration_}

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        self.calibrator_ = ScoreCalibrator.from_dict(state["calibrator"])
        self.best_iteration_ = int(state["best_iteration"])
