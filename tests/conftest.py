"""Test tiers and the real servers the integration and end-to-end tiers run against.

Apache Kafka and PostgreSQL are started once per session as plain processes (see
tooling.localstack), or taken from KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL. Under CI=true a
server that cannot be had fails the run: never a skip, never a fallback.
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from shared.db import create_db_engine
from tests.tokens import ISSUER
from tooling.localstack.kafka import KafkaServer, java_available
from tooling.localstack.postgres import EmbeddedPostgres, create_database, server_version
from tooling.localstack.processes import StackError

# Every service built or started by a test trusts the test session's token issuer.
os.environ["AUTH_JWKS_FILE"] = str(ISSUER.jwks_file)
os.environ.pop("AUTH_JWKS_URL", None)

TIERS = ("unit", "integration", "e2e")
USED: dict[str, str] = {}
"""Lines for the end of the run: the servers used, and figures tests want seen (even on CI)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test's tier is the folder it lives in."""
    for item in items:
        for tier in TIERS:
            if f"{os.sep}tests{os.sep}{tier}{os.sep}" in str(item.path):
                item.add_marker(getattr(pytest.mark, tier))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in USED.values():
        terminalreporter.write_line(line)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI requires the real server)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def server_root() -> Iterator[Path]:
    # World-traversable, because embedded PostgreSQL runs as its own system user under root.
    root = Path(tempfile.mkdtemp(prefix="qa-tests-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_server(server_root: Path) -> Iterator[KafkaServer | None]:
    """The tests' own broker (None when KAFKA_BOOTSTRAP_SERVERS names one): a crash test may
    kill and restart it, on the same port and data."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        USED["broker"] = f"broker: external Kafka at {external}"
        yield None
        return
    if not java_available():
        _unavailable("Java is not installed, so Apache Kafka cannot run")
    kafka = KafkaServer(server_root / "kafka")
    try:
        kafka.start()
    except StackError as exc:
        _unavailable(f"Apache Kafka did not start: {exc}")
    USED["broker"] = f"broker: Apache Kafka {kafka.version()} (KRaft) at {kafka.bootstrap_servers}"
    yield kafka
    kafka.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_server: KafkaServer | None) -> str:
    return kafka_server.bootstrap_servers if kafka_server else os.environ["KAFKA_BOOTSTRAP_SERVERS"]


@pytest.fixture(scope="session")
def postgres_server(server_root: Path) -> Iterator[EmbeddedPostgres | None]:
    """The tests' own PostgreSQL (None when DATABASE_URL names one): a crash test may stop and
    start it, on the same socket and data."""
    external = os.environ.get("DATABASE_URL")
    if external:
        USED["database"] = f"database: {server_version(external)} (external)"
        yield None
        return
    postgres = EmbeddedPostgres(server_root / "postgres")
    try:
        url = postgres.start()
    except Exception as exc:
        _unavailable(f"PostgreSQL did not start: {exc}")
    USED["database"] = f"database: {server_version(url)}"
    yield postgres
    postgres.stop()


@pytest.fixture(scope="session")
def postgres_admin_url(postgres_server: EmbeddedPostgres | None) -> str:
    return str(postgres_server.url) if postgres_server else os.environ["DATABASE_URL"]


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> str:
    """A fresh, empty database of its own for one test."""
    return create_database(postgres_admin_url, f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'test.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def both_engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """One test body run twice: on SQLite (the embedded default) and on PostgreSQL.

    For the paths that differ between them (advisory locks, SKIP LOCKED, row locks), as
    eventsourcing runs one application suite over every storage it supports.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'both.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    yield engine
    engine.dispose()
