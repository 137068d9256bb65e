"""The console's signed session cookie, its CSRF token and the signing secret.

The cookie holds only who signed in (an API key id or a console user id) and the CSRF token,
signed with itsdangerous (HMAC-SHA1 over a derived key) and timestamped, so a tampered or
expired cookie is simply not a session. It is HttpOnly and SameSite=Strict; the raw API key and
the password are never stored in it.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from features.settings import Settings

SESSION_COOKIE = "patentrisk_session"
LANG_COOKIE = "patentrisk_lang"
CSRF_FIELD = "csrf_token"
SECRET_FILE = "console-secret"
_SALT = "patentrisk-console-session"


@dataclass(frozen=True)
class ConsoleSession:
    """One browser's session: its CSRF token and, once signed in, the subject."""

    csrf: str
    # "key:<api key id>" or "user:<console user id>"; None before sign-in.
    subject: str | None = None

    @staticmethod
    def anonymous() -> ConsoleSession:
        """A fresh session with a new CSRF token and nobody signed in."""
        return ConsoleSession(csrf=secrets.token_urlsafe(32))

    def signed_in(self, subject: str) -> ConsoleSession:
        """A new session for `subject` with a new CSRF token (no fixation of the old one)."""
        return ConsoleSession(csrf=secrets.token_urlsafe(32), subject=subject)

    def accepts(self, token: str | None) -> bool:
        """Whether a submitted form's token is this session's (constant time)."""
        return bool(token) and hmac.compare_digest(str(token), self.csrf)


def signing_secret(settings: Settings) -> str:
    """`Settings.console_secret`, or a random secret kept in data_dir/console-secret (0600)."""
    if settings.console_secret:
        return settings.console_secret.get_secret_value()
    path: Path = settings.data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret)
    return secret


class SessionCodec:
    """Signs sessions into cookie values and reads them back within their lifetime."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age_seconds = max_age_seconds

    def dumps(self, session: ConsoleSession) -> str:
        """The cookie value of `session`, signed and timestamped now."""
        return self._serializer.dumps({"csrf": session.csrf, "sub": session.subject})

    def loads(self, value: str | None) -> ConsoleSession | None:
        """The session in a cookie value, or None when missing, forged or expired."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age_seconds)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        sub = data.get("sub")
        return ConsoleSession(csrf=data["csrf"], subject=sub if isinstance(sub, str) else None)
