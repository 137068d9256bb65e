"""Claims: notice, registration checks, assessment, reserve, decision, payments, closure.

Every action that changes a claim first locks its policy's row (`lock_policy`), then re-reads the
claim: actions on one policy run one after another, so payments on all its claims together never
pass the aggregate limit. Each action checks the state machine of `models.policy.lifecycle`,
appends to the timeline and, for money, to the ledger; the route commits once.

A claim's payable amount and its advances (先予支付) are computed with the limits left *for this
claim*: what the policy's other claims used comes off the sub-limits and the aggregate, what this
claim already paid does not (it counts against the claim's own agreed amount instead).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.policy import Policy, Product
from models.policy.circumstances import (
    KnownCircumstance,
    ReferencedSuit,
    known_circumstance_denials,
)
from models.policy.cover import CoverSchedule
from models.policy.deadlines import claim_deadlines
from models.policy.errors import QuoteInputError
from models.policy.lifecycle import (
    ClaimState,
    PolicyAction,
    check_claim_action,
    check_claim_transition,
    check_policy_action,
    claim_actions,
)
from models.policy.money import ZERO, from_minor, parse_amount, rounded
from models.policy.registration import IncidentFacts, InsuredObjects, registration_denials
from models.policy.settlement import (
    AdvanceLimit,
    advance_limit,
    compute_payable,
    share_loss,
)
from serving.auth import CallerRole
from serving.claims.ledger import (
    Balances,
    EntryKind,
    append_entry,
    balances,
    claim_entries,
    policy_balances,
)
from serving.claims.schemas import (
    AdvanceRequest,
    AssessRequest,
    BalancesOut,
    ClaimOut,
    ClaimPage,
    ClaimSummaryOut,
    DeadlinesOut,
    DecideRequest,
    EntryOut,
    EventOut,
    NotifyRequest,
    PaymentRequest,
    RecoveryRequest,
    RegisterRequest,
    ReserveRequest,
    SaleRequest,
)
from serving.claims.tables import ClaimEvent, ClaimRecord, LedgerEntry
from serving.crud import json_safe
from serving.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from serving.policies.locks import lock_policy
from serving.policies.service import (
    Actor,
    current_version,
    get_policy,
    input_error,
    schedule_from,
    status_of,
)
from serving.policies.tables import PolicyRecord

S = ClaimState


def _amount(field: str, value: Decimal, currency: str, given: str | None = None,
            *, positive: bool = False) -> Decimal:
    """A request amount in the policy's currency; 422 naming the field otherwise."""
    if given is not None and given != currency:
        # Every money request has one top-level `currency` for all its amounts.
        raise InvalidInputError(
            "currency", "policy_currency",
            f"amounts must be in the policy currency {currency}, got {given}",
        )
    try:
        return parse_amount(field, value, currency, positive=positive)
    except QuoteInputError as exc:
        raise input_error(exc) from None


def get_claim(session: Session, claim_id: str) -> ClaimRecord:
    """The claim with this id or number; 404 otherwise."""
    row = session.get(ClaimRecord, claim_id, populate_existing=True) or session.scalar(
        sa.select(ClaimRecord).where(ClaimRecord.number == claim_id))
    if row is None:
        raise NotFoundError(f"claim {claim_id!r} not found")
    return row


def _locked(session: Session, claim_id: str) -> tuple[ClaimRecord, PolicyRecord]:
    """Lock the claim's policy, then read the claim afresh (the order every action uses)."""
    claim = get_claim(session, claim_id)
    head = lock_policy(session, claim.policy_id)
    return get_claim(session, claim.id), head


def _event(session: Session, claim: ClaimRecord, actor: Actor, action: str,
           before: ClaimState | None, after: ClaimState, reason: str,
           details: dict[str, Any] | None = None) -> None:
    """Append one step to the claim's timeline."""
    seq = session.scalar(sa.select(sa.func.coalesce(sa.func.max(ClaimEvent.seq), 0))
                         .where(ClaimEvent.claim_id == claim.id))
    session.add(ClaimEvent(
        id=str(uuid.uuid4()), claim_id=claim.id, seq=int(seq or 0) + 1, action=action,
        from_state=before.value if before else None, to_state=after.value,
        on_date=actor.today, created_at=actor.now, created_by=actor.caller.key_id,
        created_role=actor.caller.role.value, reason=reason, details=json_safe(details or {}),
    ))
    session.flush()


def _move(session: Session, claim: ClaimRecord, actor: Actor, action: str, target: ClaimState,
          reason: str, details: dict[str, Any] | None = None) -> None:
    """Move a claim to `target` through the state machine and record the step."""
    current = ClaimState(claim.state)
    check_claim_transition(current, target, action)
    claim.state = target.value
    _event(session, claim, actor, action, current, target, reason, details)


def _cover(session: Session, head: PolicyRecord) -> tuple[CoverSchedule, dict[str, Any]]:
    """The cover schedule and document of the policy's current version."""
    version = current_version(session, head)
    return schedule_from(version, head.currency), version.document


