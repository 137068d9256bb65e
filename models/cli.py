"""Command-line subcommands of the `models` package, registered on the root `patentrisk` app."""

from __future__ import annotations

import typer

from models.policy import cli as policy_cli


def register(app: typer.Typer) -> None:
    """Add the `policy` commands to the root CLI."""
    policy_cli.register(app)
