"""Outstanding practice: the moderator may flag a moderated audit's practice as outstanding,
an example for the monthly board pack. Moderations recorded before this revision are not
flagged (false).

Revision ID: 0005_moderation_outstanding
Revises: 0004_moderation_practitioner
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_moderation_outstanding"
down_revision = "0004_moderation_practitioner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("moderations") as table:
        table.add_column(
            sa.Column(
                "outstanding_practice", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("moderations") as table:
        table.drop_column("outstanding_practice")
