"""The case register keeps when its people were last allocated apart from when it last opened
or closed, so that case events in any order reach the same state (services/audit/register.py).

Revision ID: 0006_register_by_event_time
Revises: 0005_reaudit_assignments
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_register_by_event_time"
down_revision = "0005_reaudit_assignments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_register") as table:
        table.add_column(sa.Column("allocated_as_of", sa.DateTime(timezone=True), nullable=True))
    # Until now one time stood for both: the people were those of the latest event.
    op.execute("UPDATE case_register SET allocated_as_of = as_of WHERE team_id <> ''")


def downgrade() -> None:
    with op.batch_alter_table("case_register") as table:
        table.drop_column("allocated_as_of")
