"""Subsidy an applicant was already granted this calendar year, by bound policies only.

Quotes show the subsidy they would get but draw nothing: the subsidy is granted when a policy is
bound (`serving.policies.subsidy`), under a row lock on the applicant's yearly account.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from models.policy.money import from_minor
from serving.policies.tables import SubsidyAccount


def subsidy_used_this_year(session: Session, applicant_id: str, now: dt.datetime) -> float:
    """Subsidy granted to the applicant's policies bound in the calendar year of `now`."""
    row = session.get(SubsidyAccount, (applicant_id, now.year))
    return float(from_minor(row.granted_minor, row.currency)) if row is not None else 0.0
