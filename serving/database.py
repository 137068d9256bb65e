"""Engine, sessions and Alembic migrations of the assessment store (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; SQLite files get their folder created, WAL and a busy timeout.

    A server's connections are pinged at checkout (one the server dropped is replaced); a
    SQLite file's never go stale, so theirs are not. JSON columns are written by `json_text`.
    """
    sa_url = sa.make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "json_serializer": json_text}
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        kwargs["pool_pre_ping"] = False
    engine = sa.create_engine(sa_url, **kwargs)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def json_text(value: Any) -> str:
    """The JSON text of a JSON column's value, as `json.dumps` gives it but about 20 times faster.

    An assessment row holds a few hundred floats; orjson (C) writes the same JSON as
    `json.dumps` (though non-ASCII text as UTF-8, not escaped, and NaN as null, which
    `json_safe` values never hold). A value it refuses (e.g. an integer beyond 64 bits) is
    written by `json.dumps`.
    """
    try:
        return orjson.dumps(
            value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run while an assessment is written; wait rather than fail on a lock."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: sa.Engine) -> sessionmaker[Session]:
    """Session factory whose objects stay readable after commit (responses are built from them)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the store's schema to `revision` (Alembic `upgrade`), in one transaction."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    log.info("assessment store migrated", extra={"revision": revision, "url": _safe(engine)})


def current_revision(engine: sa.Engine) -> str | None:
    """The Alembic revision the store is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest Alembic revision of the packaged migrations (what `migrate` upgrades to)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def ping(engine: sa.Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def _safe(engine: sa.Engine) -> str:
    """The engine URL with any password hidden, for logs."""
    return engine.url.render_as_string(hide_password=True)
