"""CLI subcommands of `features.world`: `patentrisk generate`."""

from __future__ import annotations

import logging
import time

import typer
from rich.console import Console
from rich.table import Table

from features.cli_settings import settings_or_exit
from features.store import TableStore


def register(app: typer.Typer) -> None:
    """Add `generate` to the root CLI."""

    @app.command("generate")
    def generate(
        patents: int = typer.Option(
            None, "--patents", help="Number of patents (default PATENTRISK_WORLD_PATENTS)."
        ),
        seed: int = typer.Option(None, "--seed", help="Random seed (default PATENTRISK_SEED)."),
        dataset: str = typer.Option(
            None, "--dataset", help="Dataset folder name (default PATENTRISK_DATASET, 'world')."
        ),
    ) -> None:
        """Generate the synthetic patent world with its ground truth into the dataset folder."""
        from features.world.generate import generate_world

        console = Console()
        settings = settings_or_exit(console, world_patents=patents, seed=seed, dataset=dataset)
        logging.basicConfig(level=settings.log_level)
        store = TableStore(settings.dataset_dir)
        console.print(
            f"generating {settings.world_patents:,} patents, seed {settings.seed}, "
            f"into {settings.dataset_dir}"
        )
        started = time.perf_counter()
        summary = generate_world(store, settings.world_patents, settings.seed, show_progress=True)
        elapsed = time.perf_counter() - started

        out = Table(title=f"synthetic world '{settings.dataset}' ({elapsed:.1f} s)")
        out.add_column("table")
        out.add_column("rows", justify="right")
        for name, rows in summary.table_rows.items():
            out.add_row(name, f"{rows:,}")
        console.print(out)
        rates = Table(title="headline rates")
        rates.add_column("measure")
        rates.add_column("value", justify="right")
        rates.add_row(
            "patents ever sued (granted by 2015)", f"{summary.lifetime_litigation_rate:.2%}"
        )
        rates.add_row("suits per 1,000 patent-years", f"{summary.suits_per_1000_patent_years:.2f}")
        rates.add_row("NPE share of plaintiffs", f"{summary.npe_plaintiff_share:.1%}")
        rates.add_row("loan default rate (closed loans)", f"{summary.loan_default_rate:.2%}")
        rates.add_row("citations per patent", f"{summary.citations_per_patent:.1f}")
        console.print(rates)
