"""Request body size limit, enforced on the declared Content-Length and on the bytes streamed."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

from serving.errors import PayloadTooLargeError, error_body
from serving.metrics import ASGIApp, Message, Receive, Scope, Send


class BodyTooLargeError(HTTPException):
    """Raised from `receive` when the streamed body passes the limit.

    An HTTPException, because FastAPI re-raises those from body parsing (other exceptions become
    a 400) and the app's error handlers then answer 413 in the usual JSON shape.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=str(PayloadTooLargeError(limit)))


class BodySizeLimitMiddleware:
    """Answer 413 when a request body is larger than `max_bytes` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse oversized bodies before the app reads them, or as soon as the stream passes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            # Raised while a handler read the body outside FastAPI's own error handling.
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        """Send the 413 answer."""
        body = json.dumps(
            error_body("payload_too_large", str(PayloadTooLargeError(self.max_bytes)))
        ).encode()
        await send({
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        })
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    """The request's Content-Length header as an int, or None when absent or malformed."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
