"""The FastAPI application factory: middleware, error mapping, routers and the lifespan."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline

from features.settings import Settings
from serving.assessment_writer import AssessmentWriter
from serving.console import install_console
from serving.database import make_engine, make_sessionmaker, migrate
from serving.dataset import open_dataset
from serving.errors import install_error_handlers
from serving.key_cache import CallerCache
from serving.limits import BodySizeLimitMiddleware
from serving.logs import RequestIdMiddleware
from serving.metrics import MetricsMiddleware, ServiceMetrics
from serving.modelset import ModelLoader, ModelSet, load_served_models
from serving.monitoring import ServingMonitor
from serving.online.backends import is_embedded_store
from serving.online.materialize import model_stamp
from serving.online.service import OnlineService
from serving.openapi import install_openapi
from serving.ratelimit import RateLimiter, make_rate_limiter

log = logging.getLogger(__name__)

DESCRIPTION = """\
Patent risk and value scores for patent insurance and patent-pledge lending.

Every call under `/v1` needs an API key in the `X-API-Key` header (`patentrisk keys create
--role ROLE`). Roles: `underwriter` (quotes), `bank` (loan assessments, valuations), `scientist`
(models, reload), `regulator` (read assessments, models, policies, claims, the book report,
market and rate reports), `adjuster` (claims), `admin` (everything). Reports: market and rates
for underwriter and regulator, portfolio for bank. Binding and money movements take an
`Idempotency-Key` header: a retry returns the first answer and creates nothing new.
Errors: 401 no valid key, 403 wrong role, 404 unknown entity, 413 body too large, 422 invalid
input (`detail` lists `field`, `rule`, `message`), 409 conflict (names the `rule`, or the
`current_state` and `allowed` next states of a policy or claim), 429 the key's rate limit passed
(`Retry-After`), 503 a component (database, dataset, model, online store) not ready
(`Retry-After`). Every answer carries an `X-Request-ID` header (the client's own, or a new one)
and every error body its `request_id`.
"""


def _routers() -> list[APIRouter]:
    """Every router of the service."""
    from serving.routes import (
        assessments,
        book,
        claims,
        loans,
        models,
        ops,
        patents,
        policies,
        quotes,
        reports,
        valuations,
    )

    return [
        ops.router, quotes.router, loans.router, valuations.router, assessments.router,
        patents.router, models.router, policies.router, claims.router, book.router,
        reports.router,
    ]


def create_app(settings: Settings, model_loader: ModelLoader | None = None) -> FastAPI:
    """Build the patentrisk API for `settings`; startup work happens in the lifespan.

    `model_loader(settings)` returns the models and policy to serve; it runs at startup and on
    `POST /v1/models/reload`. The default loads each task's MLflow `champion` and the policy.
    """
    loader = model_loader or load_served_models

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        await anyio.to_thread.run_sync(migrate, engine)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        # Scoring answers' records are committed in shared transactions (group commit).
        writer = AssessmentWriter(engine, settings.assessment_commit_batch)
        app.state.assessment_writer = writer
        # Stored answers are scored on the event loop only when every read they make is of a
        # local file (a network read there would hold up every other request).
        app.state.loop_scoring = (settings.score_on_event_loop
                                  and engine.dialect.name == "sqlite"
                                  and is_embedded_store(settings.online_store_url))
        app.state.monitor = ServingMonitor(app.state.sessionmaker,
                                           settings.monitoring_flush_seconds)
        app.state.dataset = await anyio.to_thread.run_sync(open_dataset, settings)
        app.state.model_loader = loader
        app.state.reload_lock = threading.Lock()
        app.state.models = await anyio.to_thread.run_sync(_load_or_none, loader, settings)
        # The online store: stored entities' features and outputs, rebuilt when they no longer
        # match the data (in the background; answers are computed per request meanwhile).
        online = OnlineService.open(settings, lambda: app.state.models,
                                    lambda wanted: _follow_models(app, wanted))
        app.state.online = online
        if app.state.dataset is not None:
            await anyio.to_thread.run_sync(online.start)
        # Per-key limits shared through Redis when the online store is Redis (its client is
        # bound to this event loop, hence made here), else counted in this process.
        limiter = make_rate_limiter(settings.online_store_url, settings.dataset,
                                    settings.rate_limit_per_minute, settings.rate_limit_burst)
        app.state.rate_limiter = limiter
        # What startup made (modules, models, the dataset's catalogue, the store's readers)
        # lives as long as the app: frozen, the cyclic garbage collector stops walking it in
        # every full collection, which a busy server otherwise runs every few requests.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # collectable again once the app is gone (tests build many apps)
            await limiter.close()
            # Rows handed over are committed (or failed to their requests), never dropped.
            await anyio.to_thread.run_sync(writer.close)
            await anyio.to_thread.run_sync(online.stop)
            try:
                await anyio.to_thread.run_sync(app.state.monitor.flush)
            except Exception:
                log.exception("storing the last monitoring counts failed")
            if app.state.dataset is not None:
                app.state.dataset.close()
            engine.dispose()

    # Swagger UI and ReDoc from the assets installed with fastapi-offline: /docs works offline.
    app = FastAPIOffline(
        title="patentrisk",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "ops", "description": "Liveness, readiness, metrics (no key)."},
            {"name": "assessments", "description": "The stored record of every answer."},
            {"name": "patents", "description": "Patent lookup and search (检索查询)."},
            {"name": "models", "description": "Models and policy in service."},
            {"name": "quotes", "description": "Patent insurance quotes (专利保险报价)."},
            {"name": "loans", "description": "Patent-pledge loan assessments (质押贷款评估)."},
            {"name": "valuations", "description": "Patent values with intervals (专利估值)."},
            {"name": "policies", "description": "Bound policies (投保/承保), endorsements, "
             "cancellations."},
            {"name": "claims", "description": "Claims (报案、立案、定损、理赔)."},
            {"name": "reports", "description": "Reports: the regulator's book report (监管报表); "
             "market, rate adequacy and portfolio reports (HTML with charts, CSV tables)."},
        ],
    )
    app.state.settings = settings
    app.state.metrics = ServiceMetrics()
    app.state.caller_cache = CallerCache(settings.api_key_cache_seconds)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    install_error_handlers(app)
    # Added last = outermost: metrics see every answer, including 413s from the body limit, and
    # every answer carries its request id.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestIdMiddleware)
    for router in _routers():
        app.include_router(router)
    install_openapi(app)
    install_console(app, settings)
    return app


def _follow_models(app: FastAPI, wanted: dict[str, str]) -> None:
    """Load the champions when the store's generation was built by others than those in service.

    Another worker or host reloaded and materialized new champions; this worker takes them once
    the registry gives exactly the generation's versions (else it keeps its own, and answers for
    the changed tasks are computed per request).
    """
    with app.state.reload_lock:
        if model_stamp(app.state.models) == wanted:
            return  # a reload in this worker put them in service meanwhile
        try:
            fresh = app.state.model_loader(app.state.settings)
        except Exception:
            log.exception("loading the champions of the new generation failed")
            return
        if model_stamp(fresh) == wanted:
            app.state.models = fresh
            log.info("models follow the online store", extra={"versions": fresh.versions()})


def _load_or_none(loader: ModelLoader, settings: Settings) -> ModelSet:
    """Models from `loader`, or an empty set (logged) so the service starts and reports 503s."""
    try:
        return loader(settings)
    except Exception:
        log.exception("loading models failed at startup; serving without models")
        return ModelSet()


def _version() -> str:
    """Installed version of the patentrisk distribution."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("patentrisk")
    except PackageNotFoundError:
        return "0.0.0"


def app_from_environment() -> FastAPI:
    """The app of the `PATENTRISK_*` environment (the factory of each `serve --workers` worker)."""
    from serving.logs import configure_logging

    settings = Settings()
    configure_logging(settings)
    return create_app(settings)
