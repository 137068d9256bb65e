"""Rendering console pages: templates with the layout's context, cookies, redirects."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from models.policy.money import exact, minor_units, rounded
from serving.auth import Caller
from serving.console.access import console_session, console_state
from serving.console.i18n import LANGUAGES, Translator, choose_language
from serving.console.pages import nav_pages
from serving.console.sessions import CSRF_FIELD, LANG_COOKIE, SESSION_COOKIE

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def make_templates() -> Jinja2Templates:
    """The console's Jinja2 templates (autoescaped) with its filters."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.filters["money"] = format_money
    env.filters["pct"] = format_pct
    env.filters["pretty_json"] = pretty_json
    env.filters["num"] = format_number
    return templates


def format_money(value: Any, currency: str = "") -> str:
    """1234567.8 -> '1,234,567.80 CNY': the amount at the currency's unit, as the API answers it.

    Quotes' money is a `Decimal` already at the unit (shown as it is); a float is taken at its
    shortest repr and rounded once (half up), never through binary rounding.
    """
    if value is None:
        return "—"
    number = value if isinstance(value, Decimal) else exact(float(value))
    if not number.is_finite():
        return f"{float(value):,.2f} {currency}".strip()
    places = minor_units(currency) if currency else 2
    amount = rounded(number, currency) if currency else number.quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{amount:,.{places}f} {currency}".strip()


def format_pct(value: Any, digits: int | None = None) -> str:
    """0.01234 -> '1.23 %'; small probabilities keep 3 significant digits (0.0123 %)."""
    if value is None:
        return "—"
    pct = float(value) * 100
    if digits is None:
        return f"{pct:.2f} %" if pct == 0 or abs(pct) >= 1 else f"{pct:.3g} %"
    return f"{pct:.{digits}f} %"


def format_number(value: Any) -> str:
    """A feature or metric value, short (4 significant digits)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return str(value)


def pretty_json(value: Any) -> str:
    """A stored JSON document indented for reading (non-ASCII kept)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def language(request: Request) -> str:
    """The language of this request: remembered cookie, else the browser's preference."""
    return choose_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def translator(request: Request) -> Translator:
    """The translator for this request's language."""
    return Translator(language(request))


def store_session(request: Request, response: Response) -> Response:
    """Write the session cookie when this request created or changed the session."""
    session = console_session(request)
    if session is getattr(request.state, "console_session_loaded", None):
        return response
    codec = console_state(request).codec
    response.set_cookie(
        SESSION_COOKIE, codec.dumps(session), max_age=codec.max_age_seconds, path="/console",
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )
    return response


def render(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> Response:
    """A console page: the template with the layout context, and the session cookie."""
    session = console_session(request)
    caller: Caller | None = getattr(request.state, "console_caller", None)
    t = translator(request)
    base = {
        "t": t,
        "lang": t.lang,
        "languages": LANGUAGES,
        "caller": caller,
        "nav": nav_pages(caller) if caller else [],
        "csrf_field": Markup(
            f'<input type="hidden" name="{CSRF_FIELD}" value="{Markup.escape(session.csrf)}">'
        ),
        "path": request.url.path,
        "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    response = console_state(request).templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return store_session(request, response)


def redirect(request: Request, url: str) -> Response:
    """A 303 redirect (after a form post) that keeps the session cookie."""
    return store_session(request, RedirectResponse(url, status_code=303))


def safe_next(url: str | None, default: str = "/console") -> str:
    """`url` if it is a path inside the console (no open redirect), else `default`."""
    if url and url.startswith("/console") and not url.startswith("//") and "\\" not in url:
        return url
    return default
