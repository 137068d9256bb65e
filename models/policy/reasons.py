"""Reasons given with a decision, in English and Chinese; at most four per quote."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

MAX_REASONS = 4  # credit practice: more than four principal reasons are not meaningful


class Reason(BaseModel):
    """One principal reason for a decision or a figure in a quote."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    message_zh: str


def top_reasons(reasons: list[Reason]) -> list[Reason]:
    """The first `MAX_REASONS` reasons, in the priority order they were given."""
    return reasons[:MAX_REASONS]
