"""The relay on SQLite with a publisher we control (no broker)."""

import asyncio
import uuid

import pytest
from sqlmodel import Session, select

from shared.db import transaction
from shared.dependency_state import Dependency, Unavailable
from shared.events import new_event
from shared.metrics import OUTBOX_BACKLOG
from shared.migrations import upgrade
from shared.outbox import OutboxMessage, add_event
from shared.relay import OutboxRelay
from tests.factories import audit_graded
from tests.fakes import RecordingPublisher


def queue(engine, count: int) -> None:
    with transaction(engine) as session:
        for _ in range(count):
            session.add(OutboxMessage(event_id=str(uuid.uuid4()), topic="t", key=b"k", value=b"v"))


class HeldPublisher(RecordingPublisher):
    """Publishes only when the test lets it, to look inside a batch in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.waiting = asyncio.Event()

    async def publish(self, topic, key, value, headers=None) -> None:
        self.waiting.set()
        await self.release.wait()
        await super().publish(topic, key, value, headers)


async def test_on_sqlite_other_writers_are_not_blocked_while_a_batch_is_published(sqlite_engine):
    upgrade("audit", str(sqlite_engine.url))
    queue(sqlite_engine, 3)
    publisher = HeldPublisher()
    relay = OutboxRelay(sqlite_engine, publisher)
    in_flight = asyncio.create_task(relay.publish_batch())
    await publisher.waiting.wait()
    await asyncio.wait_for(asyncio.to_thread(queue, sqlite_engine, 1), timeout=5)
    publisher.release.set()
    assert await in_flight == 3
    assert relay.backlog() == 1
    assert await relay.drain() == 1
    assert len(publisher.messages) == 4


async def test_a_failed_publish_leaves_the_batch_pending(sqlite_engine):
    upgrade("audit", str(sqlite_engine.url))
    queue(sqlite_engine, 5)
    broker = Dependency("unit-broker")
    relay = OutboxRelay(sqlite_engine, RecordingPublisher(fail_after=2), broker=broker)
    with pytest.raises(Unavailable):
        await relay.publish_batch()
    assert not broker.up
    with Session(sqlite_engine) as session:
        assert all(m.published_at is None for m in session.exec(select(OutboxMessage)))
    assert relay.backlog() == 5


async def test_the_relay_publishes_as_soon_as_an_event_is_committed_not_at_its_poll(sqlite_engine):
    upgrade("audit", str(sqlite_engine.url))
    publisher = RecordingPublisher()
    stop = asyncio.Event()
    relay = asyncio.create_task(OutboxRelay(sqlite_engine, publisher).run(stop, poll_seconds=60))
    await asyncio.sleep(0.2)  # the first pass found nothing; the next poll is a minute away

    def commit_an_event() -> None:
        with transaction(sqlite_engine) as session:
            add_event(session, new_event(audit_graded(), source="/qa/audit"))

    await asyncio.to_thread(commit_an_event)
    for _ in range(50):
        if publisher.messages:
            break
        await asyncio.sleep(0.01)
    assert len(publisher.messages) == 1
    stop.set()
    await asyncio.wait_for(relay, 2)
    assert OUTBOX_BACKLOG._value.get() == 0


async def test_while_the_broker_is_away_the_backlog_gauge_shows_what_waits(sqlite_engine):
    upgrade("audit", str(sqlite_engine.url))
    queue(sqlite_engine, 4)
    broker = Dependency("unit-broker")
    relay = OutboxRelay(sqlite_engine, RecordingPublisher(fail_after=0), broker=broker)
    assert await relay.step() is False  # told to the broker's state, not raised to the worker
    assert OUTBOX_BACKLOG._value.get() == 4
    assert broker.state()["error"] == "ConnectionError"


class HungPublisher(RecordingPublisher):
    """A broker that is away without refusing: a publish waits until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.back = asyncio.Event()

    async def publish(self, topic, key, value, headers=None) -> None:
        await self.back.wait()
        await super().publish(topic, key, value, headers)


async def test_a_hung_publish_is_given_up_and_the_gauge_shows_what_waits_meanwhile(sqlite_engine):
    upgrade("audit", str(sqlite_engine.url))
    queue(sqlite_engine, 3)
    publisher, broker = HungPublisher(), Dependency("unit-broker")
    relay = OutboxRelay(sqlite_engine, publisher, publish_timeout_seconds=0.3, broker=broker)
    OUTBOX_BACKLOG.set(0)
    stepping = asyncio.create_task(relay.step())
    await asyncio.sleep(0.1)
    assert not stepping.done()
    assert OUTBOX_BACKLOG._value.get() == 3  # while the publish hangs, not only after it
    assert await asyncio.wait_for(stepping, 2) is False  # the loop goes round again
    assert (OUTBOX_BACKLOG._value.get(), broker.up) == (3, False)
    assert broker.state()["error"] == "TimeoutError"

    publisher.back.set()
    assert await relay.step() is False
    assert (OUTBOX_BACKLOG._value.get(), broker.up, relay.backlog()) == (0, True, 0)
    assert len(publisher.messages) == 3
