"""The board's monthly counts (issue 19): how many audits of each UK month and team had each
grade, overall and by domain, and each theme, so that /stats/monthly reads counts instead of
every audit's JSON. Kept in the transaction that records or purges an audit
(services/audit/month_counts.py); filled here from the audits already recorded, in SQL.

Revision ID: 0009_monthly_counts
Revises: 0008_statistics_indexes
"""

import sqlalchemy as sa
from alembic import op

from services.audit.month_counts import recount

revision = "0009_monthly_counts"
down_revision = "0008_statistics_indexes"
branch_labels = None
depends_on = None

# Month first: every read asks for a span of months.
_WHERE = ("month", 7), ("service_area", 64), ("area", 64), ("team_id", 64)
_TABLES = {
    "audit_month_grades": (*_WHERE, ("counted", 32), ("grade", 32)),
    "audit_month_themes": (*_WHERE, ("theme", 64)),
}


def upgrade() -> None:
    for name, key in _TABLES.items():
        op.create_table(
            name,
            *(sa.Column(column, sa.String(length=n), primary_key=True) for column, n in key),
            sa.Column("audits", sa.Integer(), nullable=False),
        )
    # The counting is the service's own (recount): the same aggregate the tests hold the
    # kept counts to. It reads only the audits' columns, which this revision leaves as they are.
    recount(op.get_bind())


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