def notify_claim(session: Session, policy: Policy, actor: Actor, req: NotifyRequest,
                 *, case: ReferencedSuit | None = None) -> dict[str, Any]:
    """First notice of loss (报案) on a policy; the claim starts `notified`.

    `case` is the suit of the litigation data that `req.case_id` names, looked up by the caller
    (`serving.claims.cases.referenced_suit`); registration checks its filing date.
    """
    head = lock_policy(session, get_policy(session, req.policy_id).id)
    product = Product(head.product)
    notifiers = (CallerRole.bank, CallerRole.adjuster)
    if product is Product.PLEDGE_LOAN and not actor.caller.has_role(*notifiers):
        raise PermissionDeniedError("pledge-loan claims are notified by the bank or an adjuster")
    check_policy_action(status_of(head, actor.today), PolicyAction.CLAIM)
    cover, doc = _cover(session, head)
    cur = head.currency
    if product is Product.ENFORCEMENT:
        for i, pid in enumerate(req.patent_ids):
            if pid not in doc["insured_patents"]:
                raise InvalidInputError(
                    f"patent_ids[{i}]", "insured_patent",
                    f"patent_ids[{i}]: patent {pid} is not insured by policy {head.number} "
                    f"(insured: {', '.join(doc['insured_patents'])})",
                )
    claimed: dict[str, str] = {}
    for kind, value in req.claimed.items():
        if kind not in cover.sub_limits:
            raise InvalidInputError(
                f"claimed.{kind}", "kind_of_loss",
                f"claimed.{kind}: not a kind of loss this policy pays "
                f"({', '.join(sorted(cover.sub_limits))})",
            )
        claimed[kind] = str(_amount(f"claimed.{kind}", value, cur))
    if req.loss_kind is not None and req.loss_kind not in cover.sub_limits:
        raise InvalidInputError("loss_kind", "kind_of_loss",
                                f"loss_kind must be one of {', '.join(sorted(cover.sub_limits))}")
    if product is Product.PLEDGE_LOAN and req.outstanding_amount is None:
        raise InvalidInputError("outstanding_amount", "required_for_pledge_loan",
                                "outstanding_amount: the loan balance owed at default is needed")
    if product is not Product.PLEDGE_LOAN and req.filed_date is None:
        raise InvalidInputError("filed_date", "required_claims_made",
                                "filed_date: the day the suit was filed and accepted is needed")
    if req.incident_date > actor.today:
        raise InvalidInputError("incident_date", "not_in_future",
                                f"incident_date must not be after {actor.today}")
    if req.case_id is not None and (case is None or case.case_id != req.case_id):
        raise InvalidInputError("case_id", "known_case",
                                f"case_id {req.case_id!r} is not a case of the litigation data")
    if case is not None and product is Product.PLEDGE_LOAN:
        raise InvalidInputError("case_id", "insurance_only",
                                "case_id: pledge-loan claims do not refer to a suit")
    incident = req.model_dump(mode="json", exclude={"claimed", "policy_id"})
    if case is not None:
        incident["case"] = case.model_dump(mode="json")
    if req.outstanding_amount is not None:
        incident["outstanding_amount"] = str(_amount("outstanding_amount",
                                                     req.outstanding_amount, cur))
    claim = ClaimRecord(
        id=str(uuid.uuid4()),
        number=f"CLM-{actor.today.year}-{uuid.uuid4().hex[:8].upper()}",
        policy_id=head.id, product=head.product, currency=cur, state=S.NOTIFIED.value,
        decision=None, notified_on=actor.today, incident=incident, claimed=claimed,
        created_at=actor.now, created_by=actor.caller.key_id,
    )
    session.add(claim)
    session.flush()
    _event(session, claim, actor, "notify", None, S.NOTIFIED, req.description or "notified",
           {"incident": incident, "claimed": claimed})
    return claim_body(session, claim, policy, actor.today)


def register_claim(session: Session, policy: Policy, actor: Actor, claim_id: str,
                   req: RegisterRequest) -> dict[str, Any]:
    """Run the registration checks: register the claim, or deny it with the reasons."""
    claim, head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "register")
    cover, doc = _cover(session, head)
    inc = claim.incident
    facts = IncidentFacts(
        incident_date=dt.date.fromisoformat(inc["incident_date"]),
        filed_date=dt.date.fromisoformat(inc["filed_date"]) if inc.get("filed_date") else None,
        patent_ids=tuple(inc.get("patent_ids") or ()), product_class=inc.get("product_class"),
    )
    insured = InsuredObjects(
        patent_ids=tuple(doc["insured_patents"]), product_classes=tuple(doc["product_classes"]),
        cancelled_from=head.cancelled_from,
    )
    denials = registration_denials(cover, insured, facts)
    if Product(head.product) is not Product.PLEDGE_LOAN:
        declared = [KnownCircumstance.model_validate(c)
                    for c in doc.get("known_circumstances", [])]
        suit = ReferencedSuit.model_validate(inc["case"]) if inc.get("case") else None
        denials += known_circumstance_denials(declared, bound_on(head), inc.get("counterparty"),
                                              facts.patent_ids, suit)
    docs_on = req.documents_complete_on or actor.today
    if docs_on > actor.today or docs_on < claim.notified_on:
        raise InvalidInputError(
            "documents_complete_on", "between_notice_and_today",
            f"documents_complete_on must be between {claim.notified_on} and {actor.today}",
        )
    claim.documents_complete_on = docs_on
    if denials:
        claim.denial_reasons = [r.model_dump() for r in denials]
        claim.decision = S.DENIED.value
        claim.decided_on = actor.today
        claim.payable = {"total": "0"}
        _move(session, claim, actor, "register", S.DENIED,
              "; ".join(r.message for r in denials), {"denial_reasons": claim.denial_reasons})
    else:
        claim.registered_on = actor.today
        _move(session, claim, actor, "register", S.REGISTERED, req.reason,
              {"documents_complete_on": docs_on})
    return claim_body(session, claim, policy, actor.today)


