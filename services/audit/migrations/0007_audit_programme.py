"""The monthly audit programme: the case register learns what each case is (v2 case events),
and programmes, their allocations and the reflections added to them get tables of their own.

Revision ID: 0007_audit_programme
Revises: 0006_register_by_event_time
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_audit_programme"
down_revision = "0006_register_by_event_time"
branch_labels = None
depends_on = None

_REGISTER_COLUMNS = (
    ("service_area", sa.String(length=64)),
    ("plan_type", sa.String(length=32)),
    ("legal_status", sa.String(length=8)),
    ("opened_on", sa.Date()),
    ("closing_on", sa.Date()),
)

_ALLOCATION_INDEXES = (
    "programme_id",
    "month",
    "case_id",
    "service_area",
    "team_id",
    "practitioner_id",
    "team_manager_id",
    "auditor_id",
    "status",
)


def upgrade() -> None:
    # Cases registered from v1 events stay without these facts until the next v2 event.
    with op.batch_alter_table("case_register") as table:
        for name, kind in _REGISTER_COLUMNS:
            table.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "audit_programmes",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("minimum_per_team", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drawn_by", sa.String(length=64), nullable=True),
        sa.Column("open_cases", sa.Integer(), nullable=False),
        sa.Column("eligible_cases", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("unallocated", sa.JSON(), nullable=False),
        # One programme a month: a second replica's draw of the same month fails here.
        sa.UniqueConstraint("month", name="uq_audit_programmes_month"),
    )
    op.create_table(
        "audit_allocations",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("service_area", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("practitioner_id", sa.String(length=64), nullable=False),
        sa.Column("team_manager_id", sa.String(length=64), nullable=False),
        sa.Column("auditor_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("why_case", sa.Text(), nullable=False),
        sa.Column("why_auditor", sa.Text(), nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allocated_by", sa.String(length=64), nullable=True),
        sa.Column("reallocated_from", sa.String(length=64), nullable=True),
        sa.Column("reallocated_to", sa.String(length=64), nullable=True),
        sa.Column("audit_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("exempted_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("draft_saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("took_part", sa.JSON(), nullable=False),
    )
    for column in _ALLOCATION_INDEXES:
        op.create_index(f"ix_audit_allocations_{column}", "audit_allocations", [column])
    op.create_table(
        "allocation_reflections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("allocation_id", sa.String(length=64), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_allocation_reflections_allocation_id", "allocation_reflections", ["allocation_id"]
    )


def downgrade() -> None:
    op.drop_table("allocation_reflections")
    op.drop_table("audit_allocations")
    op.drop_table("audit_programmes")
    with op.batch_alter_table("case_register") as table:
        for name, _kind in reversed(_REGISTER_COLUMNS):
            table.drop_column(name)
