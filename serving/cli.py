"""The `patentrisk` command line: the root app that gathers every package's subcommands.

This module is the composition root of the product: it is the only place that imports all four
packages, and it does so lazily inside commands so that `--help` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

import features.cli
import models.cli
import serving.bulk.cli
import serving.reports.cli
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
    workers: int = typer.Option(
        1, "--workers", min=1, max=64,
        help="uvicorn worker processes; they share one online store (Redis or the file)."),
) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    from serving.logs import configure_logging

    settings = _settings()
    configure_logging(settings)
    server = uvicorn_options(settings, host or settings.host, port or settings.port)
    if workers > 1:
        # Each worker process builds its app from the same PATENTRISK_* environment.
        # A worker loads the models and opens the store before it answers the supervisor's
        # health check; on a busy machine that takes longer than uvicorn's default 5 s.
        uvicorn.run("serving.app:app_from_environment", factory=True, workers=workers,
                    timeout_worker_healthcheck=120, **server)
        return
    from serving.app import create_app

    uvicorn.run(create_app(settings), **server)


def uvicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """The `uvicorn.run` options of `patentrisk serve` (besides the app and the workers)."""
    # log_config=None: uvicorn's own loggers go through the masking handler with request ids.
    return {"host": host, "port": port, "log_level": settings.log_level.lower(),
            "timeout_keep_alive": settings.keep_alive_seconds, "log_config": None,
            "loop": settings.server_loop, "http": settings.server_http}


@app.command("materialize")
def materialize_cmd(
    force: bool = typer.Option(
        False, "--force", help="Rebuild even when the stored materialization matches."),
) -> None:
    """Materialize features and champion outputs of the active dataset into the online store."""
    from serving.logs import configure_logging

    settings = _settings()
    configure_logging(settings)
    _materialize(settings, force=force)


def _materialize(settings: Settings, force: bool = True) -> None:
    """Run one materialization with a progress bar; the last line reports rows and seconds."""
    import sqlite3

    import duckdb
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from serving.modelset import load_served_models
    from serving.online.backends import open_online_store
    from serving.online.materialize import Stamp, expected_stamp, materialize

    models = load_served_models(settings)
    store = open_online_store(settings.online_store_url, settings.data_dir, settings.dataset)
    current = store.current()
    if current is not None and not force:
        same = not Stamp.from_dict(current.manifest["stamp"]).differences(
            expected_stamp(settings, models))
        rows = current.manifest["rows"]
        current.close()
        if same:
            console.print(f"the online store matches the data and models (generation "
                          f"{current.generation}): {rows['patent']:,} patents, "
                          f"{rows['firm']:,} firms; nothing to do")
            store.close()
            return
    bar = Progress(TextColumn("[bold]materialize {task.fields[step]}"), BarColumn(),
                   TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=console,
                   transient=True)
    try:
        with bar:
            task = bar.add_task("materialize", total=1.0, step="start")
            if not store.try_lock(3600):
                raise RuntimeError("another materialization of this store is running")
            try:
                report = materialize(settings, models, store,
                                     progress=lambda step, f: bar.update(task, completed=f,
                                                                         step=step))
            finally:
                store.unlock()
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        console.print(f"[red]error:[/red] materialize failed: {exc}")
        raise typer.Exit(code=1) from None
    except (OSError, sqlite3.Error, duckdb.IOException) as exc:
        # A full disk, a read-only or unwritable store folder: the new generation was dropped and
        # the one in service stays.
        console.print(f"[red]error:[/red] materialize failed writing the online store "
                      f"({exc.__class__.__name__}: {exc}); is its folder writable and is there "
                      "room on its disk? The generation in service is unchanged")
        raise typer.Exit(code=1) from None
    finally:
        store.close()
    models_used = ", ".join(f"{t} {v}" for t, v in report.stamp.models.items()) or "none"
    console.print(f"store {store.url}, generation {report.generation}, as of "
                  f"{report.stamp.as_of}, models: {models_used}")
    console.print(f"steps: {report.breakdown()}", soft_wrap=True)
    console.print(f"materialized {report.rows['patent']:,} patents and {report.rows['firm']:,} "
                  f"firms in {report.seconds:.1f} s")


def _materialize_after_ingest(dataset: str | None) -> None:
    """After an ingest: mark the old materialization stale by building the new one."""
    settings = settings_or_exit(console, dataset=dataset or None)
    console.print("rebuilding the online store for the ingested data")
    _materialize(settings, force=False)


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
    _materialize(settings, force=False)
    table = Table("role", "X-API-Key", title=f"demo API keys (also in {state.keys_file})")
    for role, key in state.keys.items():
        table.add_row(role, key)
    console.print(table)
    users = Table("username", "password", title="demo console sign-in (also in "
                  f"{settings.data_dir / 'demo-console.json'}; or sign in with an API key above)")
    for username, password in state.console_users.items():
        users.add_row(username, password)
    console.print(users)
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"console: {base}/console   API docs: {base}/docs")
    if serve_api:
        console.print(f"serving on {base}")
        serve(host=None, port=None, workers=1)


@app.command("simulate-book")
def simulate_book_cmd(
    year: int = typer.Option(..., "--year", help="Policy year to simulate (at most the data's "
                             "last year)."),
    enforcement: int = typer.Option(120, min=0, help="Enforcement policies to try to bind."),
    liability: int = typer.Option(60, min=0, help="Liability policies to try to bind."),
    loans: int = typer.Option(60, min=0, help="Pledge loans of the year to guarantee."),
    seed: int = typer.Option(1, min=0, help="Seed of the sampling and the simulated delays."),
) -> None:
    """Bind a year of policies from the world and run its lawsuits and defaults as claims."""
    from rich.table import Table

    from serving.logs import configure_logging
    from serving.simulation import simulate_book

    settings = _settings()
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))
    try:
        with console.status(f"simulating policy year {year}"):
            book = simulate_book(settings, year, enforcement=enforcement, liability=liability,
                                 loans=loans, seed=seed)
    except RuntimeError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    table = Table("what", "kind", "count", title=f"simulated book of business {year}")
    for kind, n in sorted(book.policies.items()):
        table.add_row("policies bound", kind, str(n))
    for kind, n in sorted(book.claims.items()):
        table.add_row("claims", kind, str(n))
    for kind, n in sorted(book.skipped.items()):
        table.add_row("skipped", kind, str(n))
    console.print(table)
    console.print("the regulator's report: GET /v1/reports/book (format=csv for CSV)")


keys_app = typer.Typer(help="Manage API keys (stored hashed; a new key is shown once).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")

ROLE_HELP = ("What the key may do: underwriter, bank, scientist, regulator, adjuster or "
             "admin.")


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


users_app = typer.Typer(help="Manage console users (username and argon2-hashed password).",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


def _read_password(password_stdin: bool) -> str:
    """The new password: one line from stdin, or asked twice without echo."""
    import sys

    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def users_create(
    username: str = typer.Argument(..., help="Sign-in name: 3-64 letters, digits, _ . -"),
    role: CallerRole = typer.Option(..., "--role", case_sensitive=False, help=ROLE_HELP),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Create a console user with ROLE; the password is asked for (or read from stdin)."""
    from serving.console.users import create_user
    from serving.errors import InvalidInputError

    password = _read_password(password_stdin)
    with _key_session() as session:
        try:
            row = create_user(session, username, role, password)
        except InvalidInputError as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(code=2) from None
    console.print(f"created console user [bold]{row.username}[/bold] ({row.role}, {row.id})")


