"""Re-audits that did not complete their follow-up, kept with the reason (issue 14).

Revision ID: 0005_scheduler_refused_reaudits
Revises: 0004_scheduler_audit_people
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_scheduler_refused_reaudits"
down_revision = "0004_scheduler_audit_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refused_reaudits",
        sa.Column("audit_id", sa.String(length=64), primary_key=True),
        sa.Column("followup_id", sa.String(length=64), nullable=False),
        sa.Column("auditor_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_refused_reaudits_followup_id", "refused_reaudits", ["followup_id"])


def downgrade() -> None:
    op.drop_table("refused_reaudits")
