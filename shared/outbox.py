"""Transactional outbox: events are rows written in the same transaction as the state change.

`add_event` is all a handler calls; `OutboxRelay` (shared.relay), woken as soon as the
transaction commits, publishes the rows to Kafka and marks them sent, so a crash between commit
and publish delays an event, never loses it.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, Table
from sqlmodel import Field, Session, SQLModel

from shared.db import insert_at_commit, timestamp_field
from shared.events.envelope import CloudEvent, kafka_key, serialize
from shared.wakeup import wake_after_commit

OUTBOX_CHANNEL = "outbox"


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(
        default=None,
        primary_key=True,
        # 64-bit on PostgreSQL; SQLite autoincrements only a column declared INTEGER.
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
    )
    event_id: str = Field(max_length=128, unique=True)
    topic: str = Field(max_length=255)
    key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = timestamp_field(default_factory=_now)
    published_at: datetime | None = timestamp_field(default=None, index=True)


OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


def add_event(session: Session, event: CloudEvent[Any]) -> None:
    """Queue `event` for publication; it commits or rolls back with the rest of `session`."""
    insert_at_commit(
        session,
        OUTBOX,
        {
            "event_id": event.id,
            "topic": event.topic,
            "key": kafka_key(event),
            "value": serialize(event),
            "created_at": _now(),
            "published_at": None,
        },
    )
    wake_after_commit(session, OUTBOX_CHANNEL)
