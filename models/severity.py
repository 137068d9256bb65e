"""`SeverityRegressor`: gamma-deviance LightGBM (log link) for the cost of a claim.

Why gamma: claim costs given a claim are strictly positive and right-skewed with noise that
grows with the mean (multiplicative), which is the gamma variance function V(mu) = mu^2. With the
log link the booster models log E[cost] directly, so `expected_cost` needs no retransformation
(a log-normal fit would need a smearing correction that breaks if the residual spread varies),
and Tweedie's point mass at zero is not needed because a claim has happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin

from models.base import BoostedModel
from models.boosting import feature_matrix, raw_scores, train_booster


class SeverityRegressor(RegressorMixin, BoostedModel):
    """Gamma regression (log link) of claim cost with monotone constraints and early stopping."""

    kind = "severity"

    def __init__(
        self,
        monotone: Mapping[str, int] | None = None,
        categorical: Sequence[str] | None = None,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        feature_fraction: float = 0.9,
        bagging_fraction: float = 0.8,
        lambda_l2: float = 1.0,
        n_estimators: int = 600,
        early_stopping_rounds: int = 40,
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
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(
        self,
        X: pd.DataFrame,
        y: Sequence[float] | np.ndarray | pd.Series,
        X_valid: pd.DataFrame | None = None,
        y_valid: Sequence[float] | np.ndarray | pd.Series | None = None,
    ) -> SeverityRegressor:
        """Fit the gamma booster with early stopping on the validation rows."""
        Xt, yt, Xv, yv = self._fit_inputs(X, y, X_valid, y_valid)
        for name, labels in (("y", yt), ("y_valid", yv)):
            if (labels <= 0).any():
                raise ValueError(f"{name} (claim cost) must be > 0 for a gamma model")
        self.booster_ = train_booster(
            self._params("gamma", metric="gamma_deviance"), Xt, yt, Xv, yv, self.features_,
            list(self.categorical or ()), self.n_estimators, self.early_stopping_rounds,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.num_trees())
        return self

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Log of the expected cost per row."""
        return raw_scores(self.booster_, feature_matrix(X, self.features_))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected claim cost per row."""
        cost: np.ndarray = np.exp(self.raw_score(X))
        return cost

    def score_frame(self, X: pd.DataFrame, explain: bool = True) -> pd.DataFrame:
        """Contract output: `expected_cost`, `raw_score`, `shap_base`, `shap__*`, `base_output`.

        `base_output` is the expected cost at the SHAP base value (the log link's exp).
        `explain=False` returns only `expected_cost` and `raw_score` (tree SHAP costs far more
        than scoring).
        """
        raw = self.raw_score(X)
        head = {"expected_cost": np.exp(raw), "raw_score": raw}
        if not explain:
            return pd.DataFrame(head, index=X.index)
        return self._explained(X, head, np.exp)

    def _main_booster(self) -> lgb.Booster:
        return self.booster_

    def _boosters(self) -> dict[str, lgb.Booster]:
        return {"booster": self.booster_}

    def _restore_boosters(self, boosters: Mapping[str, lgb.Booster]) -> None:
        self.booster_ = boosters["booster"]

    def _extra_state(self) -> dict[str, int]:
        return {"best_iteration": self.best_iteration_}

    def _set_extra_state(self, state: Mapping[str, int]) -> None:
        self.best_iteration_ = int(state["best_iteration"])
