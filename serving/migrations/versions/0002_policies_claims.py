"""Policies and claims: policies, versions, subsidy accounts, idempotency, claims, ledger.

Revision ID: 0002_policies_claims
Revises: 0003_console_users
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Spelled out rather than imported from the table modules: a migration must not change when the
# current definitions do. Money is stored as integers of the currency's minor unit.
JSONDocument = sa.JSON()
TS = sa.DateTime(timezone=True)

revision = "0002_policies_claims"
down_revision = "0003_console_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("product", sa.String(32), nullable=False, index=True),
        sa.Column("quote_id", sa.String(36), nullable=False, unique=True),
        sa.Column("applicant_id", sa.String(128), nullable=False, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False, index=True),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("cancelled_from", sa.Date(), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("lock_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("policy_id", sa.String(36), sa.ForeignKey("policies.id"), nullable=False,
                  index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_role", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("gross_premium_minor", sa.BigInteger(), nullable=False),
        sa.Column("subsidy_minor", sa.BigInteger(), nullable=False),
        sa.Column("premium_change_minor", sa.BigInteger(), nullable=False),
        sa.Column("subsidy_change_minor", sa.BigInteger(), nullable=False),
        sa.Column("expected_loss_minor", sa.BigInteger(), nullable=False),
        sa.Column("aggregate_limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("document", JSONDocument, nullable=False),
        sa.UniqueConstraint("policy_id", "version"),
    )
    op.create_table(
        "subsidy_accounts",
        sa.Column("applicant_id", sa.String(128), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("granted_minor", sa.BigInteger(), nullable=False),
        sa.Column("lock_seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "subsidy_grants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("applicant_id", sa.String(128), nullable=False, index=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.String(36), sa.ForeignKey("policies.id"), nullable=False,
                  index=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("caller_key_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSONDocument, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "claims",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("policy_id", sa.String(36), sa.ForeignKey("policies.id"), nullable=False,
                  index=True),
        sa.Column("product", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(24), nullable=False, index=True),
        sa.Column("decision", sa.String(24), nullable=True),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("documents_complete_on", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("fully_paid_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("incident", JSONDocument, nullable=False),
        sa.Column("claimed", JSONDocument, nullable=False),
        sa.Column("assessment", JSONDocument, nullable=True),
        sa.Column("payable", JSONDocument, nullable=True),
        sa.Column("denial_reasons", JSONDocument, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "claim_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("claim_id", sa.String(36), sa.ForeignKey("claims.id"), nullable=False,
                  index=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(24), nullable=True),
        sa.Column("to_state", sa.String(24), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_role", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("details", JSONDocument, nullable=False),
        sa.UniqueConstraint("claim_id", "seq"),
    )
    op.create_table(
        "claim_ledger",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("claim_id", sa.String(36), sa.ForeignKey("claims.id"), nullable=False,
                  index=True),
        sa.Column("policy_id", sa.String(36), sa.ForeignKey("policies.id"), nullable=False,
                  index=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("loss_kind", sa.String(48), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("ref_entry_id", sa.String(36), nullable=True, index=True),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_role", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.UniqueConstraint("claim_id", "seq"),
    )


def downgrade() -> None:
    for table in ("claim_ledger", "claim_events", "claims", "idempotency_records",
                  "subsidy_grants", "subsidy_accounts", "policy_versions", "policies"):
        op.drop_table(table)
