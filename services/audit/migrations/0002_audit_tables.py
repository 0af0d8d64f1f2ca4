"""Audit service tables: audits, submission keys, the case register.

Revision ID: 0002_audit_tables
Revises: 0001_messaging
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_audit_tables"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audits",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("audit_kind", sa.String(length=32), nullable=False),
        sa.Column("reaudit_of", sa.String(length=64), nullable=True),
        sa.Column("service_area", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("practitioner_id", sa.String(length=64), nullable=False),
        sa.Column("team_manager_id", sa.String(length=64), nullable=False),
        sa.Column("auditor_id", sa.String(length=64), nullable=False),
        sa.Column("overall_grade", sa.String(length=32), nullable=False),
        sa.Column("domain_grades", sa.JSON(), nullable=False),
        sa.Column("voice_of_child_evidenced", sa.Boolean(), nullable=False),
        sa.Column("voice_of_child_note", sa.String(), nullable=True),
        sa.Column("could_be_better_if", sa.JSON(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in (
        "case_id",
        "audit_kind",
        "service_area",
        "team_id",
        "area",
        "overall_grade",
        "graded_at",
    ):
        op.create_index(f"ix_audits_{column}", "audits", [column])
    op.create_table(
        "submission_keys",
        sa.Column("key", sa.String(length=128), primary_key=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("audit_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_register",
        sa.Column("case_id", sa.String(length=64), primary_key=True),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("practitioner_id", sa.String(length=64), nullable=False),
        sa.Column("team_manager_id", sa.String(length=64), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("case_register")
    op.drop_table("submission_keys")
    op.drop_table("audits")
