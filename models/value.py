"""`ValueQuantileModel`: P10/P50/P90 of patent value from LightGBM quantile boosters in log space.

Each quantile gets its own booster on log(price). The P10 and P90 are then shifted by
conformal offsets measured on the validation period (the finite-sample (n + 1) ranks, so that at
most 10 % of new prices fall below P10 and 10 % above P90), and finally clipped around the P50
so quantiles never cross.

LightGBM refuses monotone constraints with its own quantile objective, because it re-sets each
leaf to a quantile of the leaf's residuals after the tree is grown, which can undo the order the
constraint imposed. The boosters therefore train on a smoothed pinball loss given as a custom
objective (gradient and Hessian, no leaf re-setting), so the registry's directions constrain
value as they constrain the classifiers. Each booster starts from its quantile of the training
labels (a custom objective gets no starting score from LightGBM), kept in `centers_`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin

from models.base import BoostedModel
from models.boosting import (
    BASE_OUTPUT,
    SHAP_BASE,
    SHAP_PREFIX,
    feature_matrix,
    raw_scores,
    train_booster,
)

QUANTILES: dict[str, float] = {"p10": 0.10, "p50": 0.50, "p90": 0.90}
# The pinball loss is smoothed (quadratic) within this many log units of the prediction, a tenth
# of a price; beyond it the Hessian keeps this share of its value inside, so that a leaf whose
# rows all lie in the tails moves by a bounded Newton step (10 x the band, before the learning
# rate) instead of an unbounded one. On the 50k world's test period the pinball losses stay
# within 2 % of LightGBM's own quantile objective.
PINBALL_BAND = 0.1
TAIL_CURVATURE = 0.1

Objective = Callable[[np.ndarray, lgb.Dataset], tuple[np.ndarray, np.ndarray]]


def smoothed_pinball(alpha: float) -> Objective:
    """LightGBM objective: gradient and Hessian of the pinball loss at `alpha`, smoothed near 0."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")

    def objective(preds: np.ndarray, data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        residual = np.asarray(data.get_label(), dtype=np.float64) - preds
        weight = np.where(residual >= 0, alpha, 1.0 - alpha)
        grad = -weight * np.clip(residual / PINBALL_BAND, -1.0, 1.0)
        inside = np.abs(residual) <= PINBALL_BAND
        hess = weight / PINBALL_BAND * np.where(inside, 1.0, TAIL_CURVATURE)
        return grad, hess

    return objective


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
    """Monotone quantile boosters (P10, P50, P90) of log value, conformal, non-crossing."""

    kind = "value"

    def __init__(
        self,
        monotone: Mapping[str, int] | None = None,
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
        """Fit a monotone quantile booster per level on log(price), then the validation offsets."""
        Xt, yt, Xv, yv = self._fit_inputs(X, y, X_valid, y_valid)
        for name, labels in (("y", yt), ("y_valid", yv)):
            if (labels <= 0).any():
                raise ValueError(f"{name} (price) must be > 0 to model value in log space")
        lt, lv = np.log(yt), np.log(yv)
        self.boosters_ = {}
        self.offsets_ = {}
        self.centers_ = {}
        for name, alpha in QUANTILES.items():
            center = float(np.quantile(lt, alpha))
            params = self._params("quantile", alpha=alpha, metric="quantile")
            params["objective"] = smoothed_pinball(alpha)
            booster = train_booster(
                params, Xt, lt - center, Xv, lv - center, self.features_,
                list(self.categorical or ()), self.n_estimators, self.early_stopping_rounds,
            )
            self.boosters_[name] = booster
            self.centers_[name] = center
            shift = conformal_offset(lv - center - raw_scores(booster, Xv), alpha)
            self.offsets_[name] = shift if self.conformal and name != "p50" else 0.0
        return self

    def log_quantiles(self, X: pd.DataFrame) -> pd.DataFrame:
        """Non-crossing log-value quantiles `p10`, `p50`, `p90` per row."""
        matrix = feature_matrix(X, self.features_)
        q = {
            name: raw_scores(self.boosters_[name], matrix) + self.centers_[name]
            + self.offsets_[name]
            for name in QUANTILES
        }
        q["p10"] = np.minimum(q["p10"], q["p50"])
        q["p90"] = np.maximum(q["p90"], q["p50"])
        return pd.DataFrame(q, index=X.index)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Median (P50) value per row."""
        p50: np.ndarray = np.exp(self.log_quantiles(X)["p50"].to_numpy())
        return p50

    def score_frame(self, X: pd.DataFrame, explain: bool = True) -> pd.DataFrame:
        """Contract output: `p10`, `p50`, `p90`, `raw_score` (log P50), `shap_base`, `shap__*`.

        Plus `base_output`: the P50 value with every contribution removed. `explain=False`
        returns only the quantiles and `raw_score` (tree SHAP costs far more than scoring).
        """
        logq = self.log_quantiles(X)
        out = pd.DataFrame(np.exp(logq.to_numpy()), index=logq.index, columns=logq.columns)
        out["raw_score"] = logq["p50"]
        if not explain:
            return out
        frame = pd.concat([out, self.contributions(X)], axis=1)
        shap = frame.filter(like=SHAP_PREFIX).to_numpy().sum(axis=1)
        frame[BASE_OUTPUT] = np.exp(logq["p50"].to_numpy() - shap)
        return frame

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact SHAP contributions of the P50 booster; `shap_base` includes its starting value."""
        frame = super().contributions(X)
        frame[SHAP_BASE] = frame[SHAP_BASE] + self.centers_["p50"]
        return frame

    def _main_booster(self) -> lgb.Booster:
        return self.boosters_["p50"]

    def _boosters(self) -> dict[str, lgb.Booster]:
        return {f"booster_{name}": b for name, b in self.boosters_.items()}

    def _restore_boosters(self, boosters: Mapping[str, lgb.Booster]) -> None:
        self.boosters_ = {name.removeprefix("booster_"): b for name, b in boosters.items()}

    def _extra_state(self) -> dict[str, dict[str, float]]:
        return {"offsets": dict(self.offsets_), "centers": dict(self.centers_)}

    def _set_extra_state(self, state: Mapping[str, dict[str, float]]) -> None:
        self.offsets_ = {k: float(v) for k, v in state["offsets"].items()}
        # versions saved before the custom objective start from LightGBM's own average (0 here)
        centers = state.get("centers", {})
        self.centers_ = {k: float(centers.get(k, 0.0)) for k in QUANTILES}
