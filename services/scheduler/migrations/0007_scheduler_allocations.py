"""The monthly audit programme (issue 17): allocations as the scheduler keeps them, and their
timers on the timer table (`timers.allocation_id`, "" for everyone else's timers).

Revision ID: 0007_scheduler_allocations
Revises: 0006_scheduler_actions
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_scheduler_allocations"
down_revision = "0006_scheduler_actions"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
TIMER_KEY = ["followup_id", "step", "kind", "sequence", "action_id"]
OLD_KEY = "timers_followup_id_step_kind_sequence_action_id_key"
# With allocation_id the generated name would pass PostgreSQL's 63 characters.
NEW_KEY = "timers_subject_step_kind_sequence_key"


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("service_area", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("practitioner_id", sa.String(length=64), nullable=False),
        sa.Column("team_manager_id", sa.String(length=64), nullable=False),
        sa.Column("auditor_id", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("allocated_at", TIMESTAMP, nullable=True),
        sa.Column("settled_at", TIMESTAMP, nullable=True),
        sa.Column("audit_id", sa.String(length=64), nullable=True),
    )
    for column in ("case_id", "auditor_id", "status"):
        op.create_index(f"ix_allocations_{column}", "allocations", [column])
    with op.batch_alter_table("timers") as table:
        table.add_column(
            sa.Column("allocation_id", sa.String(length=64), nullable=False, server_default="")
        )
        table.drop_constraint(OLD_KEY, type_="unique")
        table.create_unique_constraint(NEW_KEY, [*TIMER_KEY, "allocation_id"])
        table.create_index("ix_timers_allocation_id", ["allocation_id"])


def downgrade() -> None:
    # The allocations' timers would all share one old key ("" follow-up, "" action): they go.
    op.execute("DELETE FROM timers WHERE allocation_id <> ''")
    with op.batch_alter_table("timers") as table:
        table.drop_index("ix_timers_allocation_id")
        table.drop_constraint(NEW_KEY, type_="unique")
        table.create_unique_constraint(OLD_KEY, TIMER_KEY)
        table.drop_column("allocation_id")
    op.drop_table("allocations")
