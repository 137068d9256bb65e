"""Figures of the validation report as inline SVG (matplotlib object API, no pyplot state)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from models.boosting import SHAP_PREFIX
from training.plots import blank_figure
from training.validation.amounts import DecileRow, PeriodCoverage
from training.validation.calibration import GradeCalibration


def svg(fig: Figure) -> str:
    """The figure as an SVG element (XML prolog stripped) for inline HTML."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.find("<svg"):]


def grade_calibration_figure(rows: Sequence[GradeCalibration]) -> Figure:
    """Observed rate with its Jeffreys interval against mean predicted probability per grade."""
    fig = blank_figure(6.5, 4.5)
    ax = fig.add_subplot()
    pred = np.array([r.predicted for r in rows])
    obs = np.array([r.observed for r in rows])
    lo = np.array([r.jeffreys_low for r in rows])
    hi = np.array([r.jeffreys_high for r in rows])
    ax.errorbar(pred, obs, yerr=[np.maximum(obs - lo, 0), np.maximum(hi - obs, 0)], fmt="o",
                capsize=3, label="observed (95 % Jeffreys)")
    for r in rows:
        ax.annotate(r.grade, (r.predicted, r.observed), textcoords="offset points",
                    xytext=(5, 5), fontsize=8)
    top = float(max(np.max(hi), np.max(pred))) * 1.1 if len(rows) else 1.0
    bottom = max(min(float(np.min(pred)) if len(rows) else 1e-4, 1e-4) / 2, 1e-5)
    ax.plot([bottom, top], [bottom, top], linestyle="--", color="grey", label="perfect")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=bottom)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title("Calibration per grade (test period)")
    ax.legend(loc="upper left")
    return fig


def beeswarm_figure(contributions: pd.DataFrame, X: pd.DataFrame) -> Figure:
    """SHAP beeswarm of the test period (the training run's summary plot, reused)."""
    from training.plots import shap_summary_figure

    return shap_summary_figure(contributions, X)


def dependence_figure(contributions: pd.DataFrame, X: pd.DataFrame, feature: str) -> Figure:
    """SHAP dependence: a feature's contribution against its value."""
    fig = blank_figure(4.5, 3.4)
    ax = fig.add_subplot()
    x = X[feature].to_numpy(dtype=np.float64, na_value=np.nan)
    c = contributions[f"{SHAP_PREFIX}{feature}"].to_numpy()
    ax.scatter(x, c, s=4, alpha=0.4, rasterized=True)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel(feature)
    ax.set_ylabel("SHAP contribution (raw score)")
    ax.set_title(f"Dependence: {feature}")
    return fig


def decile_figure(rows: Sequence[DecileRow], what: str) -> Figure:
    """Mean actual and predicted per decile of the prediction."""
    fig = blank_figure(6.0, 3.8)
    ax = fig.add_subplot()
    d = [r.decile for r in rows]
    ax.plot(d, [r.predicted for r in rows], marker="o", label="predicted")
    ax.plot(d, [r.actual for r in rows], marker="s", label="actual")
    ax.set_yscale("log")
    ax.set_xlabel("decile of the prediction (1 = lowest)")
    ax.set_ylabel(what)
    ax.set_title("Actual vs predicted by decile (test period)")
    ax.legend()
    return fig


def coverage_figure(rows: Sequence[PeriodCoverage], target: float, tolerance: float) -> Figure:
    """P10-P90 coverage per period with the target band."""
    fig = blank_figure(6.0, 3.5)
    ax = fig.add_subplot()
    ax.axhspan(target - tolerance, target + tolerance, color="lightgreen", alpha=0.4,
               label=f"{target:.0%} ± {tolerance:.0%}")
    ax.plot([r.period for r in rows], [r.coverage for r in rows], marker="o", label="coverage")
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("share inside P10-P90")
    ax.set_title("Interval coverage per period")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    return fig
