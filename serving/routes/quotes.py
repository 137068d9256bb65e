"""Insurance quotes: patent enforcement and infringement liability, single and batch."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request

from serving.deps import SettingsDep, UnderwriterDep
from serving.schemas import ERROR_RESPONSES, ErrorOut
from serving.scoring import score_enforcement, score_liability
from serving.scoring.batch import batch_openapi, read_batch_items, run_batch
from serving.scoring.context import ScoringDep, UnderwriterScoringDep
from serving.scoring.event_loop import score_request
from serving.scoring.schemas import (
    BatchOut,
    EnforcementQuoteRequest,
    InsuranceQuoteOut,
    LiabilityQuoteRequest,
)

router = APIRouter(
    prefix="/v1/quotes",
    tags=["quotes"],
    responses={
        **ERROR_RESPONSES,
        409: {"model": ErrorOut, "description": "The dataset's currency is not the policy's."},
        404: {"model": ErrorOut, "description": "Unknown patent or firm id."},
        503: {"model": ErrorOut, "description": "A model, the policy or the dataset is missing."},
    },
)


async def _items(request: Request, settings: SettingsDep) -> list[Any]:
    """The raw items of a quotes batch."""
    return await read_batch_items(request, settings.max_batch_items, {"product_classes": str})


BatchItems = Annotated[list[Any], Depends(_items)]


@router.post("/enforcement", response_model=InsuranceQuoteOut,
             summary="Quote patent enforcement insurance (专利执行险)")
async def quote_enforcement(
    ctx: UnderwriterScoringDep, body: EnforcementQuoteRequest
) -> InsuranceQuoteOut:
    """Litigation probability, expected claim cost, grade, premium, subsidy and explanation."""
    # A stored patent's quote is scored on the event loop, others in one worker thread
    # (`score_request`); the answer is checked and written here. The underwriter role is
    # checked by the context's dependency (one dependency, not a role one beside it).
    return await score_request(ctx, score_enforcement, body)


@router.post("/enforcement/batch", response_model=BatchOut,
             summary="Quote enforcement insurance for many patents",
             openapi_extra=batch_openapi("EnforcementQuoteRequest"))
def quote_enforcement_batch(
    _caller: UnderwriterDep, items: BatchItems, ctx: ScoringDep
) -> BatchOut:
    """Each item quoted and stored, or rejected with its index and error."""
    ctx.require("litigation", "severity")
    return run_batch(ctx, items, EnforcementQuoteRequest, score_enforcement)


@router.post("/liability", response_model=InsuranceQuoteOut,
             summary="Quote infringement liability insurance (侵犯专利权责任险)")
async def quote_liability(
    ctx: UnderwriterScoringDep, body: LiabilityQuoteRequest
) -> InsuranceQuoteOut:
    """Probability of being sued, expected claim cost, grade, premium, subsidy, explanation."""
    return await anyio.to_thread.run_sync(score_liability, ctx, body)


@router.post("/liability/batch", response_model=BatchOut,
             summary="Quote liability insurance for many firms",
             openapi_extra=batch_openapi("LiabilityQuoteRequest"))
def quote_liability_batch(
    _caller: UnderwriterDep, items: BatchItems, ctx: ScoringDep
) -> BatchOut:
    """Each item quoted and stored, or rejected with its index and error."""
    ctx.require("liability", "severity")
    return run_batch(ctx, items, LiabilityQuoteRequest, score_liability)
