"""CLI subcommands of `features.pipelines`: `patentrisk features`."""

from __future__ import annotations

import time
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to the root CLI."""

    @app.command("features")
    def features_cmd(
        task: list[str] = typer.Option(
            None, "--task", "-t", help="Task(s) to build (default: all five)."
        ),
        out: Path = typer.Option(
            None, help="Output folder (default: data_dir/features/<dataset>)."
        ),
        check_leakage: bool = typer.Option(
            True, help="Recompute a sample without post-T facts and fail on any difference."
        ),
    ) -> None:
        """Build point-in-time training snapshots of the active dataset and save them as Parquet."""
        from rich.console import Console
        from rich.progress import Progress
        from rich.table import Table

        from features.cli_settings import settings_or_exit
        from features.pipelines.leakage import LeakageError
        from features.pipelines.snapshots import build_snapshots
        from features.registry import TASKS
        from features.store import TableStore

        console = Console()
        settings = settings_or_exit(console)
        tasks = list(task) if task else list(TASKS)
        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            console.print(f"[red]error:[/red] --task must be one of {', '.join(TASKS)}, "
                          f"got {unknown[0]}")
            raise typer.Exit(code=2)
        store = TableStore(settings.dataset_dir)
        if not store.exists("patents"):
            console.print(f"[red]error:[/red] no dataset at {settings.dataset_dir} "
                          "(run `patentrisk generate` or `patentrisk ingest` first)")
            raise typer.Exit(code=1)
        target = out or settings.data_dir / "features" / settings.dataset
        target.mkdir(parents=True, exist_ok=True)
        con = store.connect()
        summary = Table(title=f"Snapshots of dataset {settings.dataset}")
        for col in ("task", "rows", "features", "as-of dates", "label mean", "seconds", "file"):
            summary.add_column(col)
        with Progress(console=console) as progress:
            bar = progress.add_task("building snapshots", total=len(tasks))
            for name in tasks:
                progress.update(bar, description=f"building {name}")
                start = time.perf_counter()
                try:
                    frame = build_snapshots(con, name, check_leakage=check_leakage)
                except (LeakageError, ValueError) as exc:
                    console.print(f"[red]error:[/red] {name}: {exc}")
                    raise typer.Exit(code=1) from None
                path = target / f"{name}.parquet"
                frame.to_parquet(path, index=False)
                n_feat = frame.shape[1] - 4
                summary.add_row(
                    name, f"{len(frame):,}", str(n_feat), str(frame["as_of"].nunique()),
                    f"{frame['label'].mean():.4g}" if len(frame) else "-",
                    f"{time.perf_counter() - start:.1f}", str(path),
                )
                progress.advance(bar)
        console.print(summary)
