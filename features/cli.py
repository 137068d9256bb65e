"""Command-line subcommands of the `features` package, registered on the root `patentrisk` app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the root CLI."""
