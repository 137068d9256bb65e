"""Patent valuations (专利估值): P10/P50/P90 with explanations, single and batch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from serving.deps import BankDep, SettingsDep
from serving.schemas import ERROR_RESPONSES, ErrorOut
from serving.scoring import value_patents
from serving.scoring.batch import batch_openapi, read_batch_items, run_batch
from serving.scoring.context import ScoringDep
from serving.scoring.schemas import BatchOut, ValuationOut, ValuationRequest

router = APIRouter(
    prefix="/v1/valuations",
    tags=["valuations"],
    responses={
        **ERROR_RESPONSES,
        409: {"model": ErrorOut, "description": "The dataset's currency is not the policy's."},
        404: {"model": ErrorOut, "description": "Unknown patent id."},
        503: {"model": ErrorOut, "description": "The value model or the dataset is missing."},
    },
)


async def _items(request: Request, settings: SettingsDep) -> list[Any]:
    """The raw items of a valuations batch (CSV column `patents`: ids separated by ';')."""
    return await read_batch_items(
        request, settings.max_batch_items, {"patents": lambda pid: {"patent_id": pid}}
    )


@router.post("", response_model=ValuationOut, summary="Value one or more patents")
def value(_caller: BankDep, body: ValuationRequest, ctx: ScoringDep) -> ValuationOut:
    """P10/P50/P90 per patent and in total, with the P50 model's explanation of each."""
    return value_patents(ctx, body)


@router.post("/batch", response_model=BatchOut, summary="Many valuations at once",
             openapi_extra=batch_openapi("ValuationRequest"))
def value_batch(
    _caller: BankDep, items: Annotated[list[Any], Depends(_items)], ctx: ScoringDep
) -> BatchOut:
    """Each valuation answered and stored, or rejected with its index and error."""
    ctx.require("value")
    return run_batch(ctx, items, ValuationRequest, value_patents)
