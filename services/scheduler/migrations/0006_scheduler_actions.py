"""Agreed actions (issue 16): the actions, their applied change requests, and their timers on
the follow-ups' timer table (`timers.action_id`, "" for a follow-up's own timers).

Revision ID: 0006_scheduler_actions
Revises: 0005_scheduler_refused_reaudits
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_scheduler_actions"
down_revision = "0005_scheduler_refused_reaudits"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
TIMER_KEY = ["followup_id", "step", "kind", "sequence"]
# 0002 left the key unnamed: PostgreSQL named it so, and SQLite's copy is named alike for
# batch mode to drop it.
NAMING = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}
OLD_KEY = "timers_followup_id_step_kind_sequence_key"
NEW_KEY = "timers_followup_id_step_kind_sequence_action_id_key"


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("origin_id", sa.String(length=64), nullable=False),
        sa.Column("audit_id", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("service_area", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(length=500), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("agreed_by", sa.String(length=64), nullable=False),
        sa.Column("agreed_at", TIMESTAMP, nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("reaudit_id", sa.String(length=64), nullable=True),
    )
    for column in ("origin_id", "case_id", "service_area", "owner_id", "status"):
        op.create_index(f"ix_actions_{column}", "actions", [column])
    op.create_table(
        "action_requests",
        sa.Column("request_id", sa.String(length=128), primary_key=True),
        sa.Column("action_id", sa.String(length=64), nullable=False),
        sa.Column("origin_id", sa.String(length=64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
    )
    for column in ("action_id", "origin_id"):
        op.create_index(f"ix_action_requests_{column}", "action_requests", [column])
    with op.batch_alter_table("timers", naming_convention=NAMING) as table:
        table.add_column(
            sa.Column("action_id", sa.String(length=64), nullable=False, server_default="")
        )
        table.drop_constraint(OLD_KEY, type_="unique")
        table.create_unique_constraint(NEW_KEY, [*TIMER_KEY, "action_id"])
        table.create_index("ix_timers_action_id", ["action_id"])


def downgrade() -> None:
    with op.batch_alter_table("timers", naming_convention=NAMING) as table:
        table.drop_index("ix_timers_action_id")
        table.drop_constraint(NEW_KEY, type_="unique")
        table.create_unique_constraint(OLD_KEY, TIMER_KEY)
        table.drop_column("action_id")
    op.drop_table("action_requests")
    op.drop_table("actions")
