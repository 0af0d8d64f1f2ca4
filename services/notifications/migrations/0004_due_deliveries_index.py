"""An index for the delivery worker: pending notifications in the order they fall due.

Its claim and its look-up of when the next retry is due read one end of this index instead of
every pending row.

Revision ID: 0004_notifications_due_index
Revises: 0003_notifications_access_trail
"""

from alembic import op

revision = "0004_notifications_due_index"
down_revision = "0003_notifications_access_trail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_due", table_name="notifications")
