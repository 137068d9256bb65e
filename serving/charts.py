"""The product's one charting path: matplotlib figures rendered to inline SVG strings.

Reports and the console embed these strings in HTML; nothing is fetched over the network and no
JavaScript library is involved. Text stays text in the SVG (`svg.fonttype: none`) so the browser
renders Chinese labels with its own fonts, and element ids are salted per chart so several charts
can live in one page.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# A print-friendly palette (colour-blind safe, Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
_FONT = ["DejaVu Sans"]  # CJK text falls back to the browser's fonts (svg.fonttype none)


def _svg(fig: Figure, chart_id: str) -> str:
    """The figure as an SVG string without the XML prolog, ids salted with `chart_id`."""
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart_id}), \
            warnings.catch_warnings():
        # Matplotlib's own font may lack CJK glyphs; the text is kept as text, so that is harmless.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        # No metadata block: no creation date (same figures, same bytes) and no namespace URLs.
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _figure(width: float, height: float) -> Figure:
    """A new figure with the report style."""
    with plt.rc_context({"font.family": _FONT}):
        fig = plt.figure(figsize=(width, height))
    return fig


def _number(value: float, _pos: int | None = None) -> str:
    """Axis tick text: thousands separators, or a percentage-like decimal for small values."""
    big = abs(value)
    if big >= 1e6:
        return f"{value / 1e6:,.0f}M" if big >= 1e7 else f"{value / 1e6:.1f}M"
    if big >= 1e4:
        return f"{value / 1e3:,.0f}k"
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _style(ax: Axes, value_axis: str = "y") -> None:
    """Light grid, no top/right spines, plain numbers (no 1e7 offset) on the value axis."""
    from matplotlib.ticker import FuncFormatter

    (ax.yaxis if value_axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(_number))
    ax.grid(axis="both", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


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
    """Grouped bars, one group per category and one bar per series, as an SVG string."""
    with warnings.catch_warnings(), plt.rc_context({"font.family": _FONT}):
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = _figure(width, height)
        ax = fig.add_subplot()
        n = max(1, len(series))
        pos = np.arange(len(categories))
        step = 0.8 / n
        for i, (name, values) in enumerate(series.items()):
            offset = (i - (n - 1) / 2) * step
            vals = np.asarray(values, dtype=float)
            if horizontal:
                ax.barh(pos + offset, vals, height=step, label=name, color=PALETTE[i % 7])
            else:
                ax.bar(pos + offset, vals, width=step, label=name, color=PALETTE[i % 7])
        if horizontal:
            ax.set_yticks(pos, list(categories))
            ax.invert_yaxis()
        else:
            ax.set_xticks(pos, list(categories), rotation=45 if len(categories) > 8 else 0,
                          ha="right" if len(categories) > 8 else "center")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _style(ax, "x" if horizontal else "y")
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=8)
        return _svg(fig, chart_id)


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
    """One line with markers per series over `x`, as an SVG string."""
    with warnings.catch_warnings(), plt.rc_context({"font.family": _FONT}):
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = _figure(width, height)
        ax = fig.add_subplot()
        labels = [str(v) for v in x]
        for i, (name, values) in enumerate(series.items()):
            ax.plot(labels, np.asarray(values, dtype=float), marker="o", label=name,
                    color=PALETTE[i % 7], linewidth=1.6)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _style(ax)
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=8)
        return _svg(fig, chart_id)


def interval_chart_svg(
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
    """Point estimates with interval bars, one row per label, and a reference line, as SVG."""
    with warnings.catch_warnings(), plt.rc_context({"font.family": _FONT}):
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
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
        _style(ax, "x")
        return _svg(fig, chart_id)
