"""Console users: username, role and an argon2 password hash, created by `patentrisk users`.

Passwords are chosen by people, so unlike the 256-bit API keys they are stored with a slow,
salted hash (argon2id with argon2-cffi's recommended parameters) that makes guessing costly.
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from serving.auth import Caller, CallerRole
from serving.errors import InvalidInputError, NotFoundError
from serving.tables import Base, UTCDateTime, utc_now

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD_LENGTH = 10
USER_ID_PREFIX = "usr_"

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash verified against when the username is unknown: both paths cost one argon2 check."""
    return _hasher.hash("patentrisk-no-such-user")


class ConsoleUser(Base):
    """A person who signs in to the console with a username and password."""

    __tablename__ = "console_users"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def caller(self) -> Caller:
        """The caller this user acts as; its id is what assessments record as the caller."""
        return Caller(key_id=self.id, name=self.username, role=CallerRole(self.role))


class UserNotFoundError(NotFoundError):
    """A username is unknown (404)."""

    code = "user_not_found"


def check_password_rule(password: str) -> None:
    """Raise `InvalidInputError` unless the password is long enough."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(
            "password", "min_length",
            f"password must be at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}",
        )


def create_user(session: Session, username: str, role: CallerRole, password: str) -> ConsoleUser:
    """Create and commit a user with an argon2 hash of `password`; 422 on a bad or taken name."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInputError(
            "username", "pattern",
            "username must be 3-64 letters, digits, '_', '.' or '-', got " + repr(username),
        )
    check_password_rule(password)
    row = ConsoleUser(
        id=USER_ID_PREFIX + uuid.uuid4().hex[:12], username=username, role=role.value,
        password_hash=_hasher.hash(password), created_at=utc_now(),
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise InvalidInputError(
            "username", "unique", f"username {username!r} is taken"
        ) from None
    return row


def authenticate(session: Session, username: str, password: str) -> ConsoleUser | None:
    """The active user whose password matches, or None (same work for unknown names)."""
    row = session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == username))
    stored = row.password_hash if row is not None else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
        session.commit()
    return row


def active_user(session: Session, user_id: str) -> ConsoleUser | None:
    """The user with `user_id` unless disabled or unknown."""
    row = session.get(ConsoleUser, user_id)
    return row if row is not None and row.disabled_at is None else None


def list_users(session: Session) -> list[ConsoleUser]:
    """Every user, oldest first (hashes are never shown)."""
    return list(session.scalars(sa.select(ConsoleUser).order_by(ConsoleUser.created_at)).all())


def set_password(session: Session, username: str, password: str) -> ConsoleUser:
    """Replace `username`'s password (and enable it again); raise if unknown."""
    check_password_rule(password)
    row = session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == username))
    if row is None:
        raise UserNotFoundError(f"user {username!r} not found")
    row.password_hash = _hasher.hash(password)
    row.disabled_at = None
    session.commit()
    return row


def disable_user(session: Session, username: str) -> ConsoleUser:
    """Disable `username` from now on (its sessions stop working); raise if unknown."""
    row = session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == username))
    if row is None:
        raise UserNotFoundError(f"user {username!r} not found")
    if row.disabled_at is None:
        row.disabled_at = utc_now()
        session.commit()
    return row
