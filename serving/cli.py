"""The `patentrisk` command line: the root app that gathers every package's subcommands.

This module is the composition root of the product: it is the only place that imports all four
packages, and it does so lazily inside commands so that `--help` stays fast.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

import typer
from rich.console import Console

import features.cli
import models.cli
import training.cli
from features.settings import Settings

app = typer.Typer(
    name="patentrisk",
    help="Patent risk and value scoring for patent insurance and patent-pledge lending.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _settings() -> Settings:
    """Settings from the environment, with a one-line error on a bad value."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        console.print(f"[red]error:[/red] PATENTRISK_{field.upper()}: {err['msg']}")
        raise typer.Exit(code=2) from None


@app.command("version")
def version_cmd() -> None:
    """Print the installed patentrisk version."""
    try:
        v = version("patentrisk")
    except PackageNotFoundError:
        v = "0.0.0"
    console.print(f"patentrisk {v}")


@app.command("serve")
def serve(
    host: str = typer.Option(None, help="Bind address (default PATENTRISK_HOST)."),
    port: int = typer.Option(None, help="Port (default PATENTRISK_PORT)."),
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    from serving.app import create_app

    settings = _settings()
    logging.basicConfig(level=settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@app.command("demo")
def demo() -> None:
    """Build the embedded demo data, train every model and serve the API."""
    serve(host=None, port=None)


features.cli.register(app)
models.cli.register(app)
training.cli.register(app)


def main() -> None:
    """Entry point for `python -m serving.cli`."""
    app()


if __name__ == "__main__":
    main()
