"""Notifications tables: notifications, preferences, audit people, parked events.

Revision ID: 0002_notifications_tables
Revises: 0001_messaging
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_notifications_tables"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("source_event_id", sa.String(length=160), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body_text", sa.String(), nullable=False),
        sa.Column("body_html", sa.String(), nullable=False),
        sa.Column("link", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("event_time", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.Column("read_at", TIMESTAMP, nullable=True),
        sa.Column("digest_id", sa.String(length=64), nullable=True),
        sa.UniqueConstraint("source_event_id", "recipient_id", "channel"),
    )
    for column in ("recipient_id", "status", "next_attempt_at"):
        op.create_index(f"ix_notifications_{column}", "notifications", [column])
    op.create_table(
        "preferences",
        sa.Column("staff_id", sa.String(length=64), primary_key=True),
        sa.Column("information", sa.String(length=16), nullable=False),
    )
    op.create_table(
        "audit_people",
        sa.Column("audit_id", sa.String(length=64), primary_key=True),
        sa.Column("service_area", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("practitioner_id", sa.String(length=64), nullable=False),
        sa.Column("team_manager_id", sa.String(length=64), nullable=False),
        sa.Column("auditor_id", sa.String(length=64), nullable=False),
    )
    op.create_table(
        "parked_events",
        sa.Column("event_id", sa.String(length=160), primary_key=True),
        sa.Column("audit_id", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
    )
    op.create_index("ix_parked_events_audit_id", "parked_events", ["audit_id"])


def downgrade() -> None:
    for table in ("parked_events", "audit_people", "preferences", "notifications"):
        op.drop_table(table)
