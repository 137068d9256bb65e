"""Request dependencies as `Annotated` aliases: settings, DB session, caller, models, dataset.

Everything comes from `app.state` (filled by the lifespan), so tests build apps with their own
settings or replace a dependency through `app.dependency_overrides`. Dependencies that only read
`app.state` are `async def`: FastAPI runs a plain `def` dependency in a worker thread, a hop that
costs more than such a dependency's work; database waits go to a worker thread explicitly (a
caller lookup, the close of a session left in a transaction).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar

import anyio
import duckdb
from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session, sessionmaker

from features.settings import Settings
from serving import crud
from serving.assessment_writer import AssessmentWriter
from serving.auth import ADMIN_BOOTSTRAP_KEY_ID, Caller, CallerRole, hash_key, same_secret
from serving.dataset import DatasetHandle
from serving.errors import AuthenticationError, DatasetUnavailableError, PermissionDeniedError
from serving.key_cache import CallerCache
from serving.metrics import ServiceMetrics
from serving.modelset import ModelSet
from serving.monitoring import ServingMonitor
from serving.ratelimit import RateLimiter
from serving.tables import Assessment

API_KEY_HEADER = "X-API-Key"
api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="API key issued by `patentrisk keys create`."
)


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings  # app.state is untyped: name the type
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request, closed (rolled back if uncommitted) afterwards.

    Opening a session touches no database, nor does closing one that holds no transaction
    (a quote ends its own after storing): both happen here, without a worker thread hop each.
    A session left in a transaction is closed in a worker thread (its rollback waits on the
    database), shielded from cancellation so its connection always goes back to the pool.
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        await close_session(session)


async def close_session(session: Session) -> None:
    """Close a request's session: at once when it holds no transaction, else in a worker thread.

    The worker thread's close (its rollback waits on the database) is shielded from
    cancellation, so the connection always goes back to the pool.
    """
    if session.in_transaction():
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))
    else:
        session.close()


async def get_metrics(request: Request) -> ServiceMetrics:
    """The app's Prometheus metrics."""
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


async def get_monitor(request: Request) -> ServingMonitor:
    """The app's model monitor (served-row summaries)."""
    monitor: ServingMonitor = request.app.state.monitor
    return monitor


def models_in_service(request: Request) -> ModelSet:
    """The model set in service now (a plain function for code outside dependencies)."""
    models: ModelSet = request.app.state.models
    return models


async def get_models(request: Request) -> ModelSet:
    """The model set in service when the request started (a reload does not change it midway)."""
    return models_in_service(request)


def active_dataset(request: Request) -> DatasetHandle:
    """The opened active dataset; 503 when it is not present."""
    handle: DatasetHandle | None = request.app.state.dataset
    if handle is None:
        raise DatasetUnavailableError(
            f"the active dataset {request.app.state.settings.dataset!r} is not present"
        )
    return handle


async def get_dataset(request: Request) -> DatasetHandle:
    """The opened active dataset, as a dependency (`active_dataset`)."""
    return active_dataset(request)


# Paging of every list endpoint. The offset is capped so that no database is asked to skip more
# rows than its integer type holds (an unbounded offset once answered 500 on SQLite).
MAX_PAGE_SIZE = 500
MAX_OFFSET = 10_000_000
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]

SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
ModelsDep = Annotated[ModelSet, Depends(get_models)]
MonitorDep = Annotated[ServingMonitor, Depends(get_monitor)]
DatasetDep = Annotated[DatasetHandle, Depends(get_dataset)]


async def get_cursor(dataset: DatasetDep) -> AsyncIterator[duckdb.DuckDBPyConnection]:
    """A DuckDB cursor over the active dataset for one request.

    Opening and closing a cursor take microseconds and wait on nothing (the queries run in
    the route's worker thread), so they need no worker thread of their own.
    """
    with dataset.cursor() as cur:
        yield cur


CursorDep = Annotated[duckdb.DuckDBPyConnection, Depends(get_cursor)]


