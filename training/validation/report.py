"""The validation report as one self-contained HTML page (inline SVG, no scripts, EN and ZH)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from models.drift import PSI_DRIFT, PSI_WATCH, psi_status
from training.validation.amounts import (
    COVERAGE_TOLERANCE,
    TARGET_COVERAGE,
    DecileRow,
    PeriodCoverage,
)
from training.validation.calibration import MATERIAL_POINTS, MATERIALITY, GradeCalibration
from training.validation.censoring import Cohort
from training.validation.discrimination import Discrimination
from training.validation.sensitivity import DirectionalCheck

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right;font-size:0.9em}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.ok{color:#17693a}.watch{color:#a66300}.bad{color:#b00020}.note{color:#555;font-size:0.9em}
h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;margin-top:1.6em}
"""


@dataclass
class ValidationReport:
    """Everything the report shows for one champion; sections absent for a task stay empty."""

    task: str
    kind: str
    registered_name: str
    version: str
    run_id: str
    dataset: str
    fingerprint: str
    end_date: str
    periods: Mapping[str, tuple[str, str]]
    rows: Mapping[str, int]
    purged: tuple[int, int]
    static_features: Sequence[tuple[str, str]] = ()
    discrimination: Sequence[tuple[str, Discrimination]] = ()
    calibration: Sequence[GradeCalibration] = ()
    calibration_svg: str = ""
    psi: Mapping[str, float] = field(default_factory=dict)
    benchmark: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    benchmark_discrimination: Sequence[tuple[str, float, float]] = ()
    sensitivity: Sequence[DirectionalCheck] = ()
    sensitivity_note: str = ""
    deciles: Sequence[DecileRow] = ()
    deciles_svg: str = ""
    coverage: Sequence[PeriodCoverage] = ()
    coverage_svg: str = ""
    cost_ratio: Sequence[tuple[str, int, float]] = ()
    censoring: Sequence[Cohort] = ()
    censoring_note: str = ""
    beeswarm_svg: str = ""
    dependence_svgs: Sequence[str] = ()
    notes: list[str] = field(default_factory=list)


def _h(en: str, zh: str, level: int = 2) -> str:
    """A bilingual heading."""
    return f"<h{level}>{html.escape(en)} / {html.escape(zh)}</h{level}>"


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table; cells given as (text, css class) keep their class."""
    out = ["<table><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, tuple):
                out.append(f'<td class="{cell[1]}">{html.escape(str(cell[0]))}</td>')
            else:
                out.append(f"<td>{html.escape(_fmt(cell))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _fmt(value: object) -> str:
    """Numbers to four significant digits, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:,.4g}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def _psi_cell(value: float) -> tuple[str, str]:
    """A PSI with its status class."""
    status = psi_status(value)
    return (f"{value:.3f} {status}", {"stable": "ok", "watch": "watch"}.get(status, "bad"))


