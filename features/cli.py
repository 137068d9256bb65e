"""Command-line subcommands of the `features` package, registered on the root `patentrisk` app."""

from __future__ import annotations

import typer

from features.ingest import cli as ingest_cli
from features.pipelines import cli as pipelines_cli
from features.world import cli as world_cli


def register(app: typer.Typer) -> None:
    """Add `generate`, `ingest` and `features` to the root CLI."""
    world_cli.register(app)
    ingest_cli.register(app)
    pipelines_cli.register(app)
