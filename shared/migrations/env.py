"""Alembic environment shared by every service's history (see shared.migrations)."""

from alembic import context
from sqlalchemy import text

from shared.db import create_db_engine

config = context.config


def run_migrations() -> None:
    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together migrate one after the other, not at once.
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('qa-migrations'))"))
            context.run_migrations()
    engine.dispose()


run_migrations()
