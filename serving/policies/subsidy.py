"""The premium subsidy (保费补贴), granted when a policy is bound, within the policy file's caps.

The applicant's yearly account is locked before the remaining cap is read, so concurrent binds for
one applicant are granted one after the other and together never exceed
`subsidy.cap_per_applicant_year` (nor any one `cap_per_policy`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from models.policy import Applicant, Policy, Product
from models.policy.money import from_minor, to_minor
from models.policy.subsidy import Subsidy, compute_subsidy
from serving.policies.locks import lock_subsidy_account
from serving.policies.tables import PolicyRecord, SubsidyGrant

if TYPE_CHECKING:
    from serving.policies.service import Actor


def grant_subsidy(
    session: Session, policy: Policy, product: Product, applicant: Applicant, gross: Decimal,
    policy_id: str, actor: Actor,
) -> Subsidy:
    """Lock the applicant's account of this year, compute the subsidy on what is left, grant it."""
    cur = policy.currency
    year = actor.today.year
    account = lock_subsidy_account(session, applicant.applicant_id, year, cur)
    used = from_minor(account.granted_minor, cur)
    subsidy = compute_subsidy(policy, product, applicant, float(gross), float(used))
    amount = Decimal(str(subsidy.amount)).quantize(Decimal("0.01"))
    if amount > 0:
        account.granted_minor += to_minor(amount, cur)
        session.add(SubsidyGrant(
            id=str(uuid.uuid4()), applicant_id=applicant.applicant_id, year=year,
            policy_id=policy_id, amount_minor=to_minor(amount, cur), created_at=actor.now,
        ))
    return subsidy


def return_subsidy(session: Session, head: PolicyRecord, amount: Decimal, actor: Actor) -> None:
    """Give back the unearned subsidy of a cancelled policy to the year it was granted in."""
    cur = head.currency
    year = head.created_at.year
    account = lock_subsidy_account(session, head.applicant_id, year, cur)
    account.granted_minor -= to_minor(amount, cur)
    session.add(SubsidyGrant(
        id=str(uuid.uuid4()), applicant_id=head.applicant_id, year=year, policy_id=head.id,
        amount_minor=-to_minor(amount, cur), created_at=actor.now,
    ))
