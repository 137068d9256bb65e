"""`ValueQuantileModel`: P10/P50/P90 of patent value from LightGBM quantile boosters in log space.

Each quantile gets its own booster on log(price). The P10 and P90 are then shifted by
conformal offsets measured on the validation period (the finite-sample (n + 1) ranks, so that at
most 10 % of new prices fall below P10 and 10 % above P90), and finally clipped around the P50
so quantiles never cross.
LightGBM refuses monotone constraints with the quantile objective, so this model has none; the
model card says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin

from models.base import BoostedModel
from models.boosting import BASE_OUTPUT, SHAP_PREFIX, feature_matrix, raw_scores, train_booster

QUANTILES: dict[str, float] = {"p10": 0.10, "p50": 0.50, "p90": 0.90}


def conformal_offset(residuals: np.ndarray, alpha: float) -> float:
    """Split-conformal shift of a quantile booster so that P(y <= q + shift) holds alpha.

    With n calibration residuals the finite-sample guarantee needs the ceil((n + 1) alpha)-th
    smallest residual for an upper quantile, and the floor((n + 1) alpha)-th for a lower one
    (Romano, Patterson & Candes, "Conformalized quantile regression", NeurIPS 2019); the plain
    empirical quantile undercovers by about 1 / n on each side. Too few residuals for the rank
    leave the extreme residual.
    """
    r = np.sort(np.asarray(residuals, dtype=np.float64))
    n = len(r)
    if n == 0:
        raise ValueError("residuals must hold at least one value")
    if alpha >= 0.5:
        k = int(np.ceil((n + 1) * alpha))
    else:
        k = int(np.floor((n + 1) * alpha))
    return float(r[min(max(k, 1), n) - 1])


class ValueQuantileModel(RegressorMixin, BoostedModel):
    """Three quantile boosters (P10, P50, P90) of log value, conformally adjusted, non-crossing."""

    kind = "value"

    def __init__(
        self,
        categorical: Sequence[str] | None = None,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        feature_fraction: float = 0.9,
        bagging_fraction: float = 0.8,
        lambda_l2: float = 1.0,
        n_estimators: int = 600,
        early_stopping_rounds: int = 40,
        conformal: bool = True,
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.categorical = categorical
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.lambda_l2 = lambda_l2
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.conformal = conformal
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(
        self,
        X: pd.DataFrame,
        y: Sequence[float] | np.ndarray | pd.Series,
        X_valid: pd.DataFrame | None = None,
        y_valid: Sequence[float] | np.ndarray | pd.Series | None = None,
    ) -> ValueQuantileModel:
        """Fit one quantile booster per level on log(price), then the validation offsets."""
        Xt, yt, Xv, yv = self._fit_inputs(X, y, X_valid, y_valid)
        for name, labels in (("y", yt), ("y_valid", yv)):
            if (labels <= 0).any():
                raise ValueError(f"{name} (price) must be > 0 to model value in log space")
        lt, lv = np.log(yt), np.log(yv)
        self.boosters_ = {}
        self.offsets_ = {}
        for name, alpha in QUANTILES.items():
            booster = train_booster(
                self._params("quantile", alpha=alpha, metric="quantile"), Xt, lt, Xv, lv,
                self.features_, list(self.categorical or ()), self.n_estimators,
                self.early_stopping_rounds,
            )
            self.boosters_[name] = booster
            shift = conformal_offset(lv - raw_scores(booster, Xv), alpha)
            self.offsets_[name] = shift if self.conformal and name != "p50" else 0.0
        return self

    def log_quantiles(self, X: pd.DataFrame) -> pd.DataFrame:
        """Non-crossing log-value quantiles `p10`, `p50`, `p90` per row."""
        matrix = feature_matrix(X, self.features_)
        q = {
            name: raw_scores(self.boosters_[name], matrix) + self.offsets_[name]
            for name in QUANTILES
        }
        q["p10"] = np.minimum(q["p10"], q["p50"])
        q["p90"] = np.maximum(q["p90"], q["p50"])
        return pd.DataFrame(q, index=X.index)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Median (P50) value per row."""
        p50: np.ndarray = np.exp(self.log_quantiles(X)["p50"].to_numpy())
        return p50

    def score_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Contract output: `p10`, `p50`, `p90`, `raw_score` (log P50), `shap_base`, `shap__*`.

        Plus `base_output`: the P50 value with every contribution removed.
        """
        logq = self.log_quantiles(X)
        out = pd.DataFrame(np.exp(logq.to_numpy()), index=logq.index, columns=logq.columns)
        out["raw_score"] = logq["p50"]
        frame = pd.concat([out, self.contributions(X)], axis=1)
        shap = frame.filter(like=SHAP_PREFIX).to_numpy().sum(axis=1)
        frame[BASE_OUTPUT] = np.exp(logq["p50"].to_numpy() - shap)
        return frame

    def _main_booster(self) -> lgb.Booster:
        return self.boosters_["p50"]

    def _boosters(self) -> dict[str, lgb.Booster]:
        return {f"booster_{name}": b for name, b in self.boosters_.items()}

    def _restore_boosters(self, boosters: Mapping[str, lgb.Booster]) -> None:
        self.boosters_ = {name.removeprefix("booster_"): b for name, b in boosters.items()}

    def _extra_state(self) -> dict[str, dict[str, float]]:
        return {"offsets": dict(self.offsets_)}

    def _set_extra_state(self, state: Mapping[str, dict[str, float]]) -> None:
        self.offsets_ = {k: float(v) for k, v in state["offsets"].items()}
