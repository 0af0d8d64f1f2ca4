"""The relay on SQLite with a publisher we control (no broker)."""

import asyncio
import uuid

import pytest
from sqlmodel import Session, select

from shared.db import transaction
from shared.migrations import upgrade
from shared.outbox import OutboxMessage
from shared.relay import OutboxRelay
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
    relay = OutboxRelay(sqlite_engine, RecordingPublisher(fail_after=2))
    with pytest.raises(ConnectionError):
        await relay.publish_batch()
    with Session(sqlite_engine) as session:
        assert all(m.published_at is None for m in session.exec(select(OutboxMessage)))
    assert relay.backlog() == 5
