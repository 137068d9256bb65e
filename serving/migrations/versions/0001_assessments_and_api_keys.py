"""Create the assessments and api_keys tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Spelled out here rather than imported from serving.tables: a migration must not change when the
# current table definitions do. Plain JSON (not JSONB) so that numbers read back exactly.
JSONDocument = sa.JSON()

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_key_id", sa.String(64), nullable=False),
        sa.Column("caller_role", sa.String(16), nullable=False),
        sa.Column("request", JSONDocument, nullable=False),
        sa.Column("features", JSONDocument, nullable=False),
        sa.Column("outputs", JSONDocument, nullable=False),
        sa.Column("explanation", JSONDocument, nullable=False),
        sa.Column("model_versions", JSONDocument, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=True),
        sa.Column("policy_hash", sa.String(128), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
    )
    op.create_index("ix_assessments_kind", "assessments", ["kind"])
    op.create_index("ix_assessments_created_at", "assessments", ["created_at"])
    op.create_index("ix_assessments_caller_key_id", "assessments", ["caller_key_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("ix_assessments_caller_key_id", "assessments")
    op.drop_index("ix_assessments_created_at", "assessments")
    op.drop_index("ix_assessments_kind", "assessments")
    op.drop_table("assessments")
