"""What a migrated database must look like, checked on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from shared.inbox import ProcessedEvent
from shared.outbox import OutboxMessage


def drift_from_models(engine: Engine) -> list[object]:
    """Differences between the migrated schema and the shared messaging models (none expected)."""
    models = MetaData()
    for table in (OutboxMessage.__table__, ProcessedEvent.__table__):
        table.to_metadata(models)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), models)
    return [change for change in diff if change[0] != "remove_table"]
