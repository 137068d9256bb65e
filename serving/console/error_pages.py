"""Console errors as pages: sign-in redirects, 403/404 pages, and no stack trace ever.

The API's handlers answer JSON; for paths under /console the same errors become HTML pages in
the user's language. Unexpected errors are logged with an id that the page repeats.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.console.access import CsrfRefusedError, NotSignedInError, PageForbiddenError
from serving.console.rendering import render, store_session, translator
from serving.errors import ServiceError

log = logging.getLogger(__name__)

CONSOLE_PREFIX = "/console"


def _in_console(request: Request) -> bool:
    """Whether the request is for a console page."""
    return request.url.path == CONSOLE_PREFIX or request.url.path.startswith(CONSOLE_PREFIX + "/")


def error_page(request: Request, status_code: int, message: str) -> Response:
    """The console's error page with `message`."""
    return render(request, "error.html", status_code=status_code, message=message,
                  code=status_code)


def _unexpected_page(request: Request, exc: Exception) -> Response:
    """A 500 page naming only the logged error id."""
    error_id = uuid.uuid4().hex[:12]
    log.error("unhandled console error %s on %s %s", error_id, request.method, request.url.path,
              exc_info=exc)
    try:
        return error_page(request, 500, translator(request)("error.500", error_id=error_id))
    except Exception:  # noqa: BLE001 - the error page itself failed: plain text, still no trace
        log.exception("console error page failed for %s", error_id)
        return Response(f"internal error {error_id}", status_code=500, media_type="text/plain")


def _wrap(app: FastAPI, exc_type: type[Exception] | int,
          page: Callable[[Request, Any], Response]) -> None:
    """Answer `exc_type` with `page` under /console and with the API's handler elsewhere."""
    api_handler = app.exception_handlers.get(exc_type)

    async def handler(request: Request, exc: Any) -> Response:
        if _in_console(request) or api_handler is None:
            try:
                return page(request, exc)
            except Exception as failure:  # noqa: BLE001 - never let a trace through
                return _unexpected_page(request, failure)
        result = api_handler(request, exc)
        if hasattr(result, "__await__"):
            result = await result
        return result

    app.add_exception_handler(exc_type, handler)


def install_console_error_pages(app: FastAPI) -> None:
    """Register the console's error pages (call after the API's handlers are installed)."""

    def not_signed_in(request: Request, _exc: NotSignedInError) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        url = f"{CONSOLE_PREFIX}/signin?next={quote(target, safe='')}"
        return store_session(request, RedirectResponse(url, status_code=303))

    def forbidden(request: Request, _exc: PageForbiddenError) -> Response:
        return error_page(request, 403, translator(request)("error.403"))

    def csrf(request: Request, _exc: CsrfRefusedError) -> Response:
        return error_page(request, 403, translator(request)("error.csrf"))

    def service(request: Request, exc: ServiceError) -> Response:
        t = translator(request)
        if exc.status_code >= 500:
            return error_page(request, exc.status_code, t("error.unavailable", message=exc.message))
        return error_page(request, exc.status_code, exc.message)

    def http(request: Request, exc: StarletteHTTPException) -> Response:
        message = translator(request)("error.404") if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, message)

    def invalid(request: Request, exc: RequestValidationError) -> Response:
        from serving.errors import validation_items

        text = "; ".join(i["message"] for i in validation_items(exc.errors()))
        return error_page(request, 422, text)

    for exc_type in list(app.exception_handlers):
        # Subclasses with handlers of their own (ineligible applicants, ...) page like the rest.
        if isinstance(exc_type, type) and issubclass(exc_type, ServiceError) \
                and exc_type is not ServiceError:
            _wrap(app, exc_type, service)
    _wrap(app, NotSignedInError, not_signed_in)
    _wrap(app, PageForbiddenError, forbidden)
    _wrap(app, CsrfRefusedError, csrf)
    _wrap(app, ServiceError, service)
    _wrap(app, StarletteHTTPException, http)
    _wrap(app, RequestValidationError, invalid)
    _wrap(app, Exception, _unexpected_page)
