"""Indexes for the reads that must not grow with history (issue 19): consistency and the kappa
gauges count grade pairs from one index (no table rows read), the sampling window reads an
area's latest moderations, the queue and the moderator choice read open moderations in order.

Revision ID: 0006_moderation_read_indexes
Revises: 0005_moderation_outstanding
"""

from alembic import op

revision = "0006_moderation_read_indexes"
down_revision = "0005_moderation_outstanding"
branch_labels = None
depends_on = None

INDEXES = {
    # /stats/consistency (a range of months) and the gauges (every completed one): covering.
    "ix_moderations_grade_pairs": [
        "status",
        "moderated_at",
        "service_area",
        "auditor_grade",
        "moderated_grade",
    ],
    # The adaptive sampling window: an area's last N completed moderations, newest first
    # (their grade difference too, so that no table row is read).
    "ix_moderations_area_latest": [
        "service_area",
        "status",
        "moderated_at",
        "id",
        "grade_difference",
    ],
    # Open items per moderator (each AuditGraded) and a moderator's own queue, oldest first.
    "ix_moderations_moderator_queue": ["status", "moderator_id", "requested_at", "id"],
    # The queue of everyone else's open, then the completed, oldest request first.
    "ix_moderations_queue": ["status", "requested_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "moderations", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="moderations")
