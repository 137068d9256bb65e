"""Charts of the console and the printable reports, drawn by matplotlib as inline SVG strings.

One charting path for the whole product: matplotlib is already a dependency (training plots), it
needs no network and no JavaScript library, and the same SVG appears in the console and in the
reports. Text stays SVG `<text>` (`svg.fonttype: none`), so the browser renders it in its own
fonts: Chinese labels need no CJK font on the server, and the words stay searchable.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.typing import RcKeyType

# Colours of the console's stylesheet (serving/console/static/console.css).
RAISES = "#b3261e"
LOWERS = "#1b6e3a"
NEUTRAL = "#34577a"
MUTED = "#8a96a3"
# Series colours of the printable reports (colour-blind safe, Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")


@dataclass(frozen=True)
class Interval:
    """One row of an interval chart: a label and its P10, P50 and P90."""

    label: str
    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class Step:
    """One bar of a waterfall: a label and its signed contribution."""

    label: str
    value: float


@dataclass(frozen=True)
class CalibrationCurve:
    """A reliability curve: mean predicted probability and observed rate per bin."""

    label: str
    predicted: Sequence[float]
    observed: Sequence[float]


# SVG text as text; CJK fallback where installed (Debian fonts-wqy-zenhei) for the metrics.
_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "patentrisk",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "WenQuanYi Zen Hei", "Noto Sans CJK SC"],
}


def _figure(width: float, height: float) -> Figure:
    """A figure on an SVG canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(fig)
    return fig


def _svg(fig: Figure, title: str, *, salt: str = "patentrisk", fill_width: bool = True) -> str:
    """The figure as an inline `<svg>` element with an accessible title, sized by its box.

    `salt` seeds the element ids (one per chart keeps ids unique in a page of many charts);
    `fill_width` lets CSS stretch the chart to its box, else it keeps its drawn size.
    """
    buf = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": salt}), warnings.catch_warnings():
        # Without a CJK font on the server the layout uses a stand-in width; the browser draws
        # the text itself, so the missing glyph is not an error here.
        warnings.filterwarnings("ignore", r"Glyph \d+ .*missing from font", UserWarning)
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    if fill_width:
        # Responsive: keep the viewBox, let CSS size the element.
        svg = re.sub(r'\swidth="[^"]+"\s+height="[^"]+"', ' width="100%"', svg, count=1)
    escaped = (title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    svg = svg.replace(">", f' role="img" aria-label="{escaped}"><title>{escaped}</title>', 1)
    return svg


def money(value: float) -> str:
    """A short money label: 1.2M, 350k, 900."""
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:.3g}B"
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.0f}"


def interval_chart(rows: Sequence[Interval], title: str, unit: str = "") -> str:
    """Horizontal P10-P90 bars with the P50 marked, one row per item (values, portfolios)."""
    if not rows:
        raise ValueError("rows: an interval chart needs at least one row")
    fig = _figure(6.4, 0.45 * len(rows) + 1.1)
    ax = fig.add_subplot()
    for pos, row in enumerate(reversed(rows)):
        ax.plot([row.p10, row.p90], [pos, pos], color=NEUTRAL, linewidth=7, alpha=0.35,
                solid_capstyle="butt")
        ax.plot([row.p50], [pos], marker="D", color=NEUTRAL, markersize=7)
        ax.annotate(money(row.p50), (row.p50, pos), textcoords="offset points", xytext=(0, 7),
                    ha="center", fontsize=8, color="#222")
    ax.set_yticks(range(len(rows)), [r.label for r in reversed(rows)])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(left=0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: money(v)))
    ax.set_xlabel(f"P10 – P50 – P90 {unit}".strip())
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", color="#e3e7eb")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, title)


def waterfall_chart(base: float, steps: Sequence[Step], title: str, axis_label: str,
                    base_label: str, total_label: str) -> str:
    """A SHAP waterfall: from the base value, each contribution up (red) or down (green).

    The axis spans the path from the base to the final score (not from zero): a log-odds base
    of -6 would otherwise dwarf contributions of a few tenths.
    """
    fig = _figure(6.4, 0.42 * (len(steps) + 2) + 1.0)
    ax = fig.add_subplot()
    labels = [base_label, *[s.label for s in steps], total_label]
    n = len(labels)
    path = [base]
    for step in steps:
        path.append(path[-1] + step.value)
    final = path[-1]
    lo, hi = min(path), max(path)
    pad = (hi - lo) * 0.12 or max(abs(base) * 0.05, 0.1)
    ax.set_xlim(lo - pad, hi + pad * 2.5)
    ax.axvline(base, color=MUTED, linewidth=0.8, linestyle=":")
    ax.plot([base], [n - 1], marker="o", color=MUTED, markersize=7)
    ax.annotate(f"{base:.3f}", (base, n - 1), textcoords="offset points", xytext=(6, -3),
                fontsize=8)
    for i, step in enumerate(steps, start=1):
        start_at = path[i - 1]
        colour = RAISES if step.value > 0 else LOWERS
        ax.barh(n - 1 - i, step.value, left=start_at, color=colour, height=0.6)
        ax.annotate(f"{step.value:+.3f}", (max(start_at, start_at + step.value), n - 1 - i),
                    textcoords="offset points", xytext=(4, -3), fontsize=8)
    ax.plot([final], [0], marker="D", color=NEUTRAL, markersize=7)
    ax.axvline(final, color=NEUTRAL, linewidth=0.8, linestyle=":")
    ax.annotate(f"{final:.3f}", (final, 0), textcoords="offset points", xytext=(6, -3),
                fontsize=8, color=NEUTRAL)
    ax.set_yticks(range(n), list(reversed(labels)))
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel(axis_label)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", color="#e3e7eb")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, title)


