import pytest
from sqlalchemy import inspect

from shared.migrations import SERVICES, upgrade
from tests.migration_checks import drift_from_models


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_history_migrates_postgresql_to_the_models(
    service, postgres_url, postgres_engine
):
    upgrade(service, postgres_url)
    assert {"outbox", "processed_events"} <= set(inspect(postgres_engine).get_table_names())
    assert drift_from_models(postgres_engine, service) == []
