"""Who is using the console: the session cookie, the signed-in caller, page and form checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

import duckdb
import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from features.settings import Settings
from serving.auth import ADMIN_BOOTSTRAP_KEY_ID, Caller, CallerRole
from serving.console.pages import page
from serving.console.sessions import CSRF_FIELD, SESSION_COOKIE, ConsoleSession, SessionCodec
from serving.console.users import active_user
from serving.dataset import DatasetHandle, LazyCursor
from serving.deps import (
    AssessmentRecorder,
    CursorDep,
    DatasetDep,
    MetricsDep,
    ModelsDep,
    MonitorDep,
    SessionDep,
    SettingsDep,
)
from serving.metrics import ServiceMetrics
from serving.modelset import ModelSet
from serving.monitoring import ServingMonitor
from serving.scoring.context import ScoringContext, dataset_currency_of
from serving.tables import ApiKey, utc_now


@dataclass(frozen=True)
class ConsoleState:
    """What the console keeps on `app.state.console`: cookie codec and templates."""

    codec: SessionCodec
    templates: Jinja2Templates


class NotSignedInError(Exception):
    """The request has no valid signed-in session (answered by a redirect to sign-in)."""


class PageForbiddenError(Exception):
    """The signed-in caller's role may not open this page (403)."""

    def __init__(self, page_key: str) -> None:
        super().__init__(page_key)
        self.page_key = page_key


class CsrfRefusedError(Exception):
    """A form came without this session's CSRF token (403)."""


def console_state(request: Request) -> ConsoleState:
    """The console's codec and templates."""
    state: ConsoleState = request.app.state.console  # app.state is untyped: name the type
    return state


def console_session(request: Request) -> ConsoleSession:
    """The browser's session from its cookie, or a new anonymous one (kept on the request).

    Whatever the request ends with is written back by `store_session` when it changed.
    """
    current: ConsoleSession | None = getattr(request.state, "console_session", None)
    if current is not None:
        return current
    loaded = console_state(request).codec.loads(request.cookies.get(SESSION_COOKIE))
    session = loaded or ConsoleSession.anonymous()
    request.state.console_session = session
    request.state.console_session_loaded = loaded
    return session


def replace_session(request: Request, session: ConsoleSession) -> None:
    """Make `session` this browser's session from this response on."""
    request.state.console_session = session


def caller_for_subject(session: Session, settings: Settings, subject: str) -> Caller | None:
    """The caller a session subject stands for, while its key or user is still active."""
    kind, _, ident = subject.partition(":")
    if kind == "key":
        if ident == ADMIN_BOOTSTRAP_KEY_ID:
            if not settings.admin_api_key:
                return None
            return Caller(key_id=ADMIN_BOOTSTRAP_KEY_ID, name="settings admin key",
                          role=CallerRole.admin)
        row = session.scalar(
            sa.select(ApiKey).where(ApiKey.id == ident, ApiKey.revoked_at.is_(None))
        )
        if row is None or (row.expires_at is not None and row.expires_at <= utc_now()):
            return None  # revoked or expired since the sign-in
        return Caller(key_id=row.id, name=row.name, role=CallerRole(row.role))
    if kind == "user":
        user = active_user(session, ident)
        return user.caller() if user else None
    return None


def current_caller(request: Request, session: SessionDep) -> Caller:
    """The signed-in caller; `NotSignedInError` when there is none or it was revoked."""
    state = console_session(request)
    if state.subject is None:
        raise NotSignedInError
    caller = caller_for_subject(session, request.app.state.settings, state.subject)
    # End the lookup's transaction: the connection goes back to the pool before any scoring.
    session.rollback()
    if caller is None:
        replace_session(request, ConsoleSession.anonymous())
        raise NotSignedInError
    request.state.console_caller = caller
    return caller


ConsoleCallerDep = Annotated[Caller, Depends(current_caller)]


def page_caller(key: str) -> Callable[..., Caller]:
    """A dependency admitting callers whose role may open page `key`; 403 for others."""
    declared = page(key)

    def dependency(caller: ConsoleCallerDep) -> Caller:
        if not declared.open_to(caller):
            raise PageForbiddenError(key)
        return caller

    dependency.__name__ = f"page_{key}"
    return dependency


@dataclass(frozen=True)
class SubmittedForm:
    """A console form that passed the CSRF check: its text fields and uploaded files."""

    fields: dict[str, str]
    lists: dict[str, list[str]]
    files: dict[str, bytes] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """The text of field `name`, stripped ('' when absent)."""
        return self.fields.get(name, default).strip()

    def checked(self, name: str) -> bool:
        """Whether checkbox `name` was ticked."""
        return name in self.fields


async def submitted_form(request: Request) -> SubmittedForm:
    """The posted form after its CSRF token matched this session's; `CsrfRefusedError` if not."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not console_session(request).accepts(token):
        raise CsrfRefusedError
    fields: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            if data:
                files[name] = data
            continue
        fields[name] = value
        lists.setdefault(name, []).append(value)
    fields.pop(CSRF_FIELD, None)
    return SubmittedForm(fields=fields, lists=lists, files=files)


FormDep = Annotated[SubmittedForm, Depends(submitted_form)]


@dataclass(frozen=True)
class ConsoleScoring:
    """What a console page needs to score as the API does: store, dataset, models, metrics."""

    session: Session
    dataset: DatasetHandle
    cursor: duckdb.DuckDBPyConnection
    settings: Settings
    models: ModelSet
    metrics: ServiceMetrics
    monitor: ServingMonitor | None = None

    def context(self, caller: Caller) -> ScoringContext:
        """The scoring context of `caller`, scoring, pricing and recording as an API call would.

        The same currency check and conversion (the dataset's currency) and the same model
        monitoring apply as to the API's requests.
        """
        self.session.rollback()
        return ScoringContext(
            models=self.models, cursors=LazyCursor.of(self.cursor), tables=self.dataset.tables,
            as_of=self.dataset.as_of(self.settings), session=self.session,
            recorder=AssessmentRecorder(self.session, caller, self.metrics),
            monitor=self.monitor, dataset_currency=dataset_currency_of(self.dataset.meta),
        )


def console_scoring(
    session: SessionDep, dataset: DatasetDep, cursor: CursorDep, settings: SettingsDep,
    models: ModelsDep, metrics: MetricsDep, monitor: MonitorDep,
) -> ConsoleScoring:
    """The scoring parts of one console request (the dataset must be present: else 503)."""
    return ConsoleScoring(session, dataset, cursor, settings, models, metrics, monitor)


ConsoleScoringDep = Annotated[ConsoleScoring, Depends(console_scoring)]
