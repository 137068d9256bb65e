"""What one scoring request works with: models, dataset cursor, as-of date, store and recorder."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

import anyio
import duckdb
import pandas as pd
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from models.policy import Policy
from serving.assessment_writer import AssessmentWriter
from serving.auth import Caller, CallerRole
from serving.dataset import LazyCursor
from serving.deps import (
    AssessmentRecorder,
    CallerDep,
    SessionDep,
    active_dataset,
    admitting,
    assessment_writer,
    check_roles,
    close_session,
    models_in_service,
)
from serving.errors import CurrencyMismatchError, UnavailableError
from serving.modelset import ModelSet
from serving.monitoring import ServingMonitor
from serving.online.view import OnlineView
from serving.scoring.explanations import model_features, scored_rows


class NeedsWorkerThread(Exception):
    """Scoring on the event loop reached work that belongs in a worker thread (nothing done)."""


@dataclass(frozen=True)
class ScoringContext:
    """The models in service when the request started, a dataset cursor and the as-of date."""

    models: ModelSet
    # The request's dataset cursor, opened when first used (`cursor`).
    cursors: LazyCursor
    tables: frozenset[str]
    as_of: dt.date
    session: Session
    recorder: AssessmentRecorder
    # Features of stored patents a batch computed up front, by patent id (as of `as_of`).
    patent_features: pd.DataFrame | None = None
    # The online store's generation in service when the request started (as of `as_of`), or
    # None: stored entities are then computed through the pipelines per request.
    online: OnlineView | None = None
    # The currency of the dataset's amounts (`dataset.json`), when it records one.
    dataset_currency: str | None = None
    monitor: ServingMonitor | None = None
    # Whether this request may be scored on the event loop (`serving.scoring.event_loop`):
    # every read it would make on the way to a stored answer is local (the embedded store,
    # SQLite). While it runs there, `on_event_loop` is set.
    loop_reads: bool = False
    on_event_loop: bool = False

    def needs_worker_thread(self) -> None:
        """Raise `NeedsWorkerThread` when on the event loop: what follows may block or be slow.

        Called before computing features or scores per request (DuckDB, models), which must
        not hold up the loop; the request is then scored again in a worker thread.
        """
        if self.on_event_loop:
            raise NeedsWorkerThread

    @property
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """The request's DuckDB cursor over the dataset (opened on first use)."""
        self.needs_worker_thread()
        return self.cursors.get()

    def predict(self, task: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Score `frame` with the task's model and count the rows into the day's monitoring."""
        return self.score(task, frame)

    def score(
        self, task: str, frame: pd.DataFrame, namespace: str | None = None,
        stored_ids: Sequence[str] = (),
    ) -> pd.DataFrame:
        """The task model's outputs for `frame`, counted into the day's monitoring.

        Rows of `stored_ids` come from the online store when it holds this model's outputs
        (`scored_rows`); the others are predicted here. Both are monitored alike.
        """
        self.needs_worker_thread()
        served = self.models.require(task)
        out = scored_rows(served, frame, self.online, namespace, stored_ids)
        if self.monitor is not None:
            self.monitor.observe(served, frame.reindex(columns=model_features(served)), out)
        return out

    def observe_row(self, task: str, features: Mapping[str, float], out: Mapping[str, float]
                    ) -> None:
        """Count one row the task's model scored (read from the online store) into monitoring.

        What `score` counts for a one-row frame of `features` and its contract row `out`.
        """
        if self.monitor is not None:
            # On the event loop a due flush (a database commit) goes to a thread of its own.
            self.monitor.observe_row(self.models.require(task), features, out["raw_score"],
                                     flush_in_thread=self.on_event_loop)

    def require(self, *tasks: str) -> None:
        """Raise `ModelNotLoadedError` (503) unless every task has a model and a policy is set."""
        for task in tasks:
            self.models.require(task)
        _ = self.policy  # raises when no policy is loaded

    @property
    def policy(self) -> Policy:
        """The rating policy in service; 503 when none is loaded.

        409 when the dataset's amounts (values, claim costs) are in another currency than the
        policy prices in and the policy file gives no exchange rate for it: pricing them as if
        they were would be wrong by the exchange rate.
        """
        policy = self.models.policy
        if policy is None:
            raise UnavailableError("no rating policy is loaded; try again after a reload")
        self._rate(policy)
        return policy

    @property
    def exchange_rate(self) -> Decimal:
        """Policy-currency units per unit of the dataset's amounts (1 in the same currency)."""
        return self._rate(self.policy)

    def in_policy_currency(self, amount: float) -> float:
        """A model's amount (dataset currency) in the policy's currency."""
        rate = self.exchange_rate
        return amount if rate == 1 else float(Decimal(repr(amount)) * rate)

    def _rate(self, policy: Policy) -> Decimal:
        """The policy's rate for the dataset's currency; 409 when it has none."""
        if self.dataset_currency is None:
            return Decimal(1)
        rate = policy.exchange_rate(self.dataset_currency)
        if rate is None:
            raise CurrencyMismatchError(self.dataset_currency, policy.currency, policy.version)
        return rate


async def get_scoring_context(request: Request, caller: CallerDep) -> AsyncIterator[ScoringContext]:
    """The scoring context of one request (the caller is checked first, then the dataset).

    Models, dataset, settings, monitor and metrics are read from `app.state` here rather than
    as a dependency each: FastAPI's per-request cost grows with every dependency, and these
    only read what the lifespan put there. The request's DuckDB cursor is opened when the
    scoring first reads the dataset (a stored quote never does) and closed after the request.

    A dependency resolved before (a policy or claim lookup) may have left a transaction open;
    ending it returns the database connection to the pool for the CPU-bound scoring, so
    connections are held only to read subsidies and to store. A quote's session is unused
    here (the caller is looked up in a session of its own): no worker thread is needed then.

    The session only reads: assessments are committed through the app's `AssessmentWriter`
    (group commit with concurrent requests). It is the context's own (opened and closed as
    `get_session` does), not a `SessionDep`: one generator dependency fewer per request, and
    no route takes both this context and a session.
    """
    async with _group_commit_scoring(request, caller) as ctx:
        yield ctx


def scoring_context_for(*roles: CallerRole) -> Callable[..., AsyncIterator[ScoringContext]]:
    """`get_scoring_context` admitting callers with one of `roles` (admin always); 403 for others.

    The role check and the context in one dependency: a role dependency beside the context
    has FastAPI resolve the caller's dependencies twice per request (a cached dependency's
    own dependencies are solved again), which costs more on the quote path than its work.
    """

    async def dependency(request: Request, caller: CallerDep) -> AsyncIterator[ScoringContext]:
        check_roles(caller, roles)
        async with _group_commit_scoring(request, caller) as ctx:
            yield ctx

    return admitting(dependency, "scoring_context_for", roles)


@asynccontextmanager
async def _group_commit_scoring(request: Request, caller: Caller) -> AsyncIterator[ScoringContext]:
    """The scoring context of `get_scoring_context`, in a session of its own, closed after."""
    session: Session = request.app.state.sessionmaker()
    try:
        ctx = await _scoring_context(request, caller, session, assessment_writer(request))
        try:
            yield ctx
        finally:
            ctx.cursors.close()
    finally:
        await close_session(session)


async def get_session_scoring_context(
    request: Request, caller: CallerDep, session: SessionDep
) -> AsyncIterator[ScoringContext]:
    """The scoring context of a request that writes through its session (a policy, a claim).

    Its assessments are committed with the session's transaction, as one unit with its writes.
    """
    ctx = await _scoring_context(request, caller, session, None)
    try:
        yield ctx
    finally:
        ctx.cursors.close()


async def _scoring_context(
    request: Request, caller: Caller, session: Session, writer: AssessmentWriter | None
) -> ScoringContext:
    """The scoring context of one request, its assessments committed through `writer` if any.

    The caller closes its cursors (`ctx.cursors.close()`) when the request is done.
    """
    state = request.app.state
    dataset = active_dataset(request)
    if session.in_transaction():
        await anyio.to_thread.run_sync(session.rollback)
    as_of = dataset.as_of(state.settings)
    service = getattr(state, "online", None)
    view = service.view if service is not None else None
    return ScoringContext(
        models=models_in_service(request),
        cursors=dataset.lazy_cursor(),  # a stored quote reads no dataset: opened only if used
        tables=dataset.tables, as_of=as_of, session=session,
        recorder=AssessmentRecorder(session, caller, state.metrics, writer),
        monitor=state.monitor,
        online=view if view is not None and view.as_of == as_of else None,
        loop_reads=writer is not None and state.loop_scoring,
        dataset_currency=dataset_currency_of(dataset.meta),
    )


def dataset_currency_of(meta: dict[str, object]) -> str | None:
    """The dataset's currency code from its `dataset.json`, if recorded."""
    value = meta.get("currency")
    return str(value).upper() if value else None


ScoringDep = Annotated[ScoringContext, Depends(get_scoring_context)]
# The scoring context of an underwriter's request (quotes), the role checked first.
UnderwriterScoringDep = Annotated[
    ScoringContext, Depends(scoring_context_for(CallerRole.underwriter))]
SessionScoringDep = Annotated[ScoringContext, Depends(get_session_scoring_context)]
