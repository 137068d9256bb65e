"""Tables of claims: the claim head, its timeline of events, and the append-only money ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from serving.tables import Base, JSONDocument, UTCDateTime


class ClaimRecord(Base):
    """One claim: its state and dates (the head); the timeline and ledger say how it got there."""

    __tablename__ = "claims"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    policy_id: Mapped[str] = mapped_column(sa.ForeignKey("policies.id"), index=True)
    product: Mapped[str] = mapped_column(sa.String(32))
    currency: Mapped[str] = mapped_column(sa.String(3))
    state: Mapped[str] = mapped_column(sa.String(24), index=True)
    decision: Mapped[str | None] = mapped_column(sa.String(24), nullable=True)
    notified_on: Mapped[dt.date] = mapped_column(sa.Date())
    registered_on: Mapped[dt.date | None] = mapped_column(sa.Date(), nullable=True)
    documents_complete_on: Mapped[dt.date | None] = mapped_column(sa.Date(), nullable=True)
    decided_on: Mapped[dt.date | None] = mapped_column(sa.Date(), nullable=True)
    fully_paid_on: Mapped[dt.date | None] = mapped_column(sa.Date(), nullable=True)
    closed_on: Mapped[dt.date | None] = mapped_column(sa.Date(), nullable=True)
    incident: Mapped[Any] = mapped_column(JSONDocument)
    claimed: Mapped[Any] = mapped_column(JSONDocument)
    assessment: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    payable: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    denial_reasons: Mapped[Any] = mapped_column(JSONDocument, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(64))


class ClaimEvent(Base):
    """One step in a claim's timeline: the action, the states before and after, who and why."""

    __tablename__ = "claim_events"
    __table_args__ = (sa.UniqueConstraint("claim_id", "seq"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer())
    action: Mapped[str] = mapped_column(sa.String(32))
    from_state: Mapped[str | None] = mapped_column(sa.String(24), nullable=True)
    to_state: Mapped[str] = mapped_column(sa.String(24))
    on_date: Mapped[dt.date] = mapped_column(sa.Date())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_role: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    details: Mapped[Any] = mapped_column(JSONDocument)


class LedgerEntry(Base):
    """An append-only money entry of a claim: reserve change, payment, approval, reversal, recovery.

    Entries are never updated or deleted; every balance (reserve, paid, pending, recovered) is a
    sum over them.
    """

    __tablename__ = "claim_ledger"
    __table_args__ = (sa.UniqueConstraint("claim_id", "seq"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    policy_id: Mapped[str] = mapped_column(sa.ForeignKey("policies.id"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer())
    kind: Mapped[str] = mapped_column(sa.String(24))
    loss_kind: Mapped[str | None] = mapped_column(sa.String(48), nullable=True)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger())
    currency: Mapped[str] = mapped_column(sa.String(3))
    needs_approval: Mapped[bool] = mapped_column(sa.Boolean(), default=False)
    ref_entry_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True, index=True)
    on_date: Mapped[dt.date] = mapped_column(sa.Date())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_role: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(1000))
