"""CLI subcommands of `features.pipelines`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's subcommands to the root CLI."""
