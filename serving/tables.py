"""SQLAlchemy tables of the assessment store: every answer given, and the API keys."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Plain JSON on every backend, also on PostgreSQL: `json` keeps the text as written, while JSONB
# re-prints numbers as NUMERIC (1e308 comes back as a 309-digit integer), so a stored assessment
# would not read back identically. Nothing queries inside these documents, so JSONB buys nothing.
JSONDocument = sa.JSON()


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Store aware datetimes converted to UTC; refuse naive ones (ambiguous)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC), got a naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Return stored timestamps as aware UTC datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the assessment store's tables."""


class Assessment(Base):
    """One stored answer: request, resolved features, outputs, explanation, versions, caller."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    caller_key_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    caller_role: Mapped[str] = mapped_column(sa.String(16))
    request: Mapped[Any] = mapped_column(JSONDocument)
    features: Mapped[Any] = mapped_column(JSONDocument)
    outputs: Mapped[Any] = mapped_column(JSONDocument)
    explanation: Mapped[Any] = mapped_column(JSONDocument)
    model_versions: Mapped[Any] = mapped_column(JSONDocument)
    policy_version: Mapped[str | None] = mapped_column(sa.String(64))
    policy_hash: Mapped[str | None] = mapped_column(sa.String(128))
    status: Mapped[str] = mapped_column(sa.String(32))


class ApiKey(Base):
    """An API key: its role, the SHA-256 of the raw key (never the key), expiry and last use."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # No expiry when null; a key past its expiry answers 401 like a revoked one.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Updated at most once a minute per key (LAST_USED_RESOLUTION), not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class MonitoringBin(Base):
    """Served rows per day, model version, variable and reference bin (no request data kept)."""

    __tablename__ = "model_monitoring_bins"

    day: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    task: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    model_version: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    variable: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    bin: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    rows: Mapped[int] = mapped_column(sa.BigInteger())
