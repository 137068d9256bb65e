"""The web console (专利保险服务平台) at /console: server-rendered pages over the scoring layer.

Pages call the same scoring functions and the same recorder as the API, so every number shown
is the API's and every scored answer is stored as an API call would store it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from features.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"


def console_routers() -> list[APIRouter]:
    """Every router of the console."""
    from serving.console import (
        book_page,
        claim_pages,
        model_review,
        pledge,
        policy_pages,
        profile,
        quoting,
        report_pages,
        search,
        signin,
        supervision,
    )

    return [
        signin.router, search.router, profile.router, quoting.router, pledge.router,
        supervision.router, model_review.router,
        policy_pages.router, claim_pages.router, book_page.router, report_pages.router,
    ]


def install_console(app: FastAPI, settings: Settings) -> None:
    """Mount the console on `app`: static files, routers, error pages, session codec."""
    from serving.console.access import ConsoleState
    from serving.console.error_pages import install_console_error_pages
    from serving.console.rendering import make_templates
    from serving.console.sessions import SessionCodec, signing_secret

    app.state.console = ConsoleState(
        codec=SessionCodec(signing_secret(settings), settings.console_session_minutes * 60),
        templates=make_templates(),
    )
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    for router in console_routers():
        app.include_router(router)
    install_console_error_pages(app)
