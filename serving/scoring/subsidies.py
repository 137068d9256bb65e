"""Subsidy an applicant already received this calendar year, from the stored assessments."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from serving.crud import AssessmentKind
from serving.tables import Assessment

# Kinds whose outputs carry `applicant_id` and `subsidy.amount`.
SUBSIDISED_KINDS: tuple[str, ...] = (
    AssessmentKind.enforcement_quote.value,
    AssessmentKind.liability_quote.value,
    AssessmentKind.loan_assessment.value,
)


def subsidy_used_this_year(session: Session, applicant_id: str, now: dt.datetime) -> float:
    """Sum of subsidies in the applicant's stored assessments since 1 January of `now` (UTC)."""
    start = dt.datetime(now.year, 1, 1, tzinfo=dt.UTC)
    amount = Assessment.outputs[("subsidy", "amount")].as_float()
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(amount), 0.0)).where(
            Assessment.kind.in_(SUBSIDISED_KINDS),
            Assessment.status == "completed",
            Assessment.created_at >= start,
            Assessment.outputs["applicant_id"].as_string() == applicant_id,
        )
    )
    return round(float(total or 0.0), 2)
