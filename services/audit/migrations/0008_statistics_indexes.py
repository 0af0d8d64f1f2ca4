"""Indexes for the statistics counted by the database (issue 19): one the grade counts read
alone (an index-only scan of the months asked for, never the audits' JSON), and one for a
month's learning audits (/stats/target, /stats/learning and the month-to-date gauge).

Revision ID: 0008_statistics_indexes
Revises: 0007_audit_programme
"""

from alembic import op

revision = "0008_statistics_indexes"
down_revision = "0007_audit_programme"
branch_labels = None
depends_on = None

_INDEXES = {
    # graded_at first: every statistic asks for a span of months; then what the grade counts
    # group by, so they are answered from the index alone.
    "ix_audits_graded_at_grade_groups": [
        "graded_at",
        "overall_grade",
        "service_area",
        "area",
        "team_id",
    ],
    # A kind's audits of a month, in the order /stats/learning lists them.
    "ix_audits_audit_kind_graded_at": ["audit_kind", "graded_at", "id"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(name, "audits", columns)


def downgrade() -> None:
    for name in reversed(_INDEXES):
        op.drop_index(name, table_name="audits")
