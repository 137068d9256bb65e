"""Patent-pledge loan assessments (专利权质押贷款), single and batch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from serving.deps import BankDep, SettingsDep
from serving.schemas import ERROR_RESPONSES, ErrorOut
from serving.scoring import assess_loan
from serving.scoring.batch import batch_openapi, read_batch_items, run_batch
from serving.scoring.context import ScoringDep
from serving.scoring.schemas import BatchOut, LoanAssessmentOut, LoanAssessmentRequest

router = APIRouter(
    prefix="/v1/loans",
    tags=["loans"],
    responses={
        **ERROR_RESPONSES,
        409: {"model": ErrorOut, "description": "The dataset's currency is not the policy's."},
        404: {"model": ErrorOut, "description": "Unknown borrower or pledged patent id."},
        503: {"model": ErrorOut, "description": "A model, the policy or the dataset is missing."},
    },
)


async def _items(request: Request, settings: SettingsDep) -> list[Any]:
    """The raw items of a loans batch (CSV column `pledged`: patent ids separated by ';')."""
    return await read_batch_items(
        request, settings.max_batch_items, {"pledged": lambda pid: {"patent_id": pid}}
    )


@router.post("/assessments", response_model=LoanAssessmentOut,
             summary="Assess a patent-pledge loan")
def assess(_caller: BankDep, body: LoanAssessmentRequest, ctx: ScoringDep) -> LoanAssessmentOut:
    """Portfolio value (P10/P50/P90 and per patent), default probability, max loan, premium."""
    return assess_loan(ctx, body)


@router.post("/assessments/batch", response_model=BatchOut,
             summary="Assess many patent-pledge loans",
             openapi_extra=batch_openapi("LoanAssessmentRequest"))
def assess_batch(
    _caller: BankDep, items: Annotated[list[Any], Depends(_items)], ctx: ScoringDep
) -> BatchOut:
    """Each loan assessed and stored, or rejected with its index and error."""
    ctx.require("value", "default")
    return run_batch(ctx, items, LoanAssessmentRequest, assess_loan)
