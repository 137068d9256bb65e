"""Store a scoring answer before it is given, and build the answer from the stored row."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from serving.scoring.context import ScoringContext
from serving.tables import Assessment


def record_and_answer(
    ctx: ScoringContext,
    kind: str,
    request: BaseModel,
    features: Any,
    outputs: dict[str, Any],
    explanations: dict[str, Any],
    primary: str,
    *,
    models: dict[str, dict[str, str]],
    policy: tuple[str | None, str | None],
) -> dict[str, Any]:
    """Commit the assessment, then return the response body read from the stored row."""
    row = ctx.recorder.record(
        kind=kind, request=request.model_dump(mode="json", exclude_none=True), features=features,
        outputs=outputs, explanation=explanations, model_versions=models,
        policy_version=policy[0], policy_hash=policy[1],
    )
    body = answer_body(row, primary)
    # Reading the stored row opened a transaction: end it so the connection goes back to the
    # pool now, not when the request's session closes after the response (under load, waiting
    # for that teardown would exhaust the pool).
    ctx.session.rollback()
    return body


def answer_body(row: Assessment, primary: str) -> dict[str, Any]:
    """The scoring response of a stored assessment: its outputs plus ids, versions, explanation."""
    return {
        **row.outputs,
        "assessment_id": row.id,
        "created_at": row.created_at,
        "model": row.model_versions,
        "policy_version": row.policy_version,
        "policy_hash": row.policy_hash,
        "explanation": row.explanation[primary],
        "explanations": row.explanation,
    }
