"""What a migrated database must look like, checked on SQLite and on PostgreSQL."""

import importlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from shared.access_trail import AccessRecord
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxMessage


def service_tables(service: str) -> list[Table]:
    """The tables a service's models define: the shared messaging ones plus its own."""
    models = importlib.import_module(f"services.{service}.models")
    own = [
        model.__table__
        for model in vars(models).values()
        if isinstance(model, type)
        and issubclass(model, SQLModel)
        and model.__module__ == models.__name__
        and hasattr(model, "__table__")
    ]
    assert own, f"services.{service}.models defines no tables"
    return [OutboxMessage.__table__, ProcessedEvent.__table__, AccessRecord.__table__, *own]


def drift_from_models(engine: Engine, service: str) -> list[object]:
    """Differences between the migrated schema and the service's models (none expected)."""
    models = MetaData()
    for table in service_tables(service):
        table.to_metadata(models)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), models)
    return [change for change in diff if change[0] != "remove_table"]
