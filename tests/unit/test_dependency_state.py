"""A dependency's state: an outage is told once, reminded at a falling rate, and ended once."""

import logging

import pytest
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from shared.dependency_state import (
    BROKER,
    DATABASE,
    Dependency,
    Unavailable,
    blame,
    publish_blame,
    reminders_due,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def told(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shared.dependency_state"]


def up(name: str) -> float | None:
    return REGISTRY.get_sample_value("qa_dependency_up", {"dependency": name})


@pytest.mark.parametrize(
    ("elapsed", "due"),
    [
        (0, 0),
        (9.9, 0),
        (10, 1),
        (29, 1),
        (30, 2),
        (60, 3),
        (120, 4),
        (299, 4),
        (300, 5),
        (599, 5),
        (600, 6),
        (3600, 16),  # 5 by five minutes, then one every five minutes: 5 + 55 min / 5 min
    ],
)
def test_reminders_fall_due_after_10_s_30_s_1_2_and_5_min_then_every_5_min(elapsed, due):
    assert reminders_due(elapsed) == due


def test_an_outage_is_told_once_reminded_as_it_goes_on_and_its_end_told_once(caplog):
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    broker = Dependency("unit-broker", clock)
    for second in range(0, 65):  # a failure reported every second for 65 s
        clock.now = 1000.0 + second
        broker.failed(KafkaConnectionError("refused"))
    assert told(caplog) == [
        "unit-broker unavailable",
        "unit-broker still unavailable",  # at 10 s
        "unit-broker still unavailable",  # at 30 s
        "unit-broker still unavailable",  # at 60 s
    ]
    first = caplog.records[0]
    assert (first.levelname, first.error, first.dependency) == (  # type: ignore[attr-defined]
        "ERROR",
        "KafkaConnectionError",
        "unit-broker",
    )
    assert up("unit-broker") == 0
    assert broker.state() == {"up": False, "seconds_away": 64.0, "error": "KafkaConnectionError"}

    clock.now += 6
    broker.succeeded()
    broker.succeeded()
    assert told(caplog)[-1] == "unit-broker available again"
    assert told(caplog).count("unit-broker available again") == 1
    assert caplog.records[-1].seconds_away == 70.0  # type: ignore[attr-defined]
    assert up("unit-broker") == 1
    assert broker.state() == {"up": True}


def test_a_new_outage_after_a_return_is_told_afresh(caplog):
    clock = FakeClock()
    database = Dependency("unit-database", clock)
    database.failed("NoAnswer")
    database.succeeded()
    clock.now += 1
    database.failed("NoAnswer")
    assert told(caplog).count("unit-database unavailable") == 2


def test_failures_are_blamed_on_the_dependency_they_show_away():
    assert blame(NodeNotReadyError("node 1")) is BROKER
    assert blame(OperationalError("SELECT 1", {}, Exception("no server"))) is DATABASE
    assert blame(Unavailable("broker", "TimeoutError")) is BROKER
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = KafkaConnectionError("refused")
    assert blame(wrapped) is BROKER
    assert blame(ValueError("a bug")) is None
    assert blame(ConnectionError("SMTP refused")) is None  # not known to be the broker's
    assert publish_blame(ConnectionError("refused")) is BROKER  # but a publish's is
    assert publish_blame(TimeoutError()) is BROKER
    assert publish_blame(ValueError("too large")) is None
