import pytest
from sqlalchemy import inspect, text

from services.catalogue import SERVICE_NAMES
from shared.migrations import upgrade
from tests.migration_checks import drift_from_models


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_history_creates_the_messaging_tables_on_sqlite(service, sqlite_engine):
    upgrade(service, str(sqlite_engine.url))
    assert {"outbox", "processed_events", "access_trail", "alembic_version"} <= set(
        inspect(sqlite_engine).get_table_names()
    )
    assert drift_from_models(sqlite_engine, service) == []


def test_upgrading_twice_is_harmless(sqlite_engine):
    upgrade("audit", str(sqlite_engine.url))
    upgrade("audit", str(sqlite_engine.url))
    with sqlite_engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert revision == "0009_monthly_counts"
    assert drift_from_models(sqlite_engine, "audit") == []


def test_unknown_service_is_refused():
    with pytest.raises(ValueError, match="unknown service 'billing'"):
        upgrade("billing", "sqlite://")


def test_the_access_trail_refuses_updates(sqlite_engine):
    upgrade("audit", str(sqlite_engine.url))
    with sqlite_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO access_trail (at, who, role, action, path, case_id, outcome) VALUES"
                " ('2026-11-27 10:00:00', 'S0003', 'auditor', 'GET /audits', '/audits', 'C1', 200)"
            )
        )
    with pytest.raises(Exception, match="append-only"), sqlite_engine.begin() as connection:
        connection.execute(text("UPDATE access_trail SET who = 'S0001'"))
    with sqlite_engine.begin() as connection:
        assert connection.execute(text("SELECT who FROM access_trail")).scalar_one() == "S0003"
