"""Served-row summaries for model monitoring: rows per day, model version, variable and bin.

Revision ID: 0004_model_monitoring
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_model_monitoring"
down_revision = "0002_policies_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_monitoring_bins",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("task", sa.String(32), primary_key=True),
        sa.Column("model_version", sa.String(32), primary_key=True),
        sa.Column("variable", sa.String(64), primary_key=True),
        sa.Column("bin", sa.Integer(), primary_key=True),
        sa.Column("rows", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_monitoring_bins")
