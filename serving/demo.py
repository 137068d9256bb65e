"""The demo: build the synthetic world, train every model, one API key and console user per role.

Each step is skipped when its result is already there, so `make run` is quick the second time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from features.settings import Settings
from features.store import TableStore

if TYPE_CHECKING:
    from training.runs import TaskResult

log = logging.getLogger(__name__)

DEMO_ROLES = ("underwriter", "bank", "scientist", "regulator", "adjuster", "admin")


@dataclass(frozen=True)
class DemoState:
    """What the demo prepared: the dataset, which tasks it trained and the demo keys file."""

    dataset_dir: Path
    generated: bool
    trained: tuple[str, ...]
    keys_file: Path
    keys: dict[str, str] = field(repr=False)
    results: tuple[TaskResult, ...] = ()
    # Console sign-in of each demo user: username -> password (also in data_dir/demo-console.json).
    console_users: dict[str, str] = field(default_factory=dict, repr=False)


def missing_champions(settings: Settings) -> list[str]:
    """Tasks whose `champion` alias does not resolve in the configured registry."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from models.tasks import TASK_NAMES, task_spec

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uri = settings.resolved_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    missing = []
    for task in TASK_NAMES:
        try:
            client.get_model_version_by_alias(task_spec(task).registered_name, "champion")
        except MlflowException:
            missing.append(task)
    return missing


def ensure_demo_keys(settings: Settings) -> tuple[Path, dict[str, str]]:
    """One API key per role, created once and kept in data_dir/demo-keys.json (mode 0600)."""
    from serving import crud
    from serving.auth import CallerRole
    from serving.database import make_engine, make_sessionmaker, migrate

    path = settings.data_dir / "demo-keys.json"
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        with make_sessionmaker(engine)() as session:
            if path.exists():
                keys = json.loads(path.read_text())
                if all(crud.caller_for_key(session, keys.get(r, "")) for r in DEMO_ROLES):
                    return path, keys
            keys = {}
            for role in DEMO_ROLES:
                _, raw = crud.create_api_key(session, CallerRole(role), f"demo-{role}")
                keys[role] = raw
    finally:
        engine.dispose()
    _write_private(path, keys)
    return path, keys


def _write_private(path: Path, data: dict[str, str]) -> None:
    """Write `data` as JSON readable by the owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


def ensure_demo_users(settings: Settings) -> dict[str, str]:
    """One console user per role (`demo-<role>`, random password), kept in demo-console.json."""
    import secrets

    from serving.auth import CallerRole
    from serving.console.users import authenticate, create_user, set_password
    from serving.database import make_engine, make_sessionmaker, migrate
    from serving.errors import InvalidInputError

    path = settings.data_dir / "demo-console.json"
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        with make_sessionmaker(engine)() as session:
            users = json.loads(path.read_text()) if path.exists() else {}
            if users and all(authenticate(session, u, p) for u, p in users.items()):
                return users
            users = {}
            for role in DEMO_ROLES:
                name, password = f"demo-{role}", secrets.token_urlsafe(12)
                try:
                    create_user(session, name, CallerRole(role), password)
                except InvalidInputError as exc:
                    if exc.rule != "unique":
                        raise
                    # An earlier demo made the user and its passwords file is gone: new password.
                    set_password(session, name, password)
                users[name] = password
    finally:
        engine.dispose()
    _write_private(path, users)
    return users


def simulate_demo_book(settings: Settings, say: Callable[[str], None]) -> None:
    """Simulate the data's last year of policies and claims once, so the book report has content."""
    import sqlalchemy as sa

    from serving.database import make_engine
    from serving.simulation import simulate_book

    engine = make_engine(settings.resolved_database_url)
    try:
        with engine.connect() as con:
            bound = con.execute(sa.text("SELECT count(*) FROM policies")).scalar()
    finally:
        engine.dispose()
    if bound:
        say(f"{bound} policies already bound; skipping the simulated book")
        return
    # The year before the data's last one: its policies' periods (and their suits) end within it.
    end = TableStore(settings.dataset_dir).meta().get("end_date")
    year = (int(str(end)[:4]) if end else dt.date.today().year) - 1
    say(f"simulating policy year {year}: policies and claims from the world's cases")
    book = simulate_book(settings, year)
    say(f"bound {sum(book.policies.values())} policies, {sum(book.claims.values())} claims "
        "(GET /v1/reports/book)")


def prepare_demo(
    settings: Settings, say: Callable[[str], None] = log.info, trials: int | None = None
) -> DemoState:
    """Generate the world if missing, train tasks without a champion, ensure demo keys."""
    from features.world import generate_world
    from training.runs import train_tasks

    store = TableStore(settings.dataset_dir)
    generated = False
    if not store.exists("patents"):
        say(f"generating the synthetic world: {settings.world_patents} patents, "
            f"seed {settings.seed} -> {settings.dataset_dir}")
        generate_world(store, settings.world_patents, settings.seed, show_progress=True)
        generated = True
    else:
        say(f"using the dataset at {settings.dataset_dir}")
    todo = missing_champions(settings)
    results: list[TaskResult] = []
    if todo:
        say(f"training {', '.join(todo)} into {settings.resolved_tracking_uri}")
        results = train_tasks(settings, todo, trials=trials)
        failed = [r.task for r in results if r.status != "trained"]
        if failed:
            raise RuntimeError(f"demo could not train: {', '.join(failed)}")
    else:
        say("every task has a champion model; skipping training")
    keys_file, keys = ensure_demo_keys(settings)
    users = ensure_demo_users(settings)
    simulate_demo_book(settings, say)
    return DemoState(
        settings.dataset_dir, generated, tuple(todo), keys_file, keys, tuple(results), users
    )
