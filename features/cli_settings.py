"""Settings for command-line commands: a bad value ends the command with a one-line reason."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console

from features.settings import Settings


def settings_or_exit(console: Console, **overrides: object) -> Settings:
    """Settings from the environment plus non-None overrides, or exit 2 naming the variable."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        console.print(f"[red]error:[/red] PATENTRISK_{field.upper()}: {err['msg']}")
        raise typer.Exit(code=2) from None
