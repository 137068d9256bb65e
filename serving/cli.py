"""The `patentrisk` command line: the root app that gathers every package's subcommands.

This module is the composition root of the product: it is the only place that imports all four
packages, and it does so lazily inside commands so that `--help` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import typer
from rich.console import Console

import features.cli
import models.cli
import training.cli
from features.cli_settings import settings_or_exit
from features.settings import Settings
from serving.auth import CallerRole

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.orm import Session

app = typer.Typer(
    name="patentrisk",
    help="Patent risk and value scoring for patent insurance and patent-pledge lending.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.callback()
def _root() -> None:
    """Patent risk and value scoring for patent insurance and patent-pledge lending."""
    # Passive OpenMP waiting: on a shared, oversubscribed CPU, spinning LightGBM threads slow
    # every fit and prediction several-fold. Must be set before LightGBM loads its runtime.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _settings() -> Settings:
    """Settings from the environment, with a one-line error on a bad value."""
    return settings_or_exit(console)


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
    host: str | None = typer.Option(None, help="Bind address (default PATENTRISK_HOST)."),
    port: int | None = typer.Option(None, help="Port (default PATENTRISK_PORT)."),
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    from serving.app import create_app
    from serving.logs import configure_logging

    settings = _settings()
    configure_logging(settings)
    # log_config=None: uvicorn's own loggers go through the masking handler with request ids.
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,
    )


@app.command("demo")
def demo(
    serve_api: bool = typer.Option(True, "--serve/--no-serve", help="Serve the API afterwards."),
    trials: int = typer.Option(None, "--trials", min=0, help="Optuna trials per task."),
) -> None:
    """Build the embedded demo data, train every model and serve the API."""
    from rich.table import Table

    from serving.demo import prepare_demo
    from serving.logs import configure_logging

    settings = _settings()
    configure_logging(settings)
    try:
        state = prepare_demo(settings, say=console.print, trials=trials)
    except Exception as exc:
        console.print(f"[red]error:[/red] demo failed: {exc}")
        raise typer.Exit(code=1) from exc
    if state.results:
        from training.cli import results_table

        console.print(results_table(list(state.results)))
    table = Table("role", "X-API-Key", title=f"demo API keys (also in {state.keys_file})")
    for role, key in state.keys.items():
        table.add_row(role, key)
    console.print(table)
    if serve_api:
        console.print(f"serving on http://{settings.host}:{settings.port} (docs at /docs)")
        serve(host=None, port=None)


keys_app = typer.Typer(help="Manage API keys (stored hashed; a new key is shown once).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")

ROLE_HELP = "What the key may do: underwriter, bank, scientist, regulator or admin."


@keys_app.command("create")
def keys_create(
    role: CallerRole = typer.Option(..., "--role", case_sensitive=False, help=ROLE_HELP),
    name: str = typer.Option(None, "--name", help="Label to recognise the key by."),
    expires_in_days: int = typer.Option(
        None, "--expires-in-days", min=1, max=3650,
        help="Days until the key stops working (default: it does not expire).",
    ),
) -> None:
    """Create an API key for ROLE and print it once."""
    import datetime as dt

    from serving import crud

    expires_in = dt.timedelta(days=expires_in_days) if expires_in_days else None
    with _key_session() as session:
        row, raw = crud.create_api_key(session, role, name, expires_in=expires_in)
    expiry = f", expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
    console.print(f"created key [bold]{row.id}[/bold] ({row.role}, {row.name!r}{expiry})")
    console.print("store it now, it is not shown again:")
    typer.echo(raw)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (ids, roles, names; never the keys themselves)."""
    from rich.table import Column, Table

    from serving import crud

    with _key_session() as session:
        rows = crud.list_api_keys(session)
    from serving.tables import utc_now

    table = Table(Column("id", no_wrap=True), "role", Column("name", no_wrap=True), "created",
                  "expires", "last used (UTC)", "revoked", title="API keys (dates in UTC)")

    def day(value: dt.datetime | None) -> str:
        return value.strftime("%Y-%m-%d") if value else ""

    now = utc_now()
    for r in rows:
        last = r.last_used_at.strftime("%Y-%m-%d %H:%M") if r.last_used_at else ""
        table.add_row(r.id, r.role, r.name, day(r.created_at), day(r.expires_at), last,
                      day(r.revoked_at))
    console.print(table)
    active = sum(r.revoked_at is None and (r.expires_at is None or r.expires_at > now)
                 for r in rows)
    console.print(f"{len(rows)} keys, {active} active")


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Argument(..., help="Id of the key, e.g. key_3f2a9c1d7e4b."),
) -> None:
    """Revoke key KEY_ID: requests with it get 401 from now on."""
    from serving import crud
    from serving.errors import ApiKeyNotFoundError

    with _key_session() as session:
        try:
            row = crud.revoke_api_key(session, key_id)
        except ApiKeyNotFoundError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from None
    console.print(f"revoked {row.id} ({row.role}, {row.name!r})")


@contextmanager
def _key_session() -> Iterator[Session]:
    """A session on the migrated assessment store of the configured settings."""
    from serving.database import make_engine, make_sessionmaker, migrate

    engine = make_engine(_settings().resolved_database_url)
    try:
        migrate(engine)
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


features.cli.register(app)
models.cli.register(app)
training.cli.register(app)


def main() -> None:
    """Entry point for `python -m serving.cli`."""
    app()


if __name__ == "__main__":
    main()
