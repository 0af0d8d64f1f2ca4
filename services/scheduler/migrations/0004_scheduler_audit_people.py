"""Who may see a follow-up: the people of its audit and its assigned moderators.

Audit facts learnt before this revision do not know the case's practitioner and team manager
(NULL): area leads, the auditor and the moderator still see those follow-ups.

Revision ID: 0004_scheduler_audit_people
Revises: 0003_scheduler_access_trail
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_scheduler_audit_people"
down_revision = "0003_scheduler_access_trail"
branch_labels = None
depends_on = None

PEOPLE = ("practitioner_id", "team_manager_id")


def upgrade() -> None:
    with op.batch_alter_table("audit_facts") as table:
        for column in PEOPLE:
            table.add_column(sa.Column(column, sa.String(length=64), nullable=True))
    op.create_table(
        "moderator_facts",
        sa.Column("audit_id", sa.String(length=64), primary_key=True),
        sa.Column("moderator_id", sa.String(length=64), primary_key=True),
        sa.Column("moderation_id", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_moderator_facts_moderator_id", "moderator_facts", ["moderator_id"])


def downgrade() -> None:
    op.drop_table("moderator_facts")
    with op.batch_alter_table("audit_facts") as table:
        for column in PEOPLE:
            table.drop_column(column)