def open_assessment(session: Session, policy: Policy, actor: Actor, claim_id: str,
                    req: AssessRequest, estimate: dict[str, Any]) -> dict[str, Any]:
    """Start 查勘/定损 with the reserve of `estimate` (from `serving.claims.estimates`)."""
    claim, head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "assess")
    cur = claim.currency
    b = balances(claim_entries(session, claim.id), cur)
    reserve = Decimal(estimate["reserve"])
    limit_left = aggregate_left(session, head)
    reserve = min(reserve, limit_left)
    estimate = {**estimate, "reserve": str(reserve), "estimated_on": actor.today.isoformat()}
    claim.assessment = {"estimate": estimate, "revisions": []}
    if reserve != b.reserve:
        append_entry(session, claim, EntryKind.RESERVE, reserve - b.reserve, on=actor.today,
                     now=actor.now, by=actor.caller.key_id, role=actor.caller.role.value,
                     reason=f"initial reserve: {estimate['basis']}")
    _move(session, claim, actor, "assess", S.UNDER_ASSESSMENT, req.reason,
          {"reserve": str(reserve), "model": estimate.get("model")})
    return claim_body(session, claim, policy, actor.today)


def revise_reserve(session: Session, policy: Policy, actor: Actor, claim_id: str,
                   req: ReserveRequest) -> dict[str, Any]:
    """The adjuster sets a new reserve with a reason; the ledger records the change."""
    claim, head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "revise_reserve")
    cur = claim.currency
    new = _amount("amount", req.amount, cur, req.currency)
    b = balances(claim_entries(session, claim.id), cur)
    if new != b.reserve:
        append_entry(session, claim, EntryKind.RESERVE, new - b.reserve, on=actor.today,
                     now=actor.now, by=actor.caller.key_id, role=actor.caller.role.value,
                     reason=req.reason)
    assessment = dict(claim.assessment or {})
    assessment["revisions"] = [*assessment.get("revisions", []), {
        "reserve": str(new), "previous": str(b.reserve), "reason": req.reason,
        "by": actor.caller.key_id, "on": actor.today.isoformat(),
    }]
    claim.assessment = assessment
    _event(session, claim, actor, "revise_reserve", ClaimState(claim.state),
           ClaimState(claim.state), req.reason, {"reserve": str(new)})
    return claim_body(session, claim, policy, actor.today)


def record_sale(session: Session, policy: Policy, actor: Actor, claim_id: str,
                req: SaleRequest) -> dict[str, Any]:
    """Pledge loan: record the real sale of the pledged patents (replaces the P10-P50 estimate)."""
    claim, _head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "record_sale")
    if claim.product != Product.PLEDGE_LOAN.value:
        raise InvalidInputError("claim_id", "pledge_loan_only",
                                "a sale is recorded only on pledge-loan guarantee claims")
    cur = claim.currency
    proceeds = _amount("proceeds", req.proceeds, cur, req.currency)
    costs = _amount("disposal_costs", req.disposal_costs, cur, req.currency)
    if req.sold_on > actor.today:
        raise InvalidInputError("sold_on", "not_in_future",
                                f"sold_on must not be after {actor.today}")
    assessment = dict(claim.assessment or {})
    assessment["sale"] = {"proceeds": str(proceeds), "disposal_costs": str(costs),
                          "net_recovery": str(proceeds - costs), "sold_on": req.sold_on.isoformat()}
    claim.assessment = assessment
    _event(session, claim, actor, "record_sale", ClaimState(claim.state), ClaimState(claim.state),
           req.reason, assessment["sale"])
    return claim_body(session, claim, policy, actor.today)


def bound_on(head: PolicyRecord) -> dt.date:
    """The day the policy was bound (what the insured knew by then is excluded)."""
    return head.created_at.date()


def _claim_limits(session: Session, head: PolicyRecord, cover: CoverSchedule, own: Balances
                  ) -> tuple[dict[str, Decimal], Decimal]:
    """Sub-limits and aggregate left for one claim: what the policy's other claims used is gone."""
    pb = policy_balances(session, head.id, head.currency)
    used_kind = pb.used_by_kind()
    own_kind = own.used_by_kind()
    sub_left = {k: v - (used_kind.get(k, ZERO) - own_kind.get(k, ZERO))
                for k, v in cover.sub_limits.items()}
    others = (pb.paid + pb.pending) - (own.paid + own.pending)
    return sub_left, max(ZERO, cover.aggregate_limit - others)


