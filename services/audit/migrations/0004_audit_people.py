"""Who may see an audit: its assigned moderators, and indexes on the people it names.

Revision ID: 0004_audit_people
Revises: 0003_audit_access_trail
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_audit_people"
down_revision = "0003_audit_access_trail"
branch_labels = None
depends_on = None

PEOPLE = ("auditor_id", "practitioner_id", "team_manager_id")


def upgrade() -> None:
    op.create_table(
        "audit_moderators",
        sa.Column("audit_id", sa.String(length=64), primary_key=True),
        sa.Column("moderator_id", sa.String(length=64), primary_key=True),
        sa.Column("moderation_id", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_audit_moderators_moderator_id", "audit_moderators", ["moderator_id"])
    for column in PEOPLE:
        op.create_index(f"ix_audits_{column}", "audits", [column])


def downgrade() -> None:
    for column in PEOPLE:
        op.drop_index(f"ix_audits_{column}", "audits")
    op.drop_table("audit_moderators")
