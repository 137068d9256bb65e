"""`patentrisk batch`: the bulk run from the command line."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from features.cli_settings import settings_or_exit
from features.store import TableStore
from serving.bulk.job import ENGINES, BulkReport
from serving.bulk.records import ENTITIES

console = Console()


def register(app: typer.Typer) -> None:
    """Add `patentrisk batch` to the root CLI."""
    app.command("batch")(batch)


def _as_of(value: str | None, settings_as_of: date | None, end_date: date | None) -> date:
    """The run's as-of date: the option, else PATENTRISK_AS_OF, else the dataset's end date."""
    if value is not None:
        try:
            day = datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            raise typer.BadParameter(f"must be a date YYYY-MM-DD, got {value!r}",
                                     param_hint="--as-of") from None
    else:
        day = settings_as_of or end_date or date.today()
    if end_date is not None and day > end_date:
        raise typer.BadParameter(
            f"must be on or before the dataset end_date {end_date}, got {day}",
            param_hint="--as-of",
        )
    return day


def report_table(report: BulkReport) -> Table:
    """Steps of a bulk run with rows, seconds and rows per second."""
    table = Table(title=f"patentrisk batch ({report.engine}) as of {report.as_of} "
                        f"批量评分 -> {report.out}")
    for col in ("entity 实体", "step 步骤", "rows 行数", "seconds 秒", "rows/s 行/秒"):
        table.add_column(col, justify="right" if "rows" in col or "sec" in col else "left")
    for s in report.steps:
        table.add_row(s.entity, s.step, f"{s.rows:,}", f"{s.seconds:.2f}",
                      f"{s.rows_per_second:,.0f}" if s.rows else "-")
    return table


def batch(
    engine: str = typer.Option("duckdb", "--engine", help=f"Engine: {' or '.join(ENGINES)}."),
    as_of: str = typer.Option(
        None, "--as-of", help="Date YYYY-MM-DD (default PATENTRISK_AS_OF, else the data's end)."
    ),
    out: str = typer.Option(
        None, "--out", help="Output root (default DATA_DIR/bulk/<dataset>); Spark also takes "
        "hdfs://, s3a://, ... URIs."
    ),
    entity: list[str] = typer.Option(
        list(ENTITIES), "--entity", help=f"Entity kinds to score: {', '.join(ENTITIES)}."
    ),
    leakage_check: bool = typer.Option(
        True, "--leakage-check/--no-leakage-check",
        help="Recompute a sample with post-T facts removed and stop if a feature changes.",
    ),
) -> None:
    """Features, scores, SHAP and grades of every patent and firm as of a date, as Parquet."""
    from serving.bulk.job import run_bulk

    if engine not in ENGINES:
        raise typer.BadParameter(f"must be one of {list(ENGINES)}, got {engine!r}",
                                 param_hint="--engine")
    bad = [e for e in entity if e not in ENTITIES]
    if bad:
        raise typer.BadParameter(f"must be among {list(ENTITIES)}, got {bad}",
                                 param_hint="--entity")
    settings = settings_or_exit(console)
    logging.basicConfig(level=settings.log_level)
    end = TableStore(settings.dataset_dir).meta().get("end_date")
    day = _as_of(as_of, settings.as_of, date.fromisoformat(str(end)) if end else None)
    target = out or str(Path(settings.data_dir) / "bulk" / settings.dataset)
    console.print(f"scoring dataset {settings.dataset!r} as of {day} on {engine} -> {target}")
    try:
        report = run_bulk(settings, engine, day, target, entity,  # type: ignore[arg-type]
                          check_leakage=leakage_check)
    except Exception as exc:
        console.print(f"[red]error:[/red] batch failed: {exc}")
        raise typer.Exit(code=1) from exc
    console.print(report_table(report))
    versions = ", ".join(f"{t} v{v}" for t, v in report.model_versions.items())
    console.print(f"wrote {', '.join(f'{n:,} {e}s' for e, n in report.rows.items())} "
                  f"(models {versions}; policy {report.policy_version}) in {report.seconds:.1f} s"
                  f" / 已写出")
