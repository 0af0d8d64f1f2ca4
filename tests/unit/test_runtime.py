"""A service consumes exactly the topics it declares: the declaration cannot drift from the code."""

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError

from shared.dependency_state import BROKER
from shared.events import AuditGraded, CaseOpened
from shared.events.topics import AUDIT_GRADED
from shared.runtime import ServiceRuntime
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings
from shared.workers import Worker


def runtime(tmp_path, consumes: tuple[str, ...]) -> ServiceRuntime:
    declared = ServiceDefinition(ServiceSettings, "Example", "A test service", consumes, (), {})
    settings = ServiceSettings(
        kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path, auth_jwks_file=tmp_path / "k"
    )
    return ServiceRuntime.build(declared, settings)


def test_handlers_for_the_declared_topics_are_subscribed_to_them(tmp_path):
    service = runtime(tmp_path, (AUDIT_GRADED,))
    service.consume({AuditGraded: lambda _session, _event: None})
    assert [s.specification.channel_labels for s in service.broker.subscribers] == [[AUDIT_GRADED]]


def test_a_handler_for_an_undeclared_topic_is_refused_naming_both(tmp_path):
    service = runtime(tmp_path, (AUDIT_GRADED,))
    with pytest.raises(ValueError, match=r"handlers cover topics \['case.events'\]"):
        service.consume({CaseOpened: lambda _session, _event: None})


def test_a_declared_topic_without_a_handler_is_refused(tmp_path):
    service = runtime(tmp_path, (AUDIT_GRADED, "case.events"))
    with pytest.raises(ValueError, match="declares it consumes"):
        service.consume({AuditGraded: lambda _session, _event: None})


# --- background workers: a failing step is not a traceback every pass ----------------------


def failing_step(errors: list[Exception], stop: asyncio.Event):
    """A step that raises each of `errors` in turn, then works, then stops the worker."""

    async def step() -> bool:
        if errors:
            raise errors.pop(0)
        stop.set()
        return False

    return step


async def test_a_step_failing_again_and_again_logs_its_traceback_once(caplog):
    stop = asyncio.Event()
    step = failing_step([ValueError("a bug")] * 20, stop)
    await asyncio.wait_for(Worker("unit-worker", 0.001, step).run(stop), 5)
    lines = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert lines == [
        ("background step failed; will retry", True),
        ("background step works again", False),
    ]


async def test_a_step_failing_because_the_broker_is_away_is_told_by_the_brokers_state(caplog):
    BROKER.succeeded()
    caplog.clear()
    stop = asyncio.Event()
    step = failing_step([KafkaConnectionError("refused")] * 20, stop)
    await asyncio.wait_for(Worker("unit-worker", 0.001, step).run(stop), 5)
    assert [r.getMessage() for r in caplog.records] == ["broker unavailable"]
    assert all(r.exc_info is None for r in caplog.records)
    BROKER.succeeded()  # as the probe would, once it is back: no outage left for other tests
