"""The outbox relay: publishes committed outbox rows to Kafka, oldest first, then marks them sent.

It runs as soon as a transaction that added rows commits (shared.wakeup: in this process, and
from other replicas by PostgreSQL's NOTIFY); its poll is only a safety net. A batch goes to the
producer at once, without waiting for each acknowledgement before sending the next, and is
marked sent by one statement only after every message in it was acknowledged (acks=all), so a relay
killed mid-batch republishes the unmarked rest on restart: at-least-once, and the consumers'
processed-event records make the duplicates harmless.

Only one relay publishes a service's outbox at a time, so events leave in commit order and
per-case ordering on Kafka holds. On PostgreSQL replicas take turns through a transaction-level
advisory lock held while the batch is published and marked. On SQLite there is one process,
and the rows are read in one short transaction and marked in another, so the database's single
write lock is never held while waiting for Kafka.

While the broker is away a publish can wait for an acknowledgement that never comes, so it is
given up after `PUBLISH_TIMEOUT_SECONDS` (the rows stay pending and go out on a later pass), and
the backlog gauge is set from a count taken before publishing: it shows what waits even then.
Publishing reports to shared.dependency_state, which logs the outage instead of every pass.
"""

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from shared.db import is_postgresql
from shared.dependency_state import BROKER, Dependency, Unavailable, publish_blame
from shared.kafka import EventPublisher, Outgoing
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED
from shared.outbox import OUTBOX_CHANNEL, OutboxMessage
from shared.workers import Worker

log = logging.getLogger(__name__)

RELAY_LOCK_KEY = 0x7161_6F75_7462  # "qaoutb": one advisory lock per service database
PUBLISH_TIMEOUT_SECONDS = 30.0
"""Longer than the producer's own retries take on a broker that is there (request timeout
aside), short enough that the relay loop goes round and reports while it is not."""


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        publisher: EventPublisher,
        *,
        batch_size: int = 100,
        publish_timeout_seconds: float = PUBLISH_TIMEOUT_SECONDS,
        broker: Dependency = BROKER,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._batch_size = batch_size
        self._publish_timeout = publish_timeout_seconds
        self._broker = broker

    async def publish_batch(self) -> int:
        """Publish up to one batch of pending rows; returns how many were published.

        Raises `Unavailable` when the broker did not take them (they stay pending).
        """
        with Session(self._engine, expire_on_commit=False) as session:
            batch = await asyncio.to_thread(self._claim_batch, session)
            if batch:
                await self._publish([message for _, message in batch])
                await asyncio.to_thread(self._mark_sent, session, [row for row, _ in batch])
        for _, message in batch:
            OUTBOX_PUBLISHED.labels(message.topic).inc()
        return len(batch)

    async def _publish(self, messages: list[Outgoing]) -> None:
        try:
            await asyncio.wait_for(self._publisher.publish_many(messages), self._publish_timeout)
        except Exception as exc:
            if publish_blame(exc) is not BROKER:
                raise
            self._broker.failed(exc)
            raise Unavailable("broker", type(exc).__name__) from exc
        self._broker.succeeded()

    async def drain(self) -> int:
        """Publish until nothing is pending (or another replica holds the turn)."""
        total = 0
        while published := await self.publish_batch():
            total += published
        return total

    async def step(self) -> bool:
        """Report the backlog and publish one batch; True when a full batch suggests more."""
        # Counted first: what waits is worth knowing most while a publish hangs on a broker
        # that is away. Rows committed meanwhile wake the relay again, and that pass counts them.
        waiting = await asyncio.to_thread(self.backlog)
        OUTBOX_BACKLOG.set(waiting)
        try:
            published = await self.publish_batch()
        except Unavailable:
            return False  # told once by the broker's state, not by every pass; the rows wait
        OUTBOX_BACKLOG.set(max(waiting - published, 0))
        return published >= self._batch_size

    async def run(self, stop: asyncio.Event, poll_seconds: float = 5.0) -> None:
        """Relay until `stop` is set: on every commit that adds rows, and every `poll_seconds`."""
        await Worker("outbox-relay", poll_seconds, self.step, wake_on=OUTBOX_CHANNEL).run(stop)

    def backlog(self) -> int:
        with Session(self._engine) as session:
            query = select(func.count()).where(col(OutboxMessage.published_at).is_(None))
            return session.exec(query).one()

    def _claim_batch(self, session: Session) -> list[tuple[int, Outgoing]]:
        postgres = is_postgresql(self._engine)
        if (
            postgres
            and not session.exec(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY))).one()
        ):
            return []  # another replica is relaying; its transaction ends its turn
        query = (
            select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.key, OutboxMessage.value)
            .where(col(OutboxMessage.published_at).is_(None))
            .order_by(col(OutboxMessage.id))
            .limit(self._batch_size)
        )
        batch = [
            (row, Outgoing(topic, key, value))
            for row, topic, key, value in session.exec(query)
            if row is not None  # a primary key; never None once stored
        ]
        if not postgres:
            session.commit()  # release SQLite's write lock before talking to Kafka
        return batch

    @staticmethod
    def _mark_sent(session: Session, rows: list[int]) -> None:
        sent = update(OutboxMessage).where(col(OutboxMessage.id).in_(rows))
        session.execute(sent.values(published_at=datetime.now(UTC)))
        session.commit()