def aggregate_left(session: Session, head: PolicyRecord) -> Decimal:
    """What is left of the policy's aggregate limit (paid and awaiting approval count)."""
    cover, _ = _cover(session, head)
    b = policy_balances(session, head.id, head.currency)
    return max(ZERO, cover.aggregate_limit - b.paid - b.pending)


def decide_claim(session: Session, policy: Policy, actor: Actor, claim_id: str,
                 req: DecideRequest) -> dict[str, Any]:
    """Apply deductible, co-pay, sub-limits and the aggregate left: approve, partly, or deny."""
    claim, head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "decide")
    cover, _doc = _cover(session, head)
    cur = claim.currency
    b = balances(claim_entries(session, claim.id), cur)
    if b.pending_advance_ids:
        raise ConflictError("claim_id", "advance_awaiting_approval",
                            "an advance awaits approval: a second adjuster approves it before the "
                            "decision")
    sub_left, agg_left = _claim_limits(session, head, cover, b)
    loss: dict[str, Any] | None = None
    if claim.product == Product.PLEDGE_LOAN.value:
        sale = (claim.assessment or {}).get("sale")
        if sale is None:
            raise ConflictError("sale", "sale_required",
                                "record the sale of the pledged patents before deciding")
        outstanding = (_amount("outstanding_amount", req.outstanding_amount, cur, req.currency)
                       if req.outstanding_amount is not None
                       else Decimal(claim.incident["outstanding_amount"]))
        shared = share_loss(outstanding, Decimal(sale["net_recovery"]), policy.loan.loss_sharing,
                            cur)
        loss = json_safe(shared.model_dump(mode="json"))
        assessed = {"lender_loss": shared.loss}
    else:
        if not req.assessed:
            raise InvalidInputError("assessed", "required",
                                    "assessed: give the assessed loss by kind of loss")
        assessed = {k: _amount(f"assessed.{k}", v, cur, req.currency)
                    for k, v in req.assessed.items()}
    try:
        payable = compute_payable(assessed, cover.deductible, cover.insurer_share, sub_left,
                                  agg_left, cur, already_paid=b.paid_by_kind)
    except QuoteInputError as exc:
        raise input_error(exc) from None
    for kind, paid in sorted(b.paid_by_kind.items()):
        if payable.by_kind.get(kind, ZERO) < paid:
            raise InvalidInputError(
                f"assessed.{kind}", "not_below_paid",
                f"assessed.{kind}: pays {payable.by_kind.get(kind, ZERO)} {cur}, less than the "
                f"{paid} {cur} already paid for it (advances included); reverse the payment "
                "first if it was too much",
            )
    claimed = {k: Decimal(v) for k, v in (claim.claimed or {}).items()}
    cut = bool(payable.limited_by) or any(assessed.get(k, ZERO) < v for k, v in claimed.items())
    if payable.total == 0:
        target = S.DENIED
    elif cut:
        target = S.PARTIALLY_APPROVED
    else:
        target = S.APPROVED
    claim.payable = json_safe({**payable.model_dump(mode="json"),
                               "by_kind": {k: str(v) for k, v in payable.by_kind.items()},
                               "lender_loss": loss})
    claim.decision = target.value
    claim.decided_on = actor.today
    if target is S.DENIED:
        claim.denial_reasons = [{
            "code": "nothing_payable",
            "message": "nothing is payable after the deductible, co-pay and limits",
            "message_zh": "扣除免赔额、共担比例及限额后无应付金额",
        }]
    # The reserve becomes what is left to pay of the agreed amount (advances are paid already).
    outstanding = payable.total - b.paid
    if outstanding != b.reserve:
        append_entry(session, claim, EntryKind.RESERVE, outstanding - b.reserve, on=actor.today,
                     now=actor.now, by=actor.caller.key_id, role=actor.caller.role.value,
                     reason=f"reserve set to the agreed amount left to pay: {req.reason}")
    _move(session, claim, actor, "decide", target, req.reason, {"payable": claim.payable})
    if b.paid > 0:
        _after_payment(session, claim, actor, "count_advances",
                       f"{b.paid} {cur} already paid counts against the agreed amount",
                       {"paid": str(b.paid), "advanced": str(b.advanced)})
    return claim_body(session, claim, policy, actor.today)


def _payable_left(claim: ClaimRecord, b: Balances, kind: str) -> Decimal:
    """What is left to pay of the agreed amount for one kind of loss."""
    agreed = Decimal((claim.payable or {}).get("by_kind", {}).get(kind, "0"))
    return agreed - b.paid_by_kind.get(kind, ZERO) - b.pending_by_kind.get(kind, ZERO)


