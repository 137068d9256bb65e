"""Balances of claims and policies, derived from the append-only ledger (never stored)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.policy.money import ZERO, from_minor, to_minor
from serving.claims.tables import ClaimRecord, LedgerEntry


class EntryKind(StrEnum):
    """Kinds of ledger entry."""

    RESERVE = "reserve"  # a change of the outstanding reserve (+ or -)
    PAYMENT = "payment"  # money paid to the insured (effective at once or after approval)
    # An advance of the part already determined, paid before the decision (Art. 25); it is a
    # payment in every balance and counts against the agreed amount.
    ADVANCE = "advance_payment"
    APPROVAL = "payment_approval"  # a second approver releases a payment or advance
    REVERSAL = "payment_reversal"  # a payment or advance taken back (returned, made in error)
    RECOVERY = "recovery"  # money recovered (subrogation, salvage, the winner's repayment)


@dataclass
class Balances:
    """Money on a claim (or a policy) as sums over its ledger entries."""

    reserve: Decimal = ZERO
    paid: Decimal = ZERO
    pending: Decimal = ZERO
    recovered: Decimal = ZERO
    paid_by_kind: dict[str, Decimal] = field(default_factory=dict)
    pending_by_kind: dict[str, Decimal] = field(default_factory=dict)
    pending_ids: list[str] = field(default_factory=list)
    effective_payment_ids: list[str] = field(default_factory=list)
    # Advances (effective or awaiting approval, not reversed); they are also in paid / pending.
    advanced: Decimal = ZERO
    advanced_by_kind: dict[str, Decimal] = field(default_factory=dict)
    pending_advance_ids: list[str] = field(default_factory=list)

    @property
    def incurred(self) -> Decimal:
        """Paid plus outstanding reserve, less recoveries."""
        return self.paid + self.reserve - self.recovered

    def used_by_kind(self) -> dict[str, Decimal]:
        """Paid plus awaiting approval, by kind of loss (what counts against sub-limits)."""
        out: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for k, v in self.paid_by_kind.items():
            out[k] += v
        for k, v in self.pending_by_kind.items():
            out[k] += v
        return dict(out)


def balances(entries: Iterable[LedgerEntry], currency: str) -> Balances:
    """Derive the balances of a set of ledger entries."""
    entries = list(entries)
    approved = {e.ref_entry_id for e in entries if e.kind == EntryKind.APPROVAL}
    reversed_ = {e.ref_entry_id for e in entries if e.kind == EntryKind.REVERSAL}
    b = Balances()
    paid_kind: dict[str, Decimal] = defaultdict(lambda: ZERO)
    pending_kind: dict[str, Decimal] = defaultdict(lambda: ZERO)
    advanced_kind: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in entries:
        amount = from_minor(e.amount_minor, currency)
        kind = e.loss_kind or ""
        if e.kind == EntryKind.RESERVE:
            b.reserve += amount
        elif e.kind == EntryKind.RECOVERY:
            b.recovered += amount
        elif e.kind in (EntryKind.PAYMENT, EntryKind.ADVANCE):
            if e.id in reversed_:
                continue
            if e.kind == EntryKind.ADVANCE:
                b.advanced += amount
                advanced_kind[kind] += amount
            if e.needs_approval and e.id not in approved:
                b.pending += amount
                pending_kind[kind] += amount
                b.pending_ids.append(e.id)
                if e.kind == EntryKind.ADVANCE:
                    b.pending_advance_ids.append(e.id)
            else:
                b.paid += amount
                paid_kind[kind] += amount
                b.effective_payment_ids.append(e.id)
    b.paid_by_kind = dict(paid_kind)
    b.pending_by_kind = dict(pending_kind)
    b.advanced_by_kind = dict(advanced_kind)
    return b


def claim_entries(session: Session, claim_id: str) -> list[LedgerEntry]:
    """A claim's ledger, in the order it was written."""
    return list(session.scalars(
        sa.select(LedgerEntry).where(LedgerEntry.claim_id == claim_id)
        .order_by(LedgerEntry.seq)
    ))


def policy_balances(session: Session, policy_id: str, currency: str) -> Balances:
    """Balances over every claim of a policy."""
    rows = session.scalars(sa.select(LedgerEntry).where(LedgerEntry.policy_id == policy_id))
    return balances(rows, currency)


def policy_used(session: Session, policy_id: str, currency: str) -> Decimal:
    """What a policy has paid or holds for approval: what counts against its aggregate limit."""
    b = policy_balances(session, policy_id, currency)
    return b.paid + b.pending


def append_entry(
    session: Session, claim: ClaimRecord, kind: EntryKind, amount: Decimal, *,
    on: dt.date, now: dt.datetime, by: str, role: str, reason: str,
    loss_kind: str | None = None, needs_approval: bool = False, ref: str | None = None,
) -> LedgerEntry:
    """Append one ledger entry for a claim (entries are never changed afterwards)."""
    seq = session.scalar(sa.select(sa.func.coalesce(sa.func.max(LedgerEntry.seq), 0))
                         .where(LedgerEntry.claim_id == claim.id))
    row = LedgerEntry(
        id=str(uuid.uuid4()), claim_id=claim.id, policy_id=claim.policy_id, seq=int(seq or 0) + 1,
        kind=kind.value,
        loss_kind=loss_kind, amount_minor=to_minor(amount, claim.currency),
        currency=claim.currency, needs_approval=needs_approval, ref_entry_id=ref,
        on_date=on, created_at=now, created_by=by, created_role=role, reason=reason,
    )
    session.add(row)
    session.flush()
    return row
