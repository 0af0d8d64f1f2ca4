"""The access trail (shared.access_trail): who read or changed which case's records.

Revision ID: 0003_notifications_access_trail
Revises: 0002_notifications_tables
"""

from shared.migrations.steps import access_trail

revision = "0003_notifications_access_trail"
down_revision = "0002_notifications_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    access_trail.upgrade()


def downgrade() -> None:
    access_trail.downgrade()
