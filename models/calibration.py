"""Probability calibration of raw booster scores: isotonic or Platt, chosen by Brier score.

The calibrator is fitted on the validation period (never the training rows, whose scores are
optimistic) and serialises to plain JSON, so no pickle travels with the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

METHODS = ("isotonic", "platt")


class ScoreCalibrator(BaseEstimator):
    """Map raw log-odds to calibrated probabilities with isotonic or Platt scaling."""

    def __init__(self, method: str = "auto", cv: int = 5, random_state: int = 0) -> None:
        self.method = method
        self.cv = cv
        self.random_state = random_state

    def fit(self, raw: np.ndarray, y: np.ndarray) -> ScoreCalibrator:
        """Choose the method by cross-validated Brier score (when `auto`) and fit it on all rows."""
        if self.method not in (*METHODS, "auto"):
            raise ValueError(f"method must be one of {[*METHODS, 'auto']}, got {self.method!r}")
        raw = np.asarray(raw, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if len(np.unique(y)) < 2:
            raise ValueError("calibration labels must contain both classes, got one")
        self.cv_brier_ = self._cv_brier(raw, y) if self.method == "auto" else {}
        self.method_ = (
            min(self.cv_brier_, key=self.cv_brier_.__getitem__)
            if self.method == "auto"
            else self.method
        )
        self.state_ = _fit_method(self.method_, raw, y)
        return self

    def _cv_brier(self, raw: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Out-of-fold Brier score of each method on the calibration rows."""
        n_splits = int(min(self.cv, np.bincount(y.astype(int)).min()))
        if n_splits < 2:
            return {"platt": 0.0, "isotonic": 1.0}
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
        oof = {m: np.zeros_like(raw) for m in METHODS}
        for fit_idx, eval_idx in folds.split(raw.reshape(-1, 1), y):
            for m in METHODS:
                state = _fit_method(m, raw[fit_idx], y[fit_idx])
                oof[m][eval_idx] = _apply(state, raw[eval_idx])
        return {m: float(brier_score_loss(y, oof[m])) for m in METHODS}

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw scores."""
        return _apply(self.state_, np.asarray(raw, dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state of the fitted calibrator."""
        return dict(self.state_)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ScoreCalibrator:
        """Rebuild a fitted calibrator from `to_dict` output."""
        method = state.get("method")
        if method not in METHODS:
            raise ValueError(f"calibrator.method must be one of {list(METHODS)}, got {method!r}")
        obj = cls(method=method)
        obj.method_ = method
        obj.cv_brier_ = {}
        obj.state_ = dict(state)
        return obj


def _fit_method(method: str, raw: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Fit one calibration method and return its JSON state."""
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        return {
            "method": "isotonic",
            "x": iso.X_thresholds_.tolist(),
            "y": iso.y_thresholds_.tolist(),
        }
    lr = LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)
    return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def _apply(state: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    """Apply a calibration state to raw scores."""
    if state["method"] == "isotonic":
        # np.interp clips outside the threshold range, as IsotonicRegression(out_of_bounds="clip")
        clipped: np.ndarray = np.interp(raw, np.asarray(state["x"]), np.asarray(state["y"]))
        return clipped
    z = state["a"] * raw + state["b"]
    platt: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return platt