def get_rate_limiter(request: Request) -> RateLimiter:
    """The app's per-key rate limiter."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def get_caller(
    request: Request,
    api_key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> Caller:
    """The caller identified by the `X-API-Key` header; 401 without a valid key, 429 over its limit.

    A valid key is stored, not revoked and not expired (or is the settings' admin key). A key
    found valid is kept in the app's `CallerCache` for `api_key_cache_seconds`, so a revocation
    or expiry takes effect at most that long after; other keys are looked up every time, in a
    worker thread with a session of their own (the event loop never waits on the database).
    The settings are read from `app.state` rather than as a dependency: every dependency adds
    to FastAPI's per-request cost, and each authenticated request resolves this one.
    """
    settings: Settings = request.app.state.settings
    if not api_key:
        raise AuthenticationError(f"missing API key: send it in the {API_KEY_HEADER} header")
    admin_key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
    if admin_key and same_secret(api_key, admin_key):
        caller: Caller | None = Caller(
            key_id=ADMIN_BOOTSTRAP_KEY_ID, name="settings admin key", role=CallerRole.admin
        )
    else:
        cache: CallerCache = request.app.state.caller_cache
        key_hash = hash_key(api_key)
        caller = cache.get(key_hash)
        if caller is None:
            caller = await anyio.to_thread.run_sync(
                _look_up_caller, request.app.state.sessionmaker, key_hash)
            if caller is not None:
                cache.put(key_hash, caller)
    if caller is None:
        raise AuthenticationError("invalid, expired or revoked API key")
    await get_rate_limiter(request).admit(caller.key_id)
    return caller


def _look_up_caller(sessions: sessionmaker[Session], key_hash: str) -> Caller | None:
    """The caller of an active key by its hash, in a session closed at once (connection freed)."""
    with sessions() as session:
        return crud.caller_for_key_hash(session, key_hash)


CallerDep = Annotated[Caller, Depends(get_caller)]


def check_roles(caller: Caller, roles: tuple[CallerRole, ...]) -> Caller:
    """`caller` when it holds one of `roles` (admin always); else 403 naming the allowed roles."""
    if not caller.has_role(*roles):
        allowed = ", ".join(sorted({r.value for r in roles} | {CallerRole.admin.value}))
        raise PermissionDeniedError(
            f"role {caller.role.value!r} may not call this endpoint; allowed: {allowed}"
        )
    return caller


def require_roles(*roles: CallerRole) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers with one of `roles` (admin always); 403 for others."""

    async def dependency(caller: CallerDep) -> Caller:
        return check_roles(caller, roles)

    return admitting(dependency, "require", roles)


_Dependency = TypeVar("_Dependency", bound=Callable[..., Any])


def admitting(
    dependency: _Dependency, prefix: str, roles: tuple[CallerRole, ...]
) -> _Dependency:
    """`dependency` named after `roles` and carrying the roles it admits (admin always).

    The roles a route admits are then readable from the route's dependency (`allowed_roles`).
    """
    dependency.__name__ = f"{prefix}_{'_or_'.join(r.value for r in roles) or 'admin'}"
    dependency.allowed_roles = frozenset(roles) | {CallerRole.admin}  # type: ignore[attr-defined]
    return dependency


# Callers of the scoring endpoints (admin is always admitted too).
UnderwriterDep = Annotated[Caller, Depends(require_roles(CallerRole.underwriter))]
BankDep = Annotated[Caller, Depends(require_roles(CallerRole.bank))]
ScientistDep = Annotated[Caller, Depends(require_roles(CallerRole.scientist))]


class AssessmentRecorder:
    """Stores the assessments of one request for its caller, and counts them in the metrics.

    With a `writer` (the app's group commit), a row is committed through it, apart from the
    session: the session must then hold no writes of its own (its read transaction, if any, is
    ended before the row is handed over, so its connection is not held while waiting). Without
    one, the row is committed with the session's transaction (`crud.record_assessment`).

    A request scored on the event loop defers its rows (`defer`): `record` then returns the row
    to answer from, and the request awaits `commit_deferred` before it answers.
    """

    def __init__(self, session: Session, caller: Caller, metrics: ServiceMetrics,
                 writer: AssessmentWriter | None = None) -> None:
        self.session = session
        self.caller = caller
        self.metrics = metrics
        self.writer = writer
        self._deferred: list[dict[str, Any]] | None = None

    def record(
        self,
        *,
        kind: str,
        request: Any,
        features: Any,
        outputs: Any,
        explanation: Any,
        model_versions: Any,
        policy_version: str | None,
        policy_hash: str | None,
        status: str = "completed",
    ) -> Assessment:
        """Store one assessment for this request's caller; return once it is committed.

        While deferring, return the row at once; it is committed by `commit_deferred`.
        """
        session = self.session
        values = crud.assessment_values(
            kind=kind, caller=self.caller, request=request, features=features,
            outputs=outputs, explanation=explanation, model_versions=model_versions,
            policy_version=policy_version, policy_hash=policy_hash, status=status,
        )
        if self._deferred is not None:
            if session.in_transaction():
                session.rollback()  # only reads: give the connection back while waiting
            self._deferred.append(values)
            return Assessment(**values)
        if self.writer is None or session.new or session.dirty or session.deleted:
            row = crud.insert_assessment(session, values)
        else:
            if session.in_transaction():
                session.rollback()  # only reads: give the connection back while waiting
            self.writer.write(values)
            row = Assessment(**values)
        self.metrics.assessments.labels(row.kind).inc()
        return row

    def defer(self) -> None:
        """Keep the rows `record` makes from now on until `commit_deferred` (group commit only)."""
        if self.writer is None:
            raise RuntimeError("only rows committed through the group commit can be deferred")
        self._deferred = []

    def drop_deferred(self) -> None:
        """Forget the deferred rows (the request failed before answering) and stop deferring."""
        self._deferred = None

    async def commit_deferred(self) -> None:
        """Commit the deferred rows through the group commit, awaited on the event loop.

        Raise `AssessmentNotStoredError` if one could not be stored (no answer is given then).
        """
        rows, self._deferred = self._deferred or [], None
        writer = self.writer
        if writer is None:
            raise RuntimeError("only rows committed through the group commit can be deferred")
        for values in rows:
            await writer.write_async(values)
            self.metrics.assessments.labels(values["kind"]).inc()


def assessment_writer(request: Request) -> AssessmentWriter:
    """The app's group commit of assessment rows."""
    writer: AssessmentWriter = request.app.state.assessment_writer
    return writer


async def get_recorder(
    request: Request, session: SessionDep, caller: CallerDep, metrics: MetricsDep
) -> AssessmentRecorder:
    """The assessment recorder of this request (its session holds no writes: group commit)."""
    return AssessmentRecorder(session, caller, metrics, assessment_writer(request))


RecorderDep = Annotated[AssessmentRecorder, Depends(get_recorder)]
