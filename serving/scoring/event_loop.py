"""Scoring a request on the event loop when it is answered from local, stored records.

A quote of a stored patent reads its record from the embedded online store and the applicant's
subsidy from SQLite, prices and explains it (well under a millisecond of CPU), then waits for
its record's commit. Handing that to a worker thread costs more than the work: two thread
switches per request, with the threads of concurrent requests contending for the interpreter.
So such a request is scored on the event loop, and its record's commit is awaited there
(`AssessmentWriter.write_async`, the same group commit) without holding a thread.

Anything slower (features or scores computed per request, DuckDB, a remote store or database)
still runs in a worker thread: on the loop, the scoring raises `NeedsWorkerThread` before such
work (`ScoringContext.needs_worker_thread`), having stored nothing, and the request is scored
again in a thread from the start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

import anyio

from serving.scoring.context import NeedsWorkerThread, ScoringContext

Request = TypeVar("Request")
Answer = TypeVar("Answer")


async def score_request(
    ctx: ScoringContext, score: Callable[[ScoringContext, Request], Answer], body: Request
) -> Answer:
    """`score(ctx, body)` on the event loop when it needs only local records, else in a thread.

    The answer is given only once its records are committed (`AssessmentNotStoredError`, a
    503, when they could not be).
    """
    if ctx.loop_reads:
        ctx.recorder.defer()
        try:
            answer = score(dataclasses.replace(ctx, on_event_loop=True), body)
        except NeedsWorkerThread:
            ctx.recorder.drop_deferred()  # nothing was recorded before the slow part
        except BaseException:
            ctx.recorder.drop_deferred()
            raise
        else:
            await ctx.recorder.commit_deferred()
            return answer
    return await anyio.to_thread.run_sync(score, ctx, body)
