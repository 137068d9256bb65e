"""Command-line subcommands of the `training` package, registered on the root `patentrisk` app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from models.tasks import TASK_NAMES

if TYPE_CHECKING:
    from training.runs import TaskResult

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Add `patentrisk train` and `patentrisk validate` to the root CLI."""
    app.command("train")(train)
    app.command("validate")(validate)


def chosen_tasks(console: Console, task: str) -> list[str]:
    """The tasks `--task` names (`all` or one task); exit code 2 naming the choices otherwise."""
    if task != "all" and task not in TASK_NAMES:
        console.print(f"[red]error:[/red] --task must be all or one of {list(TASK_NAMES)}, "
                      f"got {task!r}")
        raise typer.Exit(code=2)
    return list(TASK_NAMES) if task == "all" else [task]


def train(
    task: str = typer.Option(
        "all", "--task", help=f"Task to train: all or one of {', '.join(TASK_NAMES)}."
    ),
    trials: int | None = typer.Option(
        None, "--trials", min=0, help="Optuna trials per task (default PATENTRISK_TRAIN_TRIALS)."
    ),
) -> None:
    """Train, evaluate and register models; `champion` moves only to a model at least as good."""
    from features.cli_settings import settings_or_exit
    from training.runs import train_tasks

    console = Console()
    tasks = chosen_tasks(console, task)
    settings = settings_or_exit(console)

    def report(result: TaskResult) -> None:
        if result.status == "skipped":
            console.print(f"[yellow]skipped[/yellow] {result.task}: {result.reason}")
        else:
            verdict = "champion" if result.promoted else "challenger"
            console.print(f"[green]trained[/green] {result.task} v{result.version} "
                          f"({result.seconds:.0f} s) -> {verdict}: {result.reason}")

    console.print(f"training {', '.join(tasks)} into {settings.resolved_tracking_uri}")
    try:
        results = train_tasks(settings, tasks, trials=trials, on_result=report)
    except Exception as exc:
        console.print(f"[red]error:[/red] training failed: {exc}")
        raise typer.Exit(code=1) from exc
    console.print(results_table(results))
    if not any(r.status == "trained" for r in results):
        raise typer.Exit(code=1)


def results_table(results: list[TaskResult]) -> Table:
    """A rich table of the training results: rows, key metrics, oracle ratio, version, gate."""
    table = Table(title="patentrisk training results")
    for col in ("task", "rows (train/valid/test)", "metrics (test)", "vs oracle", "version",
                "promoted?"):
        table.add_column(col)
    for r in results:
        if r.status != "trained":
            table.add_row(r.task, "-", f"skipped: {r.reason}", "-", "-", "-")
            continue
        m = r.metrics
        rows = "/".join(str(r.rows.get(k, 0)) for k in ("train", "valid", "test"))
        if "test_roc_auc" in m:
            text = (f"AUC {m['test_roc_auc']:.3f}  ECE {m['test_ece']:.4f}  "
                    f"Brier {m['test_brier']:.4f}  KS {m['test_ks']:.3f}")
            ratio = (f"{m['test_roc_auc_vs_oracle']:.3f} (oracle AUC "
                     f"{m['oracle_test_roc_auc']:.3f})" if "oracle_test_roc_auc" in m else "n/a")
        elif "test_deviance" in m:
            text = f"deviance {m['test_deviance']:.4f}  pred/actual {m['test_cost_ratio']:.3f}"
            ratio = "n/a"
        else:
            text = (f"pinball P10/P50/P90 {m['test_pinball_p10']:.3f}/"
                    f"{m['test_pinball_p50']:.3f}/{m['test_pinball_p90']:.3f}  "
                    f"coverage {m['test_coverage_p10_p90']:.1%}")
            ratio = "n/a"
        promoted = "[green]yes[/green]" if r.promoted else f"[yellow]no[/yellow]: {r.reason}"
        table.add_row(r.task, rows, text, ratio, str(r.version), promoted)
    return table


def validate(
    task: str = typer.Option(
        "all", "--task", help=f"Task to validate: all or one of {', '.join(TASK_NAMES)}."
    ),
) -> None:
    """Write the validation report of each champion and log it to the champion's MLflow run."""
    from features.cli_settings import settings_or_exit
    from training.validation.runner import ValidationResult, validate_tasks

    console = Console()
    tasks = chosen_tasks(console, task)
    settings = settings_or_exit(console)

    def report(result: ValidationResult) -> None:
        if result.status == "skipped":
            console.print(f"[yellow]skipped[/yellow] {result.task}: {result.reason}")
        else:
            console.print(f"[green]validated[/green] {result.task} v{result.version} "
                          f"({result.seconds:.0f} s) -> {result.path}")

    try:
        results = validate_tasks(settings, tasks, on_result=report)
    except Exception as exc:
        console.print(f"[red]error:[/red] validation failed: {exc}")
        raise typer.Exit(code=1) from exc
    table = Table(title="patentrisk validation reports")
    for col in ("task", "version", "report", "headline"):
        table.add_column(col)
    for r in results:
        table.add_row(r.task, r.version or "-", str(r.path or f"skipped: {r.reason}"),
                      r.headline)
    console.print(table)
    if not any(r.status == "validated" for r in results):
        raise typer.Exit(code=1)