@users_app.command("list")
def users_list() -> None:
    """List console users (names, roles, state; never the password hashes)."""
    from rich.table import Table

    from serving.console.users import list_users

    with _key_session() as session:
        rows = list_users(session)
    table = Table("id", "username", "role", "created (UTC)", "disabled (UTC)")
    for r in rows:
        disabled = r.disabled_at.strftime("%Y-%m-%d %H:%M") if r.disabled_at else ""
        table.add_row(r.id, r.username, r.role, r.created_at.strftime("%Y-%m-%d %H:%M"), disabled)
    console.print(table)


@users_app.command("disable")
def users_disable(username: str = typer.Argument(..., help="The user to disable.")) -> None:
    """Disable USERNAME: its console sessions stop working at once."""
    from serving.console.users import UserNotFoundError, disable_user

    with _key_session() as session:
        try:
            row = disable_user(session, username)
        except UserNotFoundError as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(code=1) from None
    console.print(f"disabled {row.username} ({row.role})")


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


features.cli.register(app, after_ingest=_materialize_after_ingest)
models.cli.register(app)
training.cli.register(app)
serving.bulk.cli.register(app)
serving.reports.cli.register(app)


def main() -> None:
    """Entry point for `python -m serving.cli`."""
    app()


if __name__ == "__main__":
    main()
