"""Validate each task's champion: rebuild its data and split, compute every section, log the report.

The report goes to the champion's own MLflow run (artifact `validation/report.html`, the page the
console's models page links to) and to `DATA_DIR/reports/validation-<task>.html`. The run also
gets the monitoring reference profile (`monitoring/reference.json`) when it has none yet.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.metrics import roc_auc_score

from features.pipelines.labels import severity_last_filing, severity_maturity_days
from features.registry import get as get_feature
from features.registry import static_features
from features.settings import Settings
from features.store import TableStore
from models.base import BoostedModel
from models.drift import PROFILE_ARTIFACT, build_profile, score_of
from models.loading import CHAMPION
from models.policy import Product, load_policy
from models.policy.scale import MASTER_SCALE
from models.tasks import TaskSpec, task_spec
from training.datasets import TaskData, TaskUnavailable, load_task_data
from training.evaluation import task_metrics
from training.runs import configure_mlflow
from training.splits import TimeSplit, task_split
from training.validation.amounts import (
    COVERAGE_TOLERANCE,
    TARGET_COVERAGE,
    coverage_by_period,
    deciles,
)
from training.validation.benchmark import MonotoneLinearBenchmark
from training.validation.calibration import GradeCalibration, calibration_by_grade
from training.validation.censoring import Cohort, cohorts
from training.validation.discrimination import Discrimination, discrimination
from training.validation.figures import (
    beeswarm_figure,
    coverage_figure,
    decile_figure,
    dependence_figure,
    grade_calibration_figure,
    svg,
)
from training.validation.report import ValidationReport, render
from training.validation.sensitivity import directional_checks

log = logging.getLogger(__name__)

REPORT_ARTIFACT_DIR = "validation"
REPORT_FILE = "report.html"
BENCHMARK_ROWS = 200_000
SENSITIVITY_ROWS = 1_000
SHAP_ROWS = 2_000
PRODUCTS = {"litigation": Product.ENFORCEMENT, "liability": Product.LIABILITY,
            "default": Product.PLEDGE_LOAN}


@dataclass(frozen=True)
class ValidationResult:
    """Where one task's report went (or why it was skipped) and its headline figures."""

    task: str
    status: str  # validated | skipped
    reason: str = ""
    version: str | None = None
    path: Path | None = None
    headline: str = ""
    seconds: float = 0.0


def champion_estimator(client: MlflowClient, spec: TaskSpec) -> tuple[BoostedModel, str, str]:
    """The champion's fitted estimator, its version and run id."""
    mv = client.get_model_version_by_alias(spec.registered_name, CHAMPION)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{spec.registered_name}/{mv.version}")
    return pyfunc.unwrap_python_model().estimator, str(mv.version), str(mv.run_id)


def _parts(split: TimeSplit, n: int) -> np.ndarray:
    """Part of each row: train, valid, test or purged."""
    part = np.full(n, "purged", dtype=object)
    for name in ("train", "valid", "test"):
        part[getattr(split, name)] = name
    return part