def _after_payment(session: Session, claim: ClaimRecord, actor: Actor, action: str,
                   reason: str, details: dict[str, Any]) -> None:
    """Move the claim to paid or partially paid (or back to its decision) from its balances."""
    b = balances(claim_entries(session, claim.id), claim.currency)
    agreed = Decimal((claim.payable or {}).get("total", "0"))
    if b.paid >= agreed and b.pending == 0:
        target = S.PAID
        claim.fully_paid_on = claim.fully_paid_on or actor.today
    elif b.paid > 0:
        target = S.PARTIALLY_PAID
        claim.fully_paid_on = None
    else:
        target = ClaimState(claim.decision) if claim.decision else ClaimState(claim.state)
        claim.fully_paid_on = None
    if target is ClaimState(claim.state):
        _event(session, claim, actor, action, target, target, reason, details)
    else:
        _move(session, claim, actor, action, target, reason, details)


def pay_claim(session: Session, policy: Policy, actor: Actor, claim_id: str,
              req: PaymentRequest) -> dict[str, Any]:
    """Pay part of the agreed amount; above the authority limit it waits for a second approver."""
    claim, head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "pay")
    cur = claim.currency
    amount = _amount("amount", req.amount, cur, req.currency, positive=True)
    kinds = (claim.payable or {}).get("by_kind", {})
    if req.loss_kind not in kinds:
        raise InvalidInputError("loss_kind", "agreed_kind",
                                f"loss_kind must be one of the agreed kinds {sorted(kinds)}")
    b = balances(claim_entries(session, claim.id), cur)
    left = _payable_left(claim, b, req.loss_kind)
    if amount > left:
        raise InvalidInputError(
            "amount", "within_agreed_amount",
            f"amount {amount} {cur} is above the {left} {cur} left to pay of the agreed "
            f"{req.loss_kind}",
        )
    agg_left = aggregate_left(session, head)
    if amount > agg_left:
        raise InvalidInputError(
            "amount", "within_remaining_aggregate_limit",
            f"amount {amount} {cur} is above the remaining aggregate limit {agg_left} {cur}",
        )
    limit = Decimal(str(policy.claims.authority_limit))
    needs = amount > limit
    entry = append_entry(session, claim, EntryKind.PAYMENT, amount, on=actor.today, now=actor.now,
                         by=actor.caller.key_id, role=actor.caller.role.value, reason=req.reason,
                         loss_kind=req.loss_kind, needs_approval=needs)
    if needs:
        _event(session, claim, actor, "pay", ClaimState(claim.state), ClaimState(claim.state),
               req.reason, {"entry_id": entry.id, "amount": str(amount),
                            "awaiting_approval": True, "authority_limit": str(limit)})
    else:
        _release(session, claim, actor, entry, amount, "pay", req.reason)
    return claim_body(session, claim, policy, actor.today)


def _release(session: Session, claim: ClaimRecord, actor: Actor, entry: LedgerEntry,
             amount: Decimal, action: str, reason: str) -> None:
    """An effective payment takes the same amount off the reserve and moves the state.

    An advance leaves the claim under assessment: only the timeline records it.
    """
    b = balances(claim_entries(session, claim.id), claim.currency)
    drawdown = min(amount, max(ZERO, b.reserve))
    if drawdown > 0:
        append_entry(session, claim, EntryKind.RESERVE, -drawdown, on=actor.today, now=actor.now,
                     by=actor.caller.key_id, role=actor.caller.role.value,
                     reason=f"paid {amount}", ref=entry.id)
    details = {"entry_id": entry.id, "amount": str(amount), "kind": entry.kind}
    if entry.kind == EntryKind.ADVANCE:
        state = ClaimState(claim.state)
        _event(session, claim, actor, action, state, state, reason, details)
    else:
        _after_payment(session, claim, actor, action, reason, details)


def _entry(session: Session, claim: ClaimRecord, entry_id: str, *kinds: EntryKind
           ) -> LedgerEntry:
    """A ledger entry of this claim of one of `kinds`; 404 otherwise."""
    row = session.get(LedgerEntry, entry_id)
    if row is None or row.claim_id != claim.id or row.kind not in kinds:
        raise NotFoundError(f"{kinds[0].value} {entry_id!r} not found on claim {claim.number}")
    return row


def _money_action(entry: LedgerEntry, claim: ClaimRecord, on_payment: str, on_advance: str
                  ) -> str:
    """The state-machine action for an approval or reversal of a payment or an advance.

    An advance before the decision is approved or reversed under assessment; once the claim is
    decided it is a payment of the agreed amount like any other.
    """
    if entry.kind == EntryKind.ADVANCE and ClaimState(claim.state) is S.UNDER_ASSESSMENT:
        return on_advance
    return on_payment


