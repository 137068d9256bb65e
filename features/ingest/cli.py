"""CLI subcommands of `features.ingest`: `patentrisk ingest SOURCE PATH...`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table


def register(app: typer.Typer, after: Callable[[str | None], None] | None = None) -> None:
    """Add `ingest` to the root CLI; `after(dataset)` runs once an ingest succeeded."""
    if after is None:
        app.command("ingest")(ingest_command)
        return

    @functools.wraps(ingest_command)
    def ingest_then(**kwargs: object) -> None:
        ingest_command(**kwargs)  # type: ignore[arg-type]
        after(kwargs.get("dataset"))  # type: ignore[arg-type]

    app.command("ingest")(ingest_then)


def ingest_command(
    source: str = typer.Argument(
        ..., help="patentsview | uspto-litigation | uspto-maintenance | uspto-assignments | "
                  "cn-export"),
    paths: list[Path] = typer.Argument(..., help="Files of that source (see docs/ingest.md)."),
    dataset: str = typer.Option(
        None, "--dataset", help="Dataset name (default PATENTRISK_DATASET)."),
    end_date: str = typer.Option(
        None, "--end-date", help="Last date the data is complete for (YYYY-MM-DD); default the "
                                 "latest date loaded."),
    rejects: Path = typer.Option(None, "--rejects", help="Rejects CSV (default in the dataset)."),
) -> None:
    """Load public patent data files into a dataset of the canonical schema."""
    from features.cli_settings import settings_or_exit
    from features.ingest.delimited import SourceFileError
    from features.ingest.sources import ADAPTERS, DatasetWriteError, ingest
    from features.schema import SchemaError

    console = Console()
    if source not in ADAPTERS:
        console.print(f"[red]error:[/red] SOURCE must be one of {', '.join(ADAPTERS)}, "
                      f"got {source!r}")
        raise typer.Exit(code=2)
    settings = settings_or_exit(console, dataset=dataset or None)
    end: date | None = None
    if end_date:
        try:
            end = datetime.strptime(end_date, "%Y-%m-%d").date()
        except ValueError:
            console.print(f"[red]error:[/red] --end-date must be YYYY-MM-DD, got {end_date!r}")
            raise typer.Exit(code=2) from None
    progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.completed:,} records"), TimeElapsedColumn(),
                        console=console, transient=True)
    with progress:
        task = progress.add_task(f"ingest {source}", total=None)
        try:
            report = ingest(source, list(paths), settings, dataset, end_date=end,
                            rejects_path=rejects,
                            on_read=lambda n: progress.advance(task, n))
        except (SourceFileError, SchemaError, ValueError, DatasetWriteError) as exc:
            progress.stop()
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from None
    summary = Table(title=f"ingest {source} -> dataset {report.dataset}")
    summary.add_column("what")
    summary.add_column("rows", justify="right")
    summary.add_row("rows read", f"{report.rows_read:,}")
    for name, count in report.loaded.items():
        replaced = report.replaced.get(name, 0)
        summary.add_row(f"loaded into {name}" + (f" ({replaced:,} replaced)" if replaced else ""),
                        f"{count:,}")
    for rule, count in report.rejected.most_common():
        summary.add_row(f"rejected: {rule}", f"{count:,}")
    for what, count in report.notes.most_common():
        summary.add_row(f"note: {what}", f"{count:,}")
    console.print(summary)
    if report.rejects_path is not None:
        listed = "" if report.rejects_listed == report.rows_rejected else \
            f" (first {report.rejects_listed:,} listed)"
        console.print(f"rejects: {report.rejects_path}{listed}")
    console.print(f"end_date: {report.end_date or 'unknown'}")
