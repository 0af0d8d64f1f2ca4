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
"""

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from shared.db import is_postgresql
from shared.kafka import EventPublisher, Outgoing
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED
from shared.outbox import OUTBOX_CHANNEL, OutboxMessage
from shared.workers import Worker

log = logging.getLogger(__name__)

RELAY_LOCK_KEY = 0x7161_6F75_7462  # "qaoutb": one advisory lock per service database


class OutboxRelay:
    def __init__(self, engine: Engine, publisher: EventPublisher, *, batch_size: int = 100) -> None:
        self._engine = engine
        self._publisher = publisher
        self._batch_size = batch_size

    async def publish_batch(self) -> int:
        """Publish up to one batch of pending rows; returns how many were published."""
        with Session(self._engine, expire_on_commit=False) as session:
            batch = await asyncio.to_thread(self._claim_batch, session)
            if batch:
                await self._publisher.publish_many([message for _, message in batch])
                await asyncio.to_thread(self._mark_sent, session, [row for row, _ in batch])
        for _, message in batch:
            OUTBOX_PUBLISHED.labels(message.topic).inc()
        return len(batch)

    async def drain(self) -> int:
        """Publish until nothing is pending (or another replica holds the turn)."""
        total = 0
        while published := await self.publish_batch():
            total += published
        return total

    async def step(self) -> bool:
        """Publish one batch and report the backlog; True when a full batch suggests more."""
        try:
            published = await self.publish_batch()
        finally:  # what waits is worth knowing most when the broker is away
            OUTBOX_BACKLOG.set(await asyncio.to_thread(self.backlog))
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
