"""The benchmark challenger: a sign-constrained linear model on the champion's own features.

A validator asks whether the boosted model earns its complexity: the same features in a linear
model whose coefficients obey the registry's directions (+1 never negative, -1 never positive)
is the scorecard-style benchmark. Classifiers get a logistic regression; severity a log-linear
regression with Duan's smearing for the mean; value a log-linear median with residual quantiles
for P10/P90. Missing values are imputed by the median with an unconstrained missing flag;
categorical codes are one-hot encoded (unconstrained).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import BaseEstimator

L2 = 1e-4
MIN_CATEGORY_SHARE = 0.01


class MonotoneLinearBenchmark(BaseEstimator):
    """Linear (logistic or least-squares on log y) model with registry sign constraints."""

    def __init__(
        self,
        kind: str = "classifier",
        monotone: Mapping[str, int] | None = None,
        categorical: Sequence[str] = (),
    ) -> None:
        self.kind = kind
        self.monotone = monotone
        self.categorical = categorical

    def _design(self, X: pd.DataFrame) -> np.ndarray:
        """The standardised design matrix (numeric, missing flags, one-hot codes)."""
        cols = []
        for name in self.numeric_:
            x = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
            miss = np.isnan(x)
            lo, hi, med, sd = self.scaling_[name]
            z = (np.clip(np.where(miss, med, x), lo, hi) - med) / sd
            cols.append(z)
            if name in self.flagged_:
                cols.append(miss.astype(np.float64))
        for name, codes in self.codes_.items():
            x = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
            cols += [(x == c).astype(np.float64) for c in codes]
        return np.column_stack(cols) if cols else np.zeros((len(X), 0))

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> MonotoneLinearBenchmark:
        """Fit the constrained coefficients by L-BFGS-B."""
        if self.kind not in ("classifier", "severity", "value"):
            raise ValueError(f"kind must be classifier, severity or value, got {self.kind!r}")
        cats = set(self.categorical)
        monotone = dict(self.monotone or {})
        self.numeric_ = [c for c in X.columns if c not in cats]
        self.scaling_, self.flagged_, self.codes_ = {}, set(), {}
        bounds: list[tuple[float | None, float | None]] = []
        for name in self.numeric_:
            x = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
            present = x[~np.isnan(x)]
            if len(present) == 0:
                present = np.zeros(1)
            lo, hi = np.percentile(present, [1, 99])
            med = float(np.median(present))
            sd = float(np.std(np.clip(present, lo, hi))) or 1.0
            self.scaling_[name] = (float(lo), float(hi), med, sd)
            d = int(monotone.get(name, 0))
            bounds.append((0.0, None) if d > 0 else (None, 0.0) if d < 0 else (None, None))
            if np.isnan(x).any():
                self.flagged_.add(name)
                bounds.append((None, None))
        for name in X.columns:
            if name in cats:
                x = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
                codes, n = np.unique(x[~np.isnan(x)], return_counts=True)
                kept = [float(c) for c, k in zip(codes, n, strict=True)
                        if k >= MIN_CATEGORY_SHARE * len(x)]
                self.codes_[name] = kept[1:]  # the first kept code is the reference level
                bounds += [(None, None)] * len(kept[1:])
        A = self._design(X)
        A = np.column_stack([np.ones(len(A)), A])
        bounds = [(None, None), *bounds]
        y = np.asarray(y, dtype=np.float64)
        target = y if self.kind == "classifier" else np.log(y)
        w0 = np.zeros(A.shape[1])
        w0[0] = (np.log(target.mean() / (1 - target.mean())) if self.kind == "classifier"
                 else target.mean())
        result = minimize(_loss, w0, args=(A, target, self.kind == "classifier"), jac=True,
                          method="L-BFGS-B", bounds=bounds, options={"maxiter": 500})
        self.coef_ = result.x
        self.converged_ = bool(result.success)
        if self.kind != "classifier":
            resid = target - A @ self.coef_
            self.smearing_ = float(np.mean(np.exp(resid)))
            self.residual_quantiles_ = {q: float(np.quantile(resid, a))
                                        for q, a in (("p10", 0.1), ("p90", 0.9))}
        return self

    def linear(self, X: pd.DataFrame) -> np.ndarray:
        """The linear predictor per row (log-odds or log value)."""
        A = self._design(X)
        out: np.ndarray = self.coef_[0] + A @ self.coef_[1:]
        return out

    def score_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """Output columns in the champion's contract names (`probability`, `expected_cost`, ...)."""
        z = self.linear(X)
        if self.kind == "classifier":
            return pd.DataFrame({"probability": 1 / (1 + np.exp(-z)), "raw_score": z},
                                index=X.index)
        if self.kind == "severity":
            return pd.DataFrame({"expected_cost": np.exp(z) * self.smearing_, "raw_score": z},
                                index=X.index)
        return pd.DataFrame({
            "p10": np.exp(z + self.residual_quantiles_["p10"]), "p50": np.exp(z),
            "p90": np.exp(z + self.residual_quantiles_["p90"]), "raw_score": z,
        }, index=X.index)


def _loss(w: np.ndarray, A: np.ndarray, y: np.ndarray, logistic: bool) -> tuple[float, np.ndarray]:
    """Mean loss and gradient (logistic or squared) with a light ridge on the slopes."""
    z = A @ w
    if logistic:
        loss = np.mean(np.logaddexp(0.0, z) - y * z)
        g = A.T @ (1 / (1 + np.exp(-z)) - y) / len(y)
    else:
        r = z - y
        loss = 0.5 * np.mean(r * r)
        g = A.T @ r / len(y)
    reg = w.copy()
    reg[0] = 0.0
    return float(loss + 0.5 * L2 * reg @ reg), g + L2 * reg