def render(report: ValidationReport) -> str:
    """The report as a complete HTML document."""
    r = report
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Validation report {html.escape(r.registered_name)} v{r.version}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Model validation report / 模型验证报告: {html.escape(r.registered_name)} "
        f"v{html.escape(r.version)}</h1>",
        f"<p>Task <b>{html.escape(r.task)}</b> ({html.escape(r.kind)}), MLflow run "
        f"<code>{html.escape(r.run_id)}</code>; dataset <code>{html.escape(r.dataset)}</code> "
        f"(fingerprint <code>{html.escape(r.fingerprint)}</code>, complete to "
        f"{html.escape(r.end_date)}).</p>",
        _h("Periods", "样本期间"),
        _table(["part", "as-of from", "as-of to", "rows"],
               [[k, v[0], v[1], r.rows.get(k, 0)] for k, v in r.periods.items()]),
        f"<p class='note'>Purged {r.purged[0]} training and {r.purged[1]} validation rows whose "
        f"label matured after the next period began (清除标签成熟期跨入后续期间的样本).</p>",
    ]
    parts += [_h("Static features", "静态特征（无日期字段）")]
    if r.static_features:
        parts.append("<p>These features read columns the sources hold only as they are today, so "
                     "the point-in-time guard cannot check them (这些特征读取无日期的字段，"
                     "时点检查无法覆盖):</p>")
        parts.append(_table(["feature", "undated source"], list(r.static_features)))
    else:
        parts.append("<p>None: every feature of this task is dated.</p>")
    if r.discrimination:
        parts += [_h("Discrimination per period", "各期区分能力"),
                  "<p class='note'>95 % intervals: AUC by Hanley-McNeil, accuracy ratio = "
                  "2 AUC - 1, KS by bootstrap (200 resamples). Training years are in-sample.</p>",
                  _table(["period", "part", "rows", "events", "AUC", "AUC 95 %", "AR", "AR 95 %",
                          "KS", "KS 95 %", "oracle AUC"],
                         [[d.period, part, d.rows, d.events, d.auc,
                           f"{d.auc_low:.3f}–{d.auc_high:.3f}", d.accuracy_ratio,
                           f"{d.ar_low:.3f}–{d.ar_high:.3f}", d.ks,
                           f"{d.ks_low:.3f}–{d.ks_high:.3f}", d.oracle_auc]
                          for part, d in r.discrimination])]
    if r.calibration:
        parts += [_h("Calibration per grade (test period)", "各等级校准（测试期）"),
                  "<p class='note'>Jeffreys test: p = P(rate <= predicted | events) under "
                  "Beta(d + 1/2, n - d + 1/2); below 2.5 % the grade is under-predicted, above "
                  "97.5 % over-predicted. Binomial: exact two-sided test. A grade is flagged "
                  "only when the test is significant, the observed rate is on that side and the "
                  f"difference is material (more than {MATERIALITY:.0%} of the predicted rate "
                  f"and {MATERIAL_POINTS:.2%} absolute), so that a large grade is not flagged "
                  "for a difference too small to move it (显著且差异重大才标记).</p>",
                  _table(["grade", "rows", "events", "mean predicted", "observed",
                          "observed / predicted", "Jeffreys 95 %", "Jeffreys p", "binomial p",
                          "verdict"],
                         [[g.grade, g.rows, g.events, g.predicted, g.observed, g.ratio,
                           f"{g.jeffreys_low:.4f}–{g.jeffreys_high:.4f}", g.jeffreys_p,
                           g.binomial_p, (g.verdict, "ok" if g.verdict == "ok" else "bad")]
                          for g in r.calibration]),
                  r.calibration_svg]
    if r.psi:
        parts += [_h("Stability: training vs newest period", "稳定性：训练期与最新期"),
                  f"<p class='note'>PSI below {PSI_WATCH} stable, {PSI_WATCH}–{PSI_DRIFT} watch, "
                  f"{PSI_DRIFT} and above drift (群体稳定性指数).</p>",
                  _table(["variable", "PSI"],
                         [[k, _psi_cell(v)] for k, v in sorted(r.psi.items(),
                                                              key=lambda kv: -kv[1])])]
    if r.benchmark:
        parts += [_h("Benchmark challenger", "基准挑战模型"),
                  "<p>A linear model on the same features with the registry's signs as "
                  "constraints (logistic for classifiers, log-linear for amounts), trained on the "
                  "same rows (同特征、符号约束的线性基准模型).</p>",
                  _table(["metric (test period)", "champion", "benchmark"],
                         [[k, a, b] for k, (a, b) in r.benchmark.items()])]
        if r.benchmark_discrimination:
            parts.append(_table(["period", "champion AUC", "benchmark AUC"],
                                [list(x) for x in r.benchmark_discrimination]))
    parts += [_h("Sensitivity: registry directions", "敏感性：特征方向检验")]
    if not r.sensitivity:
        parts.append("<p>The registry declares no direction for this task's features, so there "
                     "is nothing to check (特征注册表未声明方向).</p>")
    else:
        parts += [f"<p class='note'>{html.escape(r.sensitivity_note)}</p>",
                  _table(["feature", "direction", "step", "rows", "against direction",
                          "mean change", "result"],
                         [[c.feature, f"{c.direction:+d}", c.step, c.rows, c.violations,
                           c.mean_change, ("pass", "ok") if c.passed else ("fail", "bad")]
                          for c in r.sensitivity])]
    if r.deciles:
        parts += [_h("Actual vs predicted by decile (test period)", "分位组实际与预测对比"),
                  _table(["decile", "rows", "mean predicted", "mean actual", "actual/predicted"],
                         [[d.decile, d.rows, d.predicted, d.actual, d.ratio] for d in r.deciles]),
                  r.deciles_svg]
    if r.cost_ratio:
        parts += [_h("Predicted over actual cost per period", "各期预测与实际费用之比"),
                  _table(["period", "rows", "predicted / actual"], [list(x) for x in r.cost_ratio])]
    if r.coverage:
        parts += [_h("Interval coverage per period", "各期区间覆盖率"),
                  f"<p class='note'>Target {TARGET_COVERAGE:.0%} ± {COVERAGE_TOLERANCE:.0%} of "
                  "prices inside P10–P90.</p>",
                  _table(["period", "rows", "coverage", "below P10", "above P90", "result"],
                         [[c.period, c.rows, c.coverage, c.below, c.above,
                           ("within", "ok") if c.within_target else ("outside", "bad")]
                          for c in r.coverage]),
                  r.coverage_svg]
    if r.censoring:
        parts += [_h("Censoring of claim costs by filing cohort", "按立案年份的费用删失"),
                  f"<p>{html.escape(r.censoring_note)}</p>",
                  _table(["filed in", "cases", "closed by data end", "share closed",
                          "mean years to close", "mean enforcement cost", "mean liability cost",
                          "kept for severity"],
                         [[c.year, c.filed, c.closed, c.share_closed, c.mean_years_to_close,
                           c.mean_enforcement_cost, c.mean_liability_cost,
                           (c.kept, "ok" if c.kept == "all" else "watch")]
                          for c in r.censoring])]
    if r.beeswarm_svg:
        parts += [_h("SHAP contributions (test period)", "SHAP贡献（测试期）"), r.beeswarm_svg,
                  *r.dependence_svgs]
    if r.notes:
        parts += [_h("Notes", "说明"), "<ul>",
                  *(f"<li>{html.escape(n)}</li>" for n in r.notes), "</ul>"]
    parts.append("</body></html>")
    return "\n".join(parts)
