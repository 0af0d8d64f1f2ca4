"""Moderation service tables: moderations and sampling rates.

Revision ID: 0002_moderation_tables
Revises: 0001_messaging
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_moderation_tables"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moderations",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("audit_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("service_area", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("auditor_id", sa.String(length=64), nullable=False),
        sa.Column("team_manager_id", sa.String(length=64), nullable=False),
        sa.Column("moderator_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("auditor_grade", sa.String(length=32), nullable=False),
        sa.Column("audit_graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moderated_grade", sa.String(length=32), nullable=True),
        sa.Column("grade_difference", sa.Integer(), nullable=True),
        sa.Column("rationale", sa.String(), nullable=True),
        sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
    )
    for column in ("service_area", "moderator_id", "status", "moderated_at"):
        op.create_index(f"ix_moderations_{column}", "moderations", [column])
    op.create_table(
        "sampling_rates",
        sa.Column("service_area", sa.String(length=64), primary_key=True),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sampling_rates")
    op.drop_table("moderations")
