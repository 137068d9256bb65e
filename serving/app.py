"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from features.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the patentrisk API for `settings`; startup work happens in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        yield

    app = FastAPI(
        title="patentrisk",
        version=_version(),
        description="Patent risk and value scores for patent insurance and pledge lending.",
        lifespan=lifespan,
    )

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process is up."""
        return {"status": "ok"}

    return app


def _version() -> str:
    """Installed version of the patentrisk distribution."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("patentrisk")
    except PackageNotFoundError:
        return "0.0.0"