def approve_payment(session: Session, policy: Policy, actor: Actor, claim_id: str,
                    entry_id: str, reason: str, *, only_advances: bool = False
                    ) -> dict[str, Any]:
    """A second approver releases a payment (or an advance) above the authority limit."""
    claim, _head = _locked(session, claim_id)
    kinds = (EntryKind.ADVANCE,) if only_advances else (EntryKind.PAYMENT, EntryKind.ADVANCE)
    payment = _entry(session, claim, entry_id, *kinds)
    action = _money_action(payment, claim, "approve_payment", "approve_advance")
    check_claim_action(ClaimState(claim.state), action)
    b = balances(claim_entries(session, claim.id), claim.currency)
    if payment.id not in b.pending_ids:
        raise ConflictError("entry_id", "not_awaiting_approval",
                            f"payment {entry_id} is not awaiting approval")
    if payment.created_by == actor.caller.key_id:
        raise ConflictError("entry_id", "second_approver",
                            "a payment above the authority limit needs a second approver: the "
                            "key that made it cannot approve it")
    amount = from_minor(payment.amount_minor, claim.currency)
    append_entry(session, claim, EntryKind.APPROVAL, ZERO, on=actor.today, now=actor.now,
                 by=actor.caller.key_id, role=actor.caller.role.value, reason=reason,
                 loss_kind=payment.loss_kind, ref=payment.id)
    _release(session, claim, actor, payment, amount, action, reason)
    return claim_body(session, claim, policy, actor.today)


def reverse_payment(session: Session, policy: Policy, actor: Actor, claim_id: str,
                    entry_id: str, reason: str, *, only_advances: bool = False
                    ) -> dict[str, Any]:
    """Take back an effective payment or advance (returned, made in error); restore the reserve."""
    claim, _head = _locked(session, claim_id)
    kinds = (EntryKind.ADVANCE,) if only_advances else (EntryKind.PAYMENT, EntryKind.ADVANCE)
    payment = _entry(session, claim, entry_id, *kinds)
    action = _money_action(payment, claim, "reverse_payment", "reverse_advance")
    check_claim_action(ClaimState(claim.state), action)
    b = balances(claim_entries(session, claim.id), claim.currency)
    if payment.id not in b.effective_payment_ids:
        raise ConflictError("entry_id", "effective_payment",
                            f"payment {entry_id} is not an effective payment (pending or reversed)")
    amount = from_minor(payment.amount_minor, claim.currency)
    append_entry(session, claim, EntryKind.REVERSAL, -amount, on=actor.today, now=actor.now,
                 by=actor.caller.key_id, role=actor.caller.role.value, reason=reason,
                 loss_kind=payment.loss_kind, ref=payment.id)
    append_entry(session, claim, EntryKind.RESERVE, amount, on=actor.today, now=actor.now,
                 by=actor.caller.key_id, role=actor.caller.role.value,
                 reason=f"reserve restored by reversal: {reason}", ref=payment.id)
    details = {"entry_id": payment.id, "amount": str(-amount), "kind": payment.kind}
    if action == "reverse_advance":
        state = ClaimState(claim.state)
        _event(session, claim, actor, action, state, state, reason, details)
    else:
        _after_payment(session, claim, actor, "reverse_payment", reason, details)
    return claim_body(session, claim, policy, actor.today)


def _advance_limit(session: Session, claim: ClaimRecord, head: PolicyRecord,
                   given: dict[str, Decimal] | None, currency: str | None, b: Balances
                   ) -> tuple[dict[str, Decimal], AdvanceLimit]:
    """The determined loss (given, else the stored one) and what it lets the claim advance."""
    cover, _doc = _cover(session, head)
    cur = claim.currency
    stored = ((claim.assessment or {}).get("advances") or {}).get("determined")
    if given is not None:
        for kind in given:
            if kind not in cover.sub_limits:
                raise InvalidInputError(
                    f"determined.{kind}", "kind_of_loss",
                    f"determined.{kind}: not a kind of loss this policy pays "
                    f"({', '.join(sorted(cover.sub_limits))})",
                )
        determined = {k: _amount(f"determined.{k}", v, cur, currency) for k, v in given.items()}
    elif stored:
        determined = {k: Decimal(v) for k, v in stored.items()}
    else:
        raise InvalidInputError("determined", "required",
                                "determined: give the loss determined so far, by kind of loss")
    sub_left, agg_left = _claim_limits(session, head, cover, b)
    try:
        limit = advance_limit(determined, cover.deductible, cover.insurer_share, sub_left,
                              agg_left, b.advanced_by_kind, cur)
    except QuoteInputError as exc:
        raise input_error(exc) from None
    if limit.over_advanced:
        kind = min(limit.over_advanced)
        was = b.advanced_by_kind[kind]
        raise InvalidInputError(
            f"determined.{kind}", "not_below_advanced",
            f"determined.{kind}: pays {was - limit.over_advanced[kind]} {cur}, less than the "
            f"{was} {cur} already advanced for it",
        )
    return determined, limit


def preview_advance(session: Session, claim_id: str, determined: dict[str, Decimal] | None,
                    currency: str | None = None) -> tuple[dict[str, Decimal], AdvanceLimit]:
    """What `pay_advance` would allow now for `determined` (else the stored one); writes nothing."""
    claim = get_claim(session, claim_id)
    head = get_policy(session, claim.policy_id)
    b = balances(claim_entries(session, claim.id), claim.currency)
    return _advance_limit(session, claim, head, determined, currency, b)


