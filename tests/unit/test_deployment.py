from pathlib import Path

import yaml

from shared.localstack.kafka import KAFKA_VERSION
from shared.migrations import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_same_apache_kafka_as_the_local_stack():
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert COMPOSE["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_compose_postgresql_creates_a_database_for_every_service():
    postgres = COMPOSE["services"]["postgres"]
    init = next(v for v in postgres["volumes"] if "init.sql" in v).split(":")[0]
    sql = (ROOT / init).read_text()
    for service in SERVICES:
        assert f"CREATE DATABASE {service};" in sql


def test_every_compose_service_has_a_healthcheck():
    for name, service in COMPOSE["services"].items():
        assert "healthcheck" in service, name
