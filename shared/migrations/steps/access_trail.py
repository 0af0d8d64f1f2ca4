"""The append-only access trail table (shared.access_trail), as first created."""

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

# UPDATE is refused by the database itself; DELETE stays possible for the retention purge.
_SQLITE_TRIGGER = """
CREATE TRIGGER access_trail_append_only BEFORE UPDATE ON access_trail
BEGIN SELECT RAISE(ABORT, 'the access trail is append-only'); END
"""
_POSTGRES_FUNCTION = """
CREATE FUNCTION access_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the access trail is append-only'; END $$
"""
_POSTGRES_TRIGGER = """
CREATE TRIGGER access_trail_append_only BEFORE UPDATE ON access_trail
FOR EACH ROW EXECUTE FUNCTION access_trail_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "access_trail",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("who", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=160), nullable=False),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.Integer(), nullable=False),
    )
    op.create_index("ix_access_trail_at", "access_trail", ["at"])
    op.create_index("ix_access_trail_who", "access_trail", ["who"])
    op.create_index("ix_access_trail_case_id", "access_trail", ["case_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(_POSTGRES_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    op.drop_table("access_trail")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION access_trail_append_only()")