def pay_advance(session: Session, policy: Policy, actor: Actor, claim_id: str,
                req: AdvanceRequest) -> dict[str, Any]:
    """Advance the part of the loss already determined (先予支付) while the claim is assessed.

    The determined loss (cumulative, by kind) pays what a decision on it alone would pay after
    deductible, co-pay, sub-limits and the aggregate left for the claim; less the advances already
    made, that is the most that can be advanced. Above the authority limit the advance waits for
    a second approver, as payments do.
    """
    claim, head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "pay_advance")
    if claim.product == Product.PLEDGE_LOAN.value:
        raise InvalidInputError(
            "claim_id", "insurance_only",
            "advances are paid on enforcement and liability claims; a pledge-loan loss is fixed "
            "by the sale of the pledged patents",
        )
    cur = claim.currency
    assessment = dict(claim.assessment or {})
    advances = dict(assessment.get("advances") or {})
    b = balances(claim_entries(session, claim.id), cur)
    determined, limit = _advance_limit(session, claim, head, req.determined, req.currency, b)
    if req.loss_kind not in determined:
        raise InvalidInputError(
            "loss_kind", "determined_kind",
            f"loss_kind must be one of the determined kinds {sorted(determined)}")
    left = limit.advanceable.get(req.loss_kind, ZERO)
    amount = (_amount("amount", req.amount, cur, req.currency, positive=True)
              if req.amount is not None else left)
    if amount <= 0 or amount > left:
        raise InvalidInputError(
            "amount", "within_advanceable",
            f"amount {amount} {cur} must be positive and at most the {left} {cur} that can be "
            f"advanced for {req.loss_kind} (determined {determined[req.loss_kind]} {cur}, "
            f"payable {limit.determined.by_kind.get(req.loss_kind, ZERO)} {cur}, advanced "
            f"{b.advanced_by_kind.get(req.loss_kind, ZERO)} {cur})",
        )
    authority = Decimal(str(policy.claims.authority_limit))
    needs = amount > authority
    entry = append_entry(session, claim, EntryKind.ADVANCE, amount, on=actor.today,
                         now=actor.now, by=actor.caller.key_id, role=actor.caller.role.value,
                         reason=req.reason, loss_kind=req.loss_kind, needs_approval=needs)
    advances["determined"] = {k: str(v) for k, v in determined.items()}
    advances["history"] = [*advances.get("history", []), {
        "entry_id": entry.id, "loss_kind": req.loss_kind, "amount": str(amount),
        "determined": {k: str(v) for k, v in determined.items()},
        "determined_payable": {k: str(v) for k, v in limit.determined.by_kind.items()},
        "advanceable_before": {k: str(v) for k, v in limit.advanceable.items()},
        "on": actor.today.isoformat(), "by": actor.caller.key_id, "reason": req.reason,
    }]
    assessment["advances"] = advances
    claim.assessment = assessment
    if needs:
        state = ClaimState(claim.state)
        _event(session, claim, actor, "pay_advance", state, state, req.reason,
               {"entry_id": entry.id, "amount": str(amount), "awaiting_approval": True,
                "authority_limit": str(authority)})
    else:
        _release(session, claim, actor, entry, amount, "pay_advance", req.reason)
    return claim_body(session, claim, policy, actor.today)


def record_recovery(session: Session, policy: Policy, actor: Actor, claim_id: str,
                    req: RecoveryRequest) -> dict[str, Any]:
    """Money recovered on the claim (subrogation, salvage, the winner's repayment)."""
    claim, _head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "record_recovery")
    amount = _amount("amount", req.amount, claim.currency, req.currency, positive=True)
    append_entry(session, claim, EntryKind.RECOVERY, amount, on=actor.today, now=actor.now,
                 by=actor.caller.key_id, role=actor.caller.role.value,
                 reason=f"{req.source}: {req.reason}")
    _event(session, claim, actor, "record_recovery", ClaimState(claim.state),
           ClaimState(claim.state), req.reason, {"amount": str(amount), "source": req.source})
    return claim_body(session, claim, policy, actor.today)


def close_claim(session: Session, policy: Policy, actor: Actor, claim_id: str,
                reason: str) -> dict[str, Any]:
    """Close a paid or denied claim; any reserve left is released first."""
    claim, _head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "close")
    b = balances(claim_entries(session, claim.id), claim.currency)
    if b.pending:
        raise ConflictError("claim_id", "payment_awaiting_approval",
                            "a claim cannot close while a payment awaits approval")
    if b.reserve:
        append_entry(session, claim, EntryKind.RESERVE, -b.reserve, on=actor.today,
                     now=actor.now, by=actor.caller.key_id, role=actor.caller.role.value,
                     reason=f"reserve released at closing: {reason}")
    claim.closed_on = actor.today
    _move(session, claim, actor, "close", S.CLOSED, reason)
    return claim_body(session, claim, policy, actor.today)


def reopen_claim(session: Session, policy: Policy, actor: Actor, claim_id: str,
                 reason: str) -> dict[str, Any]:
    """Reopen a closed claim with a reason; it goes back to assessment next."""
    claim, _head = _locked(session, claim_id)
    check_claim_action(ClaimState(claim.state), "reopen")
    claim.closed_on = None
    claim.decision = None
    claim.decided_on = None
    claim.fully_paid_on = None
    claim.documents_complete_on = actor.today
    _move(session, claim, actor, "reopen", S.REOPENED, reason)
    return claim_body(session, claim, policy, actor.today)