def validate_task(settings: Settings, client: MlflowClient, task: str) -> ValidationResult:
    """Build and log the validation report of one task's champion."""
    started = time.monotonic()
    spec = task_spec(task)
    try:
        estimator, version, run_id = champion_estimator(client, spec)
    except MlflowException as exc:
        return ValidationResult(task, "skipped", f"no champion ({exc.message.splitlines()[0]})")
    try:
        data = load_task_data(settings, spec)
    except TaskUnavailable as exc:
        return ValidationResult(task, "skipped", str(exc))
    missing = [f for f in estimator.features_ if f not in data.frame.columns]
    if missing:
        return ValidationResult(task, "skipped", f"champion v{version} needs features the "
                                f"pipeline no longer builds: {missing}")
    report = build_report(settings, spec, data, estimator, version, run_id, client)
    text = render(report)
    out_dir = settings.data_dir / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"validation-{task}.html"
    path.write_text(text, encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        report_copy = Path(tmp) / REPORT_FILE
        report_copy.write_text(text, encoding="utf-8")
        client.log_artifact(run_id, str(report_copy), REPORT_ARTIFACT_DIR)
    client.set_model_version_tag(spec.registered_name, version, "validation_report",
                                 f"{REPORT_ARTIFACT_DIR}/{REPORT_FILE}")
    return ValidationResult(task, "validated", "", version, path, _headline(report),
                            time.monotonic() - started)


def _headline(r: ValidationReport) -> str:
    """One line of the report's key figures."""
    bits = []
    oot = [d for part, d in r.discrimination if part == "test"]
    if oot:
        bits.append(f"test AUC {oot[-1].auc:.3f}")
    bad = [g.grade for g in r.calibration if g.verdict != "ok"]
    if r.calibration:
        bits.append(f"grades off: {', '.join(bad) or 'none'}")
    if r.psi:
        top = max(r.psi.items(), key=lambda kv: kv[1])
        bits.append(f"max PSI {top[1]:.2f} ({top[0]})")
    fails = [c.feature for c in r.sensitivity if not c.passed]
    if r.sensitivity:
        bits.append(f"direction failures: {len(fails)}")
    if r.coverage:
        bits.append("coverage " + "/".join(f"{c.coverage:.0%}" for c in r.coverage[-3:]))
    return "; ".join(bits)


def _predictor(estimator: BoostedModel, kind: str) -> Callable[[pd.DataFrame], np.ndarray]:
    """The model's main output per row: probability, expected cost or P50."""
    if kind == "classifier":
        return lambda X: estimator.predict_proba(X)[:, 1]
    return lambda X: np.asarray(estimator.predict(X), dtype=np.float64)


def build_report(
    settings: Settings,
    spec: TaskSpec,
    data: TaskData,
    estimator: BoostedModel,
    version: str,
    run_id: str,
    client: MlflowClient,
) -> ValidationReport:
    """Compute every section of the report for the champion on the task's data."""
    frame = data.frame
    split = task_split(frame)
    part = _parts(split, len(frame))
    features = list(estimator.features_)
    X = frame.loc[:, features]
    y = frame["label"].to_numpy()
    period = frame["as_of"].dt.year.astype(str).to_numpy()
    predict = _predictor(estimator, spec.kind)
    report = ValidationReport(
        task=spec.name, kind=spec.kind, registered_name=spec.registered_name, version=version,
        run_id=run_id, dataset=data.dataset, fingerprint=data.fingerprint,
        end_date=data.end_date,
        periods={"train": split.train_period, "validation": split.valid_period,
                 "test": split.test_period},
        rows=split.sizes() | {"validation": len(split.valid)}, purged=split.purged,
        static_features=[(n, "; ".join(get_feature(n).undated))
                         for n in static_features(spec.name) if n in features],
    )
    test = split.test
    scored_test = estimator.score_frame(X.iloc[test])
    categorical = {f for f in features if get_feature(f).is_categorical}
    if spec.kind == "classifier":
        p_all = predict(X)
        truth = frame["truth"].to_numpy() if data.has_truth else None
        report.discrimination = _by_period(period, part, y, p_all, truth)
        report.calibration = _grades(spec, settings, y[test], p_all[test], X.iloc[test])
        if report.calibration:
            report.calibration_svg = svg(grade_calibration_figure(report.calibration))
    # stability: every feature and the score, training rows against the newest period
    train_scored = estimator.score_frame(X.iloc[split.train])
    train_profile = build_profile(spec.name, X.iloc[split.train],
                                  score_of(spec.kind, train_scored), categorical)
    newest = X.iloc[test].assign(score=score_of(spec.kind, scored_test))
    report.psi = train_profile.psi_of_frame(newest)
    _ensure_reference_profile(client, run_id, spec, X.iloc[test], scored_test, categorical,
                              split.test_period)
    _benchmark(report, spec, data, X, y, split, period, part, scored_test, predict)
    directions = {f: int(get_feature(f).directions.get(spec.name, 0)) for f in features}
    sample = _sample(test, SENSITIVITY_ROWS)
    report.sensitivity = directional_checks(predict, X.iloc[sample], directions, categorical)
    report.sensitivity_note = (
        "Each sampled test row is scored again with the feature raised by its interquartile "
        "range (at least 1 for counts); the output must not move against the registry's "
        "direction.")
    if spec.kind == "severity":
        pred = scored_test["expected_cost"].to_numpy()
        report.deciles = deciles(y[test], pred)
        report.deciles_svg = svg(decile_figure(report.deciles, "claim cost"))
        all_pred = predict(X)
        report.cost_ratio = [
            (p, int(m.sum()), float(all_pred[m].sum() / y[m].sum()))
            for p in sorted(set(period)) for m in [(period == p) & (part != "purged")]
            if m.any()
        ]
        _censoring(report, settings, data)
    if spec.kind == "value":
        report.deciles = deciles(y[test], scored_test["p50"].to_numpy())
        report.deciles_svg = svg(decile_figure(report.deciles, "price"))
        oot = np.isin(part, ["valid", "test"])
        quantiles = estimator.score_frame(X.loc[oot])
        report.coverage = coverage_by_period(
            pd.Series(period[oot]), y[oot], quantiles["p10"].to_numpy(),
            quantiles["p90"].to_numpy())
        report.coverage_svg = svg(coverage_figure(report.coverage, TARGET_COVERAGE,
                                                  COVERAGE_TOLERANCE))
    shap_rows = _sample(np.arange(len(test)), SHAP_ROWS)
    contrib, Xs = scored_test.iloc[shap_rows], X.iloc[test].iloc[shap_rows]
    report.beeswarm_svg = svg(beeswarm_figure(contrib, Xs))
    top = contrib[[c for c in contrib.columns if c.startswith("shap__")]].abs().mean()
    report.dependence_svgs = [
        svg(dependence_figure(contrib, Xs, c.removeprefix("shap__")))
        for c in top.sort_values(ascending=False).index[:3]
    ]
    report.notes.append(
        "SHAP values are LightGBM's exact TreeSHAP (pred_contrib) of the served booster; the "
        "plots are drawn with matplotlib from them.")
    return report


def _sample(idx: np.ndarray, n: int) -> np.ndarray:
    """At most `n` of the positions `idx`, seeded and in order."""
    if len(idx) <= n:
        return np.asarray(idx)
    return np.sort(np.random.default_rng(0).choice(idx, n, replace=False))


def _by_period(period: np.ndarray, part: np.ndarray, y: np.ndarray, p: np.ndarray,
               truth: np.ndarray | None) -> list[tuple[str, Discrimination]]:
    """Discrimination per as-of year, with the part of the split it belongs to."""
    out = []
    for label in sorted(set(period)):
        m = (period == label) & (part != "purged")
        if not m.any():
            continue
        parts = sorted(set(part[m]))
        d = discrimination(label, y[m], p[m], None if truth is None else truth[m])
        if d is not None:
            out.append(("/".join(parts), d))
    return out


def _grades(spec: TaskSpec, settings: Settings, y: np.ndarray, p: np.ndarray, X: pd.DataFrame
            ) -> list[GradeCalibration]:
    """Calibration per policy grade; loan probabilities are annualised as the policy grades them."""
    policy = load_policy(settings.policy_file)
    product = PRODUCTS[spec.name]
    grading = p
    if spec.name == "default" and "loan_term_months" in X.columns:
        months = X["loan_term_months"].to_numpy(dtype=np.float64)
        grading = 1 - (1 - p) ** (12.0 / np.maximum(months, 1.0))
    order = [g.value for g in MASTER_SCALE]
    grades = np.asarray([policy.grade(product, float(min(max(v, 0.0), 1.0))).value
                         for v in grading], dtype=object)
    lookup = dict(zip(map(float, p), grades, strict=False))
    return calibration_by_grade(y, p, lambda v: lookup[v], order)


def _ensure_reference_profile(client: MlflowClient, run_id: str, spec: TaskSpec, X: pd.DataFrame,
                              scored: pd.DataFrame, categorical: set[str],
                              period: tuple[str, str]) -> None:
    """Log the monitoring reference profile to the run unless it already has one."""
    folder, name = PROFILE_ARTIFACT.rsplit("/", 1)
    if any(a.path == PROFILE_ARTIFACT for a in client.list_artifacts(run_id, folder)):
        return
    profile = build_profile(spec.name, X, score_of(spec.kind, scored), categorical, period)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(profile.to_json(), encoding="utf-8")
        client.log_artifact(run_id, str(path), folder)


def _benchmark(report: ValidationReport, spec: TaskSpec, data: TaskData, X: pd.DataFrame,
               y: np.ndarray, split: TimeSplit, period: np.ndarray, part: np.ndarray,
               scored_test: pd.DataFrame, predict: Callable[[pd.DataFrame], np.ndarray]
               ) -> None:
    """Fit the sign-constrained linear benchmark on the training rows and compare on test."""
    train = _sample(split.train, BENCHMARK_ROWS)
    bench = MonotoneLinearBenchmark(spec.kind, data.monotone(spec.name), data.categorical())
    bench.fit(X.iloc[train], y[train])
    test = split.test
    champion = task_metrics(spec, y[test], scored_test)
    challenger = task_metrics(spec, y[test], bench.score_frame(X.iloc[test]))
    report.benchmark = {k: (champion[k], challenger[k]) for k in champion if k in challenger}
    if spec.kind == "classifier":
        oot = np.isin(part, ["valid", "test"])
        champ_p = predict(X.loc[oot])
        bench_p = bench.score_frame(X.loc[oot])["probability"].to_numpy()
        rows = []
        for label in sorted(set(period[oot])):
            m = period[oot] == label
            if 0 < y[oot][m].sum() < m.sum():
                rows.append((label, float(roc_auc_score(y[oot][m], champ_p[m])),
                             float(roc_auc_score(y[oot][m], bench_p[m]))))
        report.benchmark_discrimination = rows
    if not bench.converged_:
        report.notes.append("The benchmark's optimiser stopped before converging.")


def _censoring(report: ValidationReport, settings: Settings, data: TaskData) -> None:
    """The severity cohort table, before (all closed cases) and after the maturity restriction."""
    from datetime import date

    store = TableStore(settings.dataset_dir)
    con = store.connect()
    try:
        end = date.fromisoformat(data.end_date)
        days = severity_maturity_days(con, end)
        last_kept = severity_last_filing(con, end)
        report.censoring = cohorts(con, end, last_kept)
    finally:
        con.close()
    kept = [c for c in report.censoring if c.kept == "all" and c.closed]
    dropped = [c for c in report.censoring if c.kept != "all" and c.closed]
    before = _mean_cost(report.censoring)
    after = _mean_cost(kept)
    report.censoring_note = (
        "Severity learns only from cases closed by the data's end. In the newest cohorts only "
        "the fast, cheap cases have closed, so their mean cost drops (右删失：最新立案年份只有"
        f"快速结案的低费用案件). 95 % of mature cases closed within {days} days of filing, so "
        f"the labels keep cases filed by {last_kept}. Mean liability cost of closed cases: "
        f"{before:,.0f} over all cohorts (before), {after:,.0f} over the kept cohorts (after); "
        f"the {len(dropped)} cohorts left out average "
        f"{_mean_cost(dropped):,.0f}.")


def _mean_cost(rows: list[Cohort]) -> float:
    """Closed-case-weighted mean liability cost of cohorts (NaN without any)."""
    pairs = [(c.closed, c.mean_liability_cost) for c in rows
             if c.closed and c.mean_liability_cost is not None]
    total = sum(n for n, _ in pairs)
    return sum(n * v for n, v in pairs) / total if total else float("nan")


def validate_tasks(
    settings: Settings,
    tasks: Iterable[str],
    on_result: Callable[[ValidationResult], None] | None = None,
) -> list[ValidationResult]:
    """Validate each task's champion in turn."""
    client = configure_mlflow(settings)
    out = []
    for task in tasks:
        result = validate_task(settings, client, task)
        out.append(result)
        if on_result is not None:
            on_result(result)
    return out
