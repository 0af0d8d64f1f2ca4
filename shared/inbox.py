"""Idempotent consumption: a processed-event row is saved in the same transaction as the effect.

Running a handler for an event this consumer has already processed changes nothing. An event
is known by its CloudEvents `source` and `id` together, the pair the spec makes unique.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from shared.db import timestamp_field, transaction
from shared.events.envelope import CloudEvent

EventHandler = Callable[[Session, CloudEvent[Any]], None]
"""Applies one event's effect inside the given session, which commits afterwards."""


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_events"

    consumer: str = Field(primary_key=True, max_length=128)
    event_source: str = Field(primary_key=True, max_length=256)
    event_id: str = Field(primary_key=True, max_length=128)
    processed_at: datetime = timestamp_field(default_factory=lambda: datetime.now(UTC))


def process_once(
    engine: Engine, consumer: str, event: CloudEvent[Any], handler: EventHandler
) -> bool:
    """Apply `handler` unless `consumer` already has; True when the effect was applied now."""
    try:
        with transaction(engine) as session:
            if _already_processed(session, consumer, event):
                return False
            handler(session, event)
            session.add(
                ProcessedEvent(consumer=consumer, event_source=event.source, event_id=event.id)
            )
    except IntegrityError:
        # Another replica committed the same event first; its effect stands, ours rolled back.
        with Session(engine) as session:
            if _already_processed(session, consumer, event):
                return False
        raise
    return True


def _already_processed(session: Session, consumer: str, event: CloudEvent[Any]) -> bool:
    return session.get(ProcessedEvent, (consumer, event.source, event.id)) is not None
