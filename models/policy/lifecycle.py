"""The states of policies and claims and the only place that says which change is allowed.

Policies: `bound -> in_force -> expired | cancelled` (a bound policy can also be cancelled before
it starts); the time-driven part is derived from the dates, the rest from what was recorded.
Claims: `notified (报案) -> registered (立案) -> under_assessment (查勘/定损) -> approved |
partially_approved | denied -> paid | partially_paid -> closed`, and `closed -> reopened ->
under_assessment`. A claim cannot close while a part of it is open (partly paid).
An advance payment (先予支付) of the part already determined is made while the claim is under
assessment and leaves it there; at the decision the advances count against the agreed amount, so
the claim moves on to partly paid or paid when they cover part or all of it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from models.policy.errors import IllegalTransitionError


class PolicyStatus(StrEnum):
    """Status of a policy on a given day."""

    BOUND = "bound"
    IN_FORCE = "in_force"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class PolicyAction(StrEnum):
    """What can be done to a policy after binding."""

    ENDORSE = "endorse"
    CANCEL = "cancel"
    CLAIM = "claim"


POLICY_ACTIONS: dict[PolicyAction, frozenset[PolicyStatus]] = {
    PolicyAction.ENDORSE: frozenset({PolicyStatus.BOUND, PolicyStatus.IN_FORCE}),
    PolicyAction.CANCEL: frozenset({PolicyStatus.BOUND, PolicyStatus.IN_FORCE}),
    # Claims-made cover: a suit accepted in the period may be notified after it ends.
    PolicyAction.CLAIM: frozenset(
        {PolicyStatus.IN_FORCE, PolicyStatus.EXPIRED, PolicyStatus.CANCELLED}
    ),
}


def policy_status(
    start: dt.date, end: dt.date, cancelled_from: dt.date | None, on: dt.date
) -> PolicyStatus:
    """The status on day `on` of a policy covering [start, end], cancelled from a day or not."""
    if cancelled_from is not None and on >= cancelled_from:
        return PolicyStatus.CANCELLED
    if on < start:
        return PolicyStatus.BOUND
    if on <= end:
        return PolicyStatus.IN_FORCE
    return PolicyStatus.EXPIRED


def policy_actions(status: PolicyStatus) -> list[str]:
    """Actions allowed on a policy in `status`, in a stable order."""
    return [a.value for a, states in POLICY_ACTIONS.items() if status in states]


def check_policy_action(status: PolicyStatus, action: PolicyAction) -> None:
    """Raise `IllegalTransitionError` unless `action` is allowed on a policy in `status`."""
    if status not in POLICY_ACTIONS[action]:
        raise IllegalTransitionError("policy", status.value, action.value, policy_actions(status))


class ClaimState(StrEnum):
    """State of a claim (理赔状态)."""

    NOTIFIED = "notified"  # 报案
    REGISTERED = "registered"  # 立案
    UNDER_ASSESSMENT = "under_assessment"  # 查勘/定损
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    DENIED = "denied"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    CLOSED = "closed"
    REOPENED = "reopened"


S = ClaimState
CLAIM_TRANSITIONS: dict[ClaimState, tuple[ClaimState, ...]] = {
    # A registration check that fails is a reasoned denial straight from notification.
    S.NOTIFIED: (S.REGISTERED, S.DENIED),
    S.REGISTERED: (S.UNDER_ASSESSMENT,),
    S.UNDER_ASSESSMENT: (S.APPROVED, S.PARTIALLY_APPROVED, S.DENIED),
    # A decision covered (partly) by advances moves on at once to partly paid or paid.
    S.APPROVED: (S.PARTIALLY_PAID, S.PAID),
    S.PARTIALLY_APPROVED: (S.PARTIALLY_PAID, S.PAID),
    # A reversal takes a paid claim back to partly paid, or to its decision when nothing is left.
    S.PARTIALLY_PAID: (S.PARTIALLY_PAID, S.PAID, S.APPROVED, S.PARTIALLY_APPROVED),
    S.PAID: (S.CLOSED, S.PARTIALLY_PAID, S.APPROVED, S.PARTIALLY_APPROVED),
    S.DENIED: (S.CLOSED,),
    S.CLOSED: (S.REOPENED,),
    S.REOPENED: (S.UNDER_ASSESSMENT,),
}

# What can be done to a claim, and in which states; the resulting state must be a transition above.
CLAIM_ACTIONS: dict[str, tuple[ClaimState, ...]] = {
    "register": (S.NOTIFIED,),
    "assess": (S.REGISTERED, S.REOPENED),
    "revise_reserve": (S.UNDER_ASSESSMENT, S.APPROVED, S.PARTIALLY_APPROVED, S.PARTIALLY_PAID),
    "record_sale": (S.UNDER_ASSESSMENT,),
    # Advance payment of the part already determined, its second approval and its reversal.
    "pay_advance": (S.UNDER_ASSESSMENT,),
    "approve_advance": (S.UNDER_ASSESSMENT,),
    "reverse_advance": (S.UNDER_ASSESSMENT,),
    "decide": (S.UNDER_ASSESSMENT,),
    "pay": (S.APPROVED, S.PARTIALLY_APPROVED, S.PARTIALLY_PAID),
    "approve_payment": (S.APPROVED, S.PARTIALLY_APPROVED, S.PARTIALLY_PAID),
    "reverse_payment": (S.PARTIALLY_PAID, S.PAID),
    "record_recovery": (S.APPROVED, S.PARTIALLY_APPROVED, S.PARTIALLY_PAID, S.PAID, S.CLOSED),
    "close": (S.PAID, S.DENIED),
    "reopen": (S.CLOSED,),
}


def allowed_next(state: ClaimState) -> list[str]:
    """States a claim in `state` may move to."""
    return [s.value for s in CLAIM_TRANSITIONS[state]]


def claim_actions(state: ClaimState) -> list[str]:
    """The actions allowed on a claim in `state` (what a console offers as next steps)."""
    return [action for action, states in CLAIM_ACTIONS.items() if state in states]


def check_claim_action(current: ClaimState, action: str) -> None:
    """Raise `IllegalTransitionError` (naming the state and allowed states) unless allowed."""
    if current not in CLAIM_ACTIONS[action]:
        raise IllegalTransitionError("claim", current.value, action, allowed_next(current))


def check_claim_transition(current: ClaimState, target: ClaimState, action: str) -> ClaimState:
    """`target` if a claim may move there from `current`; else `IllegalTransitionError`."""
    if target is not current and target not in CLAIM_TRANSITIONS[current]:
        raise IllegalTransitionError("claim", current.value, action, allowed_next(current))
    return target
