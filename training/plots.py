"""Diagnostic figures logged with each run (matplotlib object API, Agg canvas, no pyplot)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from models.boosting import SHAP_PREFIX


def blank_figure(width: float = 6.0, height: float = 4.5) -> Figure:
    """A figure drawn on an Agg canvas (no display, no global pyplot state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def shap_summary_figure(contributions: pd.DataFrame, X: pd.DataFrame, top: int = 15) -> Figure:
    """Beeswarm-style SHAP summary: per feature, contributions coloured by the feature's value."""
    shap_cols = [c for c in contributions.columns if c.startswith(SHAP_PREFIX)]
    importance = contributions[shap_cols].abs().mean().sort_values(ascending=False).head(top)
    fig = blank_figure(7.0, 0.35 * len(importance) + 1.5)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    scatter = None
    for pos, col in enumerate(reversed(importance.index)):
        values = contributions[col].to_numpy()
        raw = X[col.removeprefix(SHAP_PREFIX)].to_numpy(dtype=np.float64)
        lo, hi = np.nanpercentile(raw, [5, 95]) if np.isfinite(raw).any() else (0.0, 1.0)
        colour = np.clip((raw - lo) / (hi - lo), 0, 1) if hi > lo else np.full(len(raw), 0.5)
        jitter = rng.uniform(-0.3, 0.3, len(values))
        scatter = ax.scatter(values, pos + jitter, c=colour, cmap="coolwarm", s=4, alpha=0.6,
                             vmin=0, vmax=1, rasterized=True)
    ax.set_yticks(range(len(importance)))
    ax.set_yticklabels([c.removeprefix(SHAP_PREFIX) for c in reversed(importance.index)])
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("SHAP contribution (raw score)")
    ax.set_title("SHAP summary (test period)")
    if scatter is not None:
        fig.colorbar(scatter, ax=ax, label="feature value (low to high)")
    return fig


def calibration_points(
    y: np.ndarray, p: np.ndarray, truth: np.ndarray | None = None, bins: int = 10
) -> dict[str, dict[str, list[float]]]:
    """Reliability curve points (quantile bins) of the model and of the oracle where known.

    Logged as `calibration.json` so the console draws the same curve as an SVG chart.
    """
    out: dict[str, dict[str, list[float]]] = {}
    for label, probs in (("model", p), ("oracle", truth)):
        if probs is None or np.isnan(probs).all():
            continue
        keep = ~np.isnan(np.asarray(probs, dtype=np.float64))
        frac, mean = calibration_curve(np.asarray(y)[keep], np.asarray(probs)[keep],
                                       n_bins=bins, strategy="quantile")
        out[label] = {"predicted": [float(v) for v in mean], "observed": [float(v) for v in frac]}
    return out


def calibration_figure(y: np.ndarray, p: np.ndarray, truth: np.ndarray | None = None) -> Figure:
    """Reliability diagram (quantile bins) of the model and, where known, of the oracle."""
    fig = blank_figure()
    ax = fig.add_subplot()
    top = 0.0
    for label, probs in (("model", p), ("oracle", truth)):
        if probs is None or np.isnan(probs).all():
            continue
        frac, mean = calibration_curve(y, probs, n_bins=10, strategy="quantile")
        ax.plot(mean, frac, marker="o", label=label)
        top = max(top, float(np.max(mean)), float(np.max(frac)))
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed event rate")
    ax.set_title("Calibration (test period)")
    ax.legend()
    return fig


def roc_figure(y: np.ndarray, p: np.ndarray, truth: np.ndarray | None = None) -> Figure:
    """ROC curve of the model and, where known, of the oracle."""
    fig = blank_figure()
    ax = fig.add_subplot()
    for label, probs in (("model", p), ("oracle", truth)):
        if probs is None or np.isnan(probs).all():
            continue
        fpr, tpr, _ = roc_curve(y, probs)
        ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC (test period)")
    ax.legend()
    return fig


def actual_vs_predicted_figure(y: np.ndarray, frame: pd.DataFrame, column: str) -> Figure:
    """Log-log scatter of actual against predicted (with P10-P90 bars for value)."""
    fig = blank_figure()
    ax = fig.add_subplot()
    pred = frame[column].to_numpy()
    if {"p10", "p90"} <= set(frame.columns):
        order = np.argsort(pred)[:: max(1, len(pred) // 300)]
        ax.vlines(pred[order], frame["p10"].to_numpy()[order], frame["p90"].to_numpy()[order],
                  color="lightgrey", label="P10-P90")
    ax.scatter(pred, y, s=4, alpha=0.5, label="actual")
    lo, hi = float(np.min([pred.min(), np.min(y)])), float(np.max([pred.max(), np.max(y)]))
    ax.plot([lo, hi], [lo, hi], linestyle="--", color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"predicted {column}")
    ax.set_ylabel("actual")
    ax.set_title("Actual vs predicted (test period)")
    ax.legend()
    return fig
