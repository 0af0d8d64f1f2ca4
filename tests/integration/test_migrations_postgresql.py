import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from services.catalogue import SERVICE_NAMES
from shared.migrations import upgrade
from tests.migration_checks import drift_from_models


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_each_service_history_migrates_postgresql_to_the_models(
    service, postgres_url, postgres_engine
):
    upgrade(service, postgres_url)
    assert {"outbox", "processed_events"} <= set(inspect(postgres_engine).get_table_names())
    assert drift_from_models(postgres_engine, service) == []


def test_postgresql_refuses_updates_to_the_access_trail_but_lets_the_purge_delete(
    postgres_url, postgres_engine
):
    upgrade("moderation", postgres_url)
    insert = text(
        "INSERT INTO access_trail (at, who, role, action, path, case_id, outcome) VALUES"
        " (now(), 'S0004', 'moderator', 'GET /moderations', '/moderations', 'C-PG-1', 200)"
    )
    with postgres_engine.begin() as connection:
        connection.execute(insert)
    with pytest.raises(DBAPIError, match="append-only"), postgres_engine.begin() as connection:
        connection.execute(text("UPDATE access_trail SET who = 'S0001' WHERE case_id = 'C-PG-1'"))
    with postgres_engine.begin() as connection:
        assert (
            connection.execute(
                text("SELECT who FROM access_trail WHERE case_id = 'C-PG-1'")
            ).scalar_one()
            == "S0004"
        )
        connection.execute(text("DELETE FROM access_trail WHERE case_id = 'C-PG-1'"))
