"""Who may record a re-audit (the follow-ups' steps, as the scheduler announces them), and
idempotency keys that belong to their caller instead of being global.

Revision ID: 0005_reaudit_assignments
Revises: 0004_audit_people
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_reaudit_assignments"
down_revision = "0004_audit_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reaudit_assignments",
        sa.Column("audit_id", sa.String(length=64), primary_key=True),
        sa.Column("followup_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )
    # The primary key changes, which SQLite cannot alter in place, so the keys move to a new
    # table. A key sent before belonged to whoever made its audit: only its auditor could.
    op.create_table(
        "caller_submission_keys",
        sa.Column("caller_id", sa.String(length=64), primary_key=True),
        sa.Column("key", sa.String(length=128), primary_key=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("audit_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO caller_submission_keys (caller_id, key, fingerprint, audit_id, created_at) "
        "SELECT a.auditor_id, k.key, k.fingerprint, k.audit_id, k.created_at "
        "FROM submission_keys k JOIN audits a ON a.id = k.audit_id"
    )
    op.drop_table("submission_keys")


def downgrade() -> None:
    op.create_table(
        "submission_keys",
        sa.Column("key", sa.String(length=128), primary_key=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("audit_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Global keys again: of a key several callers used, the earliest use stays.
    op.execute(
        "INSERT INTO submission_keys (key, fingerprint, audit_id, created_at) "
        "SELECT k.key, k.fingerprint, k.audit_id, k.created_at FROM caller_submission_keys k "
        "WHERE NOT EXISTS (SELECT 1 FROM caller_submission_keys o WHERE o.key = k.key "
        "AND (o.created_at < k.created_at OR (o.created_at = k.created_at "
        "AND o.caller_id < k.caller_id)))"
    )
    op.drop_table("caller_submission_keys")
    op.drop_table("reaudit_assignments")
