"""Command-line subcommands of the `features` package, registered on the root `patentrisk` app."""

from __future__ import annotations

from collections.abc import Callable

import typer

from features.ingest import cli as ingest_cli
from features.pipelines import cli as pipelines_cli
from features.world import cli as world_cli


def register(app: typer.Typer, after_ingest: Callable[[str | None], None] | None = None) -> None:
    """Add `generate`, `ingest` and `features` to the root CLI.

    `after_ingest(dataset)` runs after a successful ingest (the root CLI rebuilds the online
    store there, which this package does not know about).
    """
    world_cli.register(app)
    ingest_cli.register(app, after_ingest)
    pipelines_cli.register(app)