def _deadlines(claim: ClaimRecord, policy: Policy, today: dt.date) -> DeadlinesOut:
    """The claim's Art. 23 deadlines on `today`."""
    agreed = Decimal((claim.payable or {}).get("total", "0"))
    d = claim_deadlines(policy.claims, claim.documents_complete_on, claim.decided_on,
                        agreed > 0, claim.fully_paid_on, today)
    return DeadlinesOut(decision_due=d.decision_due, decision_overdue=d.decision_overdue,
                        payment_due=d.payment_due, payment_overdue=d.payment_overdue,
                        overdue=d.overdue)


def claim_body(session: Session, claim: ClaimRecord, policy: Policy, today: dt.date
               ) -> dict[str, Any]:
    """The response body of a claim, read from its stored rows."""
    session.flush()
    head = session.get(PolicyRecord, claim.policy_id)
    assert head is not None
    entries = claim_entries(session, claim.id)
    b = balances(entries, claim.currency)
    events = session.scalars(sa.select(ClaimEvent).where(ClaimEvent.claim_id == claim.id)
                             .order_by(ClaimEvent.seq)).all()
    cur = claim.currency
    agreed = rounded(Decimal(claim.payable["total"]), cur) if claim.payable else None
    state = ClaimState(claim.state)
    out = ClaimOut(
        id=claim.id, number=claim.number, policy_id=claim.policy_id, policy_number=head.number,
        product=claim.product, state=state.value, decision=claim.decision,
        allowed_actions=claim_actions(state), currency=claim.currency,
        notified_on=claim.notified_on, registered_on=claim.registered_on,
        documents_complete_on=claim.documents_complete_on, decided_on=claim.decided_on,
        fully_paid_on=claim.fully_paid_on, closed_on=claim.closed_on, incident=claim.incident,
        claimed=claim.claimed, assessment=claim.assessment, payable=claim.payable,
        denial_reasons=claim.denial_reasons,
        balances=BalancesOut(
            reserve=rounded(b.reserve, cur), paid=rounded(b.paid, cur),
            pending_approval=rounded(b.pending, cur), recovered=rounded(b.recovered, cur),
            advanced=rounded(b.advanced, cur),
            incurred=rounded(b.incurred, cur), payable=agreed,
            left_to_pay=None if agreed is None else rounded(agreed - b.paid - b.pending, cur),
        ),
        deadlines=_deadlines(claim, policy, today),
        pending_payments=b.pending_ids,
        timeline=[EventOut.model_validate(e, from_attributes=True) for e in events],
        ledger=[EntryOut(
            id=e.id, seq=e.seq, kind=e.kind, loss_kind=e.loss_kind,
            amount=from_minor(e.amount_minor, e.currency), currency=e.currency,
            needs_approval=e.needs_approval, ref_entry_id=e.ref_entry_id, on_date=e.on_date,
            created_at=e.created_at, created_by=e.created_by, created_role=e.created_role,
            reason=e.reason,
        ) for e in entries],
    )
    return out.model_dump(mode="json")


def list_claims(session: Session, policy: Policy, today: dt.date, *, state: str | None,
                policy_id: str | None, product: str | None, overdue: bool | None,
                limit: int, offset: int) -> dict[str, Any]:
    """One page of claims, newest first, by state, policy, product and the overdue flag."""
    query = sa.select(ClaimRecord, PolicyRecord.number).join(
        PolicyRecord, PolicyRecord.id == ClaimRecord.policy_id)
    if state:
        query = query.where(ClaimRecord.state == state)
    if policy_id:
        query = query.where(sa.or_(PolicyRecord.id == policy_id, PolicyRecord.number == policy_id))
    if product:
        query = query.where(ClaimRecord.product == product)
    rows = session.execute(query.order_by(ClaimRecord.created_at.desc(), ClaimRecord.id)).all()
    by_claim: dict[str, list[LedgerEntry]] = {}
    for entry in session.scalars(sa.select(LedgerEntry).where(
            LedgerEntry.claim_id.in_(query.with_only_columns(ClaimRecord.id).subquery().select()))):
        by_claim.setdefault(entry.claim_id, []).append(entry)
    items = []
    for claim, number in rows:
        b = balances(by_claim.get(claim.id, []), claim.currency)
        d = _deadlines(claim, policy, today)
        if overdue is not None and d.overdue != overdue:
            continue
        items.append(ClaimSummaryOut(
            id=claim.id, number=claim.number, policy_number=number, product=claim.product,
            state=claim.state, notified_on=claim.notified_on, reserve=b.reserve, paid=b.paid,
            overdue=d.overdue, decision_due=d.decision_due, payment_due=d.payment_due,
        ))
    page = items[offset: offset + limit]
    return ClaimPage(items=page, total=len(items)).model_dump(mode="json")
