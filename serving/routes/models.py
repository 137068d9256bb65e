"""The models and policy in service, and reloading the champions without dropping requests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from fastapi import APIRouter, Depends, Query, Request

from models.drift import MIN_ROWS, PSI_DRIFT, PSI_WATCH
from serving.auth import CallerRole
from serving.deps import MetricsDep, ModelsDep, MonitorDep, SettingsDep, require_roles
from serving.errors import InvalidInputError, ModelReloadError, UnavailableError
from serving.modelset import SERVED_TASKS, ModelSet, reload_failures
from serving.monitoring import monitoring_summary
from serving.online.materialize import model_stamp
from serving.schemas import (
    ERROR_RESPONSES,
    ErrorOut,
    ModelOut,
    ModelsOut,
    MonitoringOut,
    TaskDriftOut,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/models", tags=["models"], responses=ERROR_RESPONSES)


def _describe(models: ModelSet) -> ModelsOut:
    """The response listing `models`."""
    items = [
        ModelOut(task=m.task, name=m.name, version=m.version, alias=m.alias)
        for m in sorted(models.models.values(), key=lambda m: m.task)
    ]
    return ModelsOut(
        items=items, total=len(items), policy_version=models.policy_version,
        policy_hash=models.policy_hash, missing=models.missing(),
    )


@router.get(
    "",
    response_model=ModelsOut,
    summary="Models and policy in service",
    dependencies=[Depends(require_roles(CallerRole.scientist, CallerRole.regulator))],
)
def list_models(models: ModelsDep) -> ModelsOut:
    """Each model's task, registered name, version and alias, and the policy version and hash."""
    return _describe(models)


@router.get(
    "/monitoring",
    response_model=MonitoringOut,
    summary="Drift of the served rows against each model's reference (PSI)",
    dependencies=[Depends(require_roles(CallerRole.scientist, CallerRole.regulator))],
)
def model_monitoring(
    models: ModelsDep,
    monitor: MonitorDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    since: dt.date | None = Query(None, description="First day (UTC) of the window."),
    until: dt.date | None = Query(None, description="Last day (UTC), default today."),
    task: str | None = Query(None, description="Only this task."),
) -> MonitoringOut:
    """PSI per feature and for the score of the rows each champion scored, per window and day."""
    end = until or dt.datetime.now(dt.UTC).date()
    start = since or end - dt.timedelta(days=settings.monitoring_window_days - 1)
    if start > end:
        raise InvalidInputError("since", "not_after_until",
                                f"since ({start}) must not be after until ({end})")
    if task is not None and task not in SERVED_TASKS:
        raise InvalidInputError("task", "known_task",
                                f"task must be one of {list(SERVED_TASKS)}, got {task!r}")
    drifts = monitoring_summary(monitor, models, start, end,
                                None if task is None else [task], metrics)
    chosen = [t for t in models.models if task is None or t == task]
    return MonitoringOut(
        since=start, until=end, thresholds={"watch": PSI_WATCH, "drift": PSI_DRIFT},
        min_rows=MIN_ROWS,
        items=[TaskDriftOut.model_validate(dataclasses.asdict(d)) for d in drifts],
        unmonitored=sorted(t for t in chosen if models.models[t].reference is None),
    )


@router.post(
    "/reload",
    response_model=ModelsOut,
    summary="Load the current champions",
    dependencies=[Depends(require_roles(CallerRole.scientist))],
    responses={503: {"model": ErrorOut, "description": "Loading failed (naming each task that "
                                                     "failed); the previous models stay."}},
)
def reload_models(request: Request, settings: SettingsDep) -> ModelsOut:
    """Load every champion and swap them in at once; requests in flight keep the old set.

    When a champion does not load (or a served task lost its champion) nothing is swapped: the
    answer is 503 naming each such task, and the previous models keep serving. When the
    champions changed, their outputs are materialized into the online store first, so the new
    models and their stored answers go into service together.
    """
    state = request.app.state
    with state.reload_lock:
        try:
            fresh = state.model_loader(settings)
        except Exception as exc:
            log.exception("model reload failed; keeping the models in service")
            raise UnavailableError(
                f"model reload failed ({exc.__class__.__name__}); the previous models stay"
            ) from exc
        failures = reload_failures(state.models, fresh)
        if failures:
            log.error("model reload refused; keeping the models in service: %s", failures)
            raise ModelReloadError(failures)
        online = getattr(state, "online", None)
        view = online.view if online is not None else None
        changed = view is not None and view.stamp.models != model_stamp(fresh)
        if online is not None and state.dataset is not None and changed:
            # A store in service gets the new champions' outputs before they serve, so the
            # models and their stored answers swap together.
            try:
                online.rebuild(fresh)
            except Exception as exc:
                log.exception("materializing the reloaded models failed; keeping the old ones")
                raise UnavailableError(
                    f"materializing the reloaded models failed ({exc.__class__.__name__}); "
                    "the previous models stay"
                ) from exc
        state.models = fresh
        if online is not None and state.dataset is not None and view is None \
                and settings.online_auto_materialize:
            # Nothing materialized yet: answers are computed per request until a build with
            # the models now in service completes (in the background, not in this request).
            online.rebuild_in_background()
    log.info("models reloaded", extra={"versions": fresh.versions()})
    return _describe(fresh)
