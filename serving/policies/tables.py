"""Tables of bound policies: the current head, immutable versions, subsidy accounts, retries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from serving.tables import Base, JSONDocument, UTCDateTime


class PolicyRecord(Base):
    """One policy: its number, product, period and which version is current (the head)."""

    __tablename__ = "policies"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    product: Mapped[str] = mapped_column(sa.String(32), index=True)
    quote_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    applicant_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    grade: Mapped[str] = mapped_column(sa.String(8))
    policy_version: Mapped[str] = mapped_column(sa.String(64))
    start_date: Mapped[dt.date] = mapped_column(sa.Date(), index=True)
    end_date: Mapped[dt.date] = mapped_column(sa.Date())
    cancelled_from: Mapped[dt.date | None] = mapped_column(sa.Date(), nullable=True)
    current_version: Mapped[int] = mapped_column(sa.Integer())
    # Bumped by every change of the policy or money movement on it: the row lock that serialises
    # binds, endorsements and payments against the aggregate limit (see serving.policies.locks).
    lock_seq: Mapped[int] = mapped_column(sa.Integer(), default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PolicyVersion(Base):
    """An immutable version of a policy: the whole record after one change, who, when and why."""

    __tablename__ = "policy_versions"
    __table_args__ = (sa.UniqueConstraint("policy_id", "version"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    policy_id: Mapped[str] = mapped_column(sa.ForeignKey("policies.id"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer())
    change: Mapped[str] = mapped_column(sa.String(16))
    effective_date: Mapped[dt.date] = mapped_column(sa.Date())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_role: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(1000))
    gross_premium_minor: Mapped[int] = mapped_column(sa.BigInteger())
    subsidy_minor: Mapped[int] = mapped_column(sa.BigInteger())
    # Premium due (positive) or refunded (negative) by this change, subsidy included.
    premium_change_minor: Mapped[int] = mapped_column(sa.BigInteger())
    subsidy_change_minor: Mapped[int] = mapped_column(sa.BigInteger())
    expected_loss_minor: Mapped[int] = mapped_column(sa.BigInteger())
    aggregate_limit_minor: Mapped[int] = mapped_column(sa.BigInteger())
    document: Mapped[Any] = mapped_column(JSONDocument)


class SubsidyAccount(Base):
    """Premium subsidy granted to one applicant in one calendar year (the row binds lock)."""

    __tablename__ = "subsidy_accounts"

    applicant_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    granted_minor: Mapped[int] = mapped_column(sa.BigInteger(), default=0)
    lock_seq: Mapped[int] = mapped_column(sa.Integer(), default=0)


class SubsidyGrant(Base):
    """One movement on a subsidy account: a grant at binding or a return at cancellation."""

    __tablename__ = "subsidy_grants"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    applicant_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    year: Mapped[int] = mapped_column(sa.Integer())
    policy_id: Mapped[str] = mapped_column(sa.ForeignKey("policies.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class IdempotencyRecord(Base):
    """The first answer to a request sent with an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotency_records"

    caller_key_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(200))
    request_sha256: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column(sa.Integer())
    response: Mapped[Any] = mapped_column(JSONDocument)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
