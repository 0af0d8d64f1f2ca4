import pytest
from sqlalchemy import inspect, text

from shared.migrations import SERVICES, upgrade
from tests.migration_checks import drift_from_models


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_history_creates_the_messaging_tables_on_sqlite(service, sqlite_engine):
    upgrade(service, str(sqlite_engine.url))
    assert {"outbox", "processed_events", "alembic_version"} <= set(
        inspect(sqlite_engine).get_table_names()
    )
    assert drift_from_models(sqlite_engine, service) == []


def test_upgrading_twice_is_harmless(sqlite_engine):
    upgrade("audit", str(sqlite_engine.url))
    upgrade("audit", str(sqlite_engine.url))
    with sqlite_engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert revision == "0002_audit_tables"
    assert drift_from_models(sqlite_engine, "audit") == []


def test_unknown_service_is_refused():
    with pytest.raises(ValueError, match="unknown service 'billing'"):
        upgrade("billing", "sqlite://")
