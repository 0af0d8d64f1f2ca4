"""Indexes for what the scheduler reads on a timer or a dashboard, so their cost follows what
is asked for, not the history kept (issue 19).

- `ix_timers_still_due`: the timers not yet fired nor cancelled, soonest first. The due-timer
  scan and its "when is the next one due" look-up read one end of it; fired and cancelled
  timers, kept as history, are not in it. Its condition is `services/scheduler/models.py`
  `still_due` as each database renders it: a partial index is used only by a query that states
  its condition, and those queries state that one.
- `ix_followups_grading_day`: `/stats/timeliness` reads the follow-ups graded in its months.
- `ix_actions_agreed_at`: `/stats/actions` reads the actions agreed in its months.

Revision ID: 0008_scheduler_read_indexes
Revises: 0007_scheduler_allocations
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_scheduler_read_indexes"
down_revision = "0007_scheduler_allocations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_timers_still_due",
        "timers",
        ["fire_at", "id"],
        postgresql_where=sa.text("fired_at IS NULL AND NOT cancelled"),
        sqlite_where=sa.text("fired_at IS NULL AND cancelled = 0"),
    )
    op.create_index("ix_followups_grading_day", "followups", ["grading_day"])
    op.create_index("ix_actions_agreed_at", "actions", ["agreed_at"])


def downgrade() -> None:
    op.drop_index("ix_actions_agreed_at", table_name="actions")
    op.drop_index("ix_followups_grading_day", table_name="followups")
    op.drop_index("ix_timers_still_due", table_name="timers")
