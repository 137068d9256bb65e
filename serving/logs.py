"""Logging of the service: request ids on every line and answer, and secrets masked.

Every request carries an id: the client's `X-Request-ID` when it is a short token, otherwise a
new one. The id is echoed in the response header, in every error body and in every log line
written while the request runs. Log lines never show secrets: URL passwords, API key material
and the configured secret values are replaced by `***` before any handler sees them.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any, TextIO

from features.settings import Settings
from serving.metrics import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID: ContextVar[str] = ContextVar("patentrisk_request_id", default="-")
# A client's id is kept only when it is a short plain token (no header or log injection).
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)[^@\s]+@")
_PASSWORD_PARAM = re.compile(r"(?P<head>\bpassword\s*[=:]\s*)[^\s&;,'\"]+", re.IGNORECASE)
_KEY_MATERIAL = re.compile(r"\bprk_[A-Za-z0-9_\-]{8,}")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def current_request_id() -> str:
    """The id of the request being answered (`-` outside a request)."""
    return _REQUEST_ID.get()


class RequestIdMiddleware:
    """Give every HTTP request an id (the client's `X-Request-ID` or a new one) and echo it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set the request id for the request's context and add it to the response headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _client_request_id(scope) or uuid.uuid4().hex
        # Not reset afterwards: the 500 handler runs outside this middleware and still needs it;
        # each request runs in its own task, so the value never leaks into another request.
        _REQUEST_ID.set(request_id)
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0] != header[0]]
                message["headers"] = [*headers, header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def _client_request_id(scope: Scope) -> str | None:
    """The client's `X-Request-ID` when it is a plain token of at most 128 characters."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _CLIENT_ID.match(text) else None
    return None


class SecretMasker:
    """Replaces URL passwords, `password=` parameters, API keys and known secrets by `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """`text` with every secret it holds masked."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)
        text = _PASSWORD_PARAM.sub(lambda m: m.group("head") + MASK, text)
        return _KEY_MATERIAL.sub("prk_" + MASK, text)


def settings_secrets(settings: Settings) -> list[str]:
    """The secret values of `settings`: admin key, console signing key, passwords in URLs."""
    import sqlalchemy as sa

    found: list[str] = []
    for secret in (settings.admin_api_key, settings.console_secret):
        if secret is not None:
            found.append(secret.get_secret_value())
    urls = [u.get_secret_value() for u in (settings.database_url, settings.mlflow_tracking_uri)
            if u is not None]
    for url in [*urls, settings.online_store_url or ""]:
        if not url:
            continue
        try:
            password = sa.make_url(url).password
        except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse: the regexes still mask
            password = None
        if password:
            found.append(str(password))
    return found


class MaskingFormatter(logging.Formatter):
    """A formatter whose whole output (message, arguments, traceback) is masked."""

    def __init__(self, masker: SecretMasker, fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        """The masked log line."""
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return self.masker.mask(super().format(record))


def masking_record_factory(
    masker: SecretMasker, base: Callable[..., logging.LogRecord]
) -> Callable[..., logging.LogRecord]:
    """A log record factory that masks each message and tags it with the request id.

    Masking at creation covers every handler (also ones other code installs), not only ours.
    """

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        record.request_id = current_request_id()
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: leave it to logging's own report
            return record
        masked = masker.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, ()
        return record

    return factory


def configure_logging(settings: Settings, stream: TextIO | None = None) -> SecretMasker:
    """Send the process's logs to `stream` (stderr) at the settings' level, masked, with ids."""
    masker = SecretMasker(settings_secrets(settings))
    base = logging.getLogRecordFactory()
    base = getattr(base, "patentrisk_base", base)  # configuring twice wraps the original once
    factory = masking_record_factory(masker, base)
    factory.patentrisk_base = base  # type: ignore[attr-defined]  # marker read above
    logging.setLogRecordFactory(factory)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(MaskingFormatter(masker))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "patentrisk", False)]:
        root.removeHandler(old)
    handler.patentrisk = True  # type: ignore[attr-defined]  # marks the handler as ours
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return masker
