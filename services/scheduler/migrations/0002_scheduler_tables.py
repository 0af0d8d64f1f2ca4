"""Scheduler tables: follow-ups, their timelines, durable timers, audit and moderation facts.

Revision ID: 0002_scheduler_tables
Revises: 0001_messaging
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_scheduler_tables"
down_revision = "0001_messaging"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("audit_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("service_area", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("found_by", sa.String(length=16), nullable=False),
        sa.Column("grading_day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("conversation_due_on", sa.Date(), nullable=False),
        sa.Column("conversation_held_on", sa.Date(), nullable=True),
        sa.Column("conversation_late", sa.Boolean(), nullable=True),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("agreed_actions", sa.JSON(), nullable=False),
        sa.Column("reaudit_due_on", sa.Date(), nullable=True),
        sa.Column("reaudit_id", sa.String(length=64), nullable=True),
        sa.Column("reaudit_graded_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("cancelled_reason", sa.String(), nullable=True),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
    )
    for column in ("service_area", "status", "owner_id"):
        op.create_index(f"ix_followups_{column}", "followups", [column])
    op.create_table(
        "followup_timeline",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("followup_id", sa.String(length=64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("what", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_followup_timeline_followup_id", "followup_timeline", ["followup_id"])
    op.create_table(
        "timers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("followup_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("fire_at", TIMESTAMP, nullable=False),
        sa.Column("fired_at", TIMESTAMP, nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("followup_id", "step", "kind", "sequence"),
    )
    op.create_index("ix_timers_fire_at", "timers", ["fire_at"])
    op.create_table(
        "audit_facts",
        sa.Column("audit_id", sa.String(length=64), primary_key=True),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("auditor_id", sa.String(length=64), nullable=False),
        sa.Column("overall_grade", sa.String(length=32), nullable=False),
        sa.Column("reaudit_of", sa.String(length=64), nullable=True),
        sa.Column("graded_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_audit_facts_reaudit_of", "audit_facts", ["reaudit_of"])
    op.create_table(
        "moderation_facts",
        sa.Column("audit_id", sa.String(length=64), primary_key=True),
        sa.Column("moderation_id", sa.String(length=64), nullable=False),
        sa.Column("moderated_grade", sa.String(length=32), nullable=False),
        sa.Column("moderated_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    for table in ("moderation_facts", "audit_facts", "timers", "followup_timeline", "followups"):
        op.drop_table(table)
