"""The case's practitioner on each moderation: they may see the moderation of their audit.

Moderations requested before this revision do not know it (NULL): area leads, the auditor,
the team manager and the moderator still see those.

Revision ID: 0004_moderation_practitioner
Revises: 0003_moderation_access_trail
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_moderation_practitioner"
down_revision = "0003_moderation_access_trail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("moderations") as table:
        table.add_column(sa.Column("practitioner_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("moderations") as table:
        table.drop_column("practitioner_id")
