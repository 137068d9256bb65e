"""Alembic environment: runs on the connection handed over by `serving.database.migrate`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from serving.tables import Base

# Key of a PostgreSQL advisory lock so that several workers starting at once migrate one by one.
_MIGRATION_LOCK = 73_012_024


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        url = context.config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("alembic needs a connection or sqlalchemy.url")
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            _run(conn)
        engine.dispose()
        return
    _run(connection)


def _run(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run upgrade online")
run_migrations_online()
