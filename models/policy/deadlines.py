"""Claim deadlines of the PRC Insurance Law: decide within 30 days, pay within 10 days (Art. 23)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from models.policy.document import ClaimRules


class ClaimDeadlines(BaseModel):
    """When the decision and the payment are due, and whether either is overdue on a day."""

    model_config = ConfigDict(frozen=True)

    decision_due: dt.date | None
    decision_overdue: bool
    payment_due: dt.date | None
    payment_overdue: bool

    @property
    def overdue(self) -> bool:
        """Whether any deadline has passed without the act it asks for."""
        return self.decision_overdue or self.payment_overdue


def claim_deadlines(
    rules: ClaimRules,
    documents_complete_on: dt.date | None,
    decided_on: dt.date | None,
    agreed_amount_positive: bool,
    fully_paid_on: dt.date | None,
    today: dt.date,
) -> ClaimDeadlines:
    """Deadlines of one claim on `today`; a deadline is overdue once its last day has passed."""
    decision_due = (documents_complete_on + dt.timedelta(days=rules.decision_days)
                    if documents_complete_on is not None else None)
    decision_overdue = bool(
        decision_due is not None
        and ((decided_on is None and today > decision_due)
             or (decided_on is not None and decided_on > decision_due))
    )
    payment_due = (decided_on + dt.timedelta(days=rules.payment_days)
                   if decided_on is not None and agreed_amount_positive else None)
    payment_overdue = bool(
        payment_due is not None
        and ((fully_paid_on is None and today > payment_due)
             or (fully_paid_on is not None and fully_paid_on > payment_due))
    )
    return ClaimDeadlines(
        decision_due=decision_due, decision_overdue=decision_overdue,
        payment_due=payment_due, payment_overdue=payment_overdue,
    )
