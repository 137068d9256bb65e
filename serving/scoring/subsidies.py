"""Subsidy an applicant was already granted this calendar year, by bound policies only.

Quotes show the subsidy they would get but draw nothing: the subsidy is granted when a policy is
bound (`serving.policies.subsidy`), under a row lock on the applicant's yearly account.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.policy.money import from_minor
from serving.policies.tables import SubsidyAccount

_GRANTED = sa.select(SubsidyAccount.granted_minor, SubsidyAccount.currency).where(
    SubsidyAccount.applicant_id == sa.bindparam("applicant_id"),
    SubsidyAccount.year == sa.bindparam("year"),
)


def subsidy_used_this_year(session: Session, applicant_id: str, now: dt.datetime) -> float:
    """Subsidy granted to the applicant's policies bound in the calendar year of `now`."""
    # A Core SELECT of the two columns, built once: the ORM's identity map and object loading,
    # or building the statement per call, cost more than the read itself on the quote path.
    row = session.connection().execute(
        _GRANTED, {"applicant_id": applicant_id, "year": now.year}
    ).first()
    return float(from_minor(row.granted_minor, row.currency)) if row is not None else 0.0