def calibration_chart(curves: Sequence[CalibrationCurve], title: str, x_label: str,
                      y_label: str) -> str:
    """Reliability diagram: observed rate against mean predicted probability, with y = x."""
    fig = _figure(4.8, 3.8)
    ax = fig.add_subplot()
    top = 0.0
    for curve, colour in zip(curves, (NEUTRAL, RAISES, LOWERS, MUTED), strict=False):
        ax.plot(curve.predicted, curve.observed, marker="o", color=colour, label=curve.label)
        values = [*curve.predicted, *curve.observed]
        top = max(top, *[v for v in values if not math.isnan(v)], 0.0)
    top = top or 1.0
    ax.plot([0, top], [0, top], linestyle="--", color="grey", linewidth=0.8)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(color="#e3e7eb")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig, title)


def _number(value: float, _pos: int | None = None) -> str:
    """Report axis tick text: thousands separators, M and k, or two decimals for small values."""
    big = abs(value)
    if big >= 1e6:
        return f"{value / 1e6:,.0f}M" if big >= 1e7 else f"{value / 1e6:.1f}M"
    if big >= 1e4:
        return f"{value / 1e3:,.0f}k"
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _report_style(ax: Axes, value_axis: str = "y") -> None:
    """Light grid, no top/right spines, plain numbers (no 1e7 offset) on the value axis."""
    (ax.yaxis if value_axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(_number))
    ax.grid(axis="both", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def bar_chart_svg(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    chart_id: str,
    xlabel: str = "",
    ylabel: str = "",
    horizontal: bool = False,
    width: float = 7.0,
    height: float = 3.2,
) -> str:
    """Grouped bars of a report, one group per category and one bar per series, as SVG."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    n = max(1, len(series))
    pos = np.arange(len(categories))
    step = 0.8 / n
    for i, (name, values) in enumerate(series.items()):
        offset = (i - (n - 1) / 2) * step
        vals = np.asarray(values, dtype=float)
        colour = PALETTE[i % len(PALETTE)]
        if horizontal:
            ax.barh(pos + offset, vals, height=step, label=name, color=colour)
        else:
            ax.bar(pos + offset, vals, width=step, label=name, color=colour)
    if horizontal:
        ax.set_yticks(pos, list(categories))
        ax.invert_yaxis()
    else:
        crowded = len(categories) > 8
        ax.set_xticks(pos, list(categories), rotation=45 if crowded else 0,
                      ha="right" if crowded else "center")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _report_style(ax, "x" if horizontal else "y")
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8)
    return _svg(fig, chart_id, salt=chart_id, fill_width=False)


def line_chart_svg(
    x: Sequence[float | int | str],
    series: Mapping[str, Sequence[float]],
    *,
    chart_id: str,
    xlabel: str = "",
    ylabel: str = "",
    width: float = 7.0,
    height: float = 3.0,
) -> str:
    """One line with markers per series over `x` (a report's yearly figures), as SVG."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    labels = [str(v) for v in x]
    for i, (name, values) in enumerate(series.items()):
        ax.plot(labels, np.asarray(values, dtype=float), marker="o", label=name,
                color=PALETTE[i % len(PALETTE)], linewidth=1.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _report_style(ax)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8)
    return _svg(fig, chart_id, salt=chart_id, fill_width=False)


def estimate_chart_svg(
    labels: Sequence[str],
    estimate: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    chart_id: str,
    reference: float | None = 1.0,
    xlabel: str = "",
    width: float = 7.0,
    height: float | None = None,
) -> str:
    """Point estimates with confidence bars, one row per label, and a reference line, as SVG."""
    fig = _figure(width, height or max(2.0, 0.28 * len(labels) + 0.8))
    ax = fig.add_subplot()
    est = np.asarray(estimate, dtype=float)
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    pos = np.arange(len(labels))
    finite_hi = np.where(np.isfinite(hi), hi, np.nan)
    ax.errorbar(est, pos, xerr=[np.clip(est - lo, 0, None), np.clip(finite_hi - est, 0, None)],
                fmt="o", color=PALETTE[0], ecolor="#777777", capsize=3, markersize=4)
    if reference is not None:
        ax.axvline(reference, color=PALETTE[3], linewidth=1, linestyle="--")
    ax.set_yticks(pos, list(labels))
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    _report_style(ax, "x")
    return _svg(fig, chart_id, salt=chart_id, fill_width=False)
