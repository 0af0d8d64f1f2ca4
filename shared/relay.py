"""The outbox relay: publishes committed outbox rows to Kafka, oldest first, then marks them sent.

A batch is marked sent only after every message in it was acknowledged (acks=all), so a relay
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

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from shared.db import is_postgresql
from shared.kafka import EventPublisher
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_PUBLISHED
from shared.outbox import OutboxMessage
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
            for message in batch:
                await self._publisher.publish(message.topic, message.key, message.value)
            if batch:
                await asyncio.to_thread(self._mark_sent, session, batch)
        for message in batch:
            OUTBOX_PUBLISHED.labels(message.topic).inc()
        return len(batch)

    async def drain(self) -> int:
        """Publish until nothing is pending (or another replica holds the turn)."""
        total = 0
        while published := await self.publish_batch():
            total += published
        return total

    async def step(self) -> bool:
        """Publish one batch and report the backlog; True when rows may still be waiting."""
        published = await self.publish_batch()
        OUTBOX_BACKLOG.set(await asyncio.to_thread(self.backlog))
        return published > 0

    async def run(self, stop: asyncio.Event, poll_seconds: float = 0.5) -> None:
        """Relay until `stop` is set; a failed batch is retried after the poll interval."""
        await Worker("outbox-relay", poll_seconds, self.step).run(stop)

    def backlog(self) -> int:
        with Session(self._engine) as session:
            query = select(func.count()).where(col(OutboxMessage.published_at).is_(None))
            return session.exec(query).one()

    def _claim_batch(self, session: Session) -> list[OutboxMessage]:
        postgres = is_postgresql(self._engine)
        if (
            postgres
            and not session.exec(select(func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY))).one()
        ):
            return []  # another replica is relaying; its transaction ends its turn
        query = (
            select(OutboxMessage)
            .where(col(OutboxMessage.published_at).is_(None))
            .order_by(col(OutboxMessage.id))
            .limit(self._batch_size)
        )
        batch = list(session.exec(query).all())
        if not postgres:
            session.commit()  # release SQLite's write lock before talking to Kafka
        return batch

    @staticmethod
    def _mark_sent(session: Session, batch: list[OutboxMessage]) -> None:
        now = datetime.now(UTC)
        for message in batch:
            message.published_at = now
            session.add(message)
        session.commit()
