"""Operational endpoints: liveness, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

import datetime as dt
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from serving.database import current_revision
from serving.deps import MetricsDep, ModelsDep, MonitorDep, SettingsDep
from serving.monitoring import monitoring_summary
from serving.schemas import ComponentStatus, Readiness

log = logging.getLogger(__name__)

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Liveness: the process is up")
def healthz() -> dict[str, str]:
    """Liveness: the process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: database, dataset and models",
    responses={503: {"model": Readiness, "description": "A component is not ready."}},
)
def readyz(request: Request, models: ModelsDep) -> JSONResponse:
    """Whether the database answers, the dataset is present and the models are loaded."""
    components = {
        "database": _database_status(request),
        "dataset": _dataset_status(request),
        "models": _models_status(models.missing(), bool(models.models)),
        "online_store": _online_status(request),
    }
    body = Readiness(ready=all(c.ok for c in components.values()), components=components)
    return JSONResponse(body.model_dump(exclude_none=True),
                        status_code=200 if body.ready else 503)


def _database_status(request: Request) -> ComponentStatus:
    """Database reachability and its migration revision."""
    engine = request.app.state.engine
    try:
        revision = current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is shown
        return ComponentStatus(ok=False, detail=f"unreachable: {exc.__class__.__name__}")
    if revision is None:
        return ComponentStatus(ok=False, detail="reachable but not migrated")
    return ComponentStatus(ok=True, detail=f"{engine.dialect.name} at revision {revision}")


def _dataset_status(request: Request) -> ComponentStatus:
    """Whether the active dataset is open, its size and end date."""
    handle = request.app.state.dataset
    if handle is None:
        return ComponentStatus(
            ok=False, detail=f"dataset {request.app.state.settings.dataset!r} not present"
        )
    end = handle.end_date.isoformat() if handle.end_date else "unknown"
    return ComponentStatus(
        ok=True, detail=f"{handle.store.root.name}: {len(handle.tables)} tables, end {end}"
    )


def _online_status(request: Request) -> ComponentStatus:
    """The online store's generation in service, whether it is stale and what is rebuilt."""
    online = getattr(request.app.state, "online", None)
    if online is None or request.app.state.dataset is None:
        return ComponentStatus(ok=True, detail="no dataset to materialize")
    ok, detail, info = online.describe()
    return ComponentStatus(ok=ok, detail=detail, stale=bool(info.get("stale")),
                           rebuilding=bool(info.get("rebuilding")))


def _models_status(missing: list[str], any_loaded: bool) -> ComponentStatus:
    """Whether every served task has a model."""
    if missing:
        return ComponentStatus(ok=False, detail=f"no model loaded for: {', '.join(missing)}")
    return ComponentStatus(ok=True, detail="all models loaded" if any_loaded else "none needed")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(
    metrics: MetricsDep, models: ModelsDep, monitor: MonitorDep, settings: SettingsDep
) -> Response:
    """Request counts and latencies, assessments written by kind, model PSI by variable."""
    from prometheus_client import CONTENT_TYPE_LATEST

    until = dt.datetime.now(dt.UTC).date()
    since = until - dt.timedelta(days=settings.monitoring_window_days - 1)
    try:
        monitoring_summary(monitor, models, since, until, metrics=metrics)
    except Exception:  # noqa: BLE001 - a scrape must still answer; the gauges keep old values
        log.exception("refreshing the model drift gauges failed")

    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
