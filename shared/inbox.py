"""Idempotent consumption: a processed-event row is saved in the same transaction as the effect.

Running a handler for an event this consumer has already processed changes nothing.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from shared.db import transaction
from shared.events.envelope import CloudEvent

EventHandler = Callable[[Session, CloudEvent[Any]], None]
"""Applies one event's effect inside the given session, which commits afterwards."""


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_events"

    consumer: str = Field(primary_key=True, max_length=128)
    event_id: str = Field(primary_key=True, max_length=128)
    processed_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), sa_type=DateTime(timezone=True)
    )


def process_once(
    engine: Engine, consumer: str, event: CloudEvent[Any], handler: EventHandler
) -> bool:
    """Apply `handler` unless `consumer` already has; True when the effect was applied now."""
    try:
        with transaction(engine) as session:
            if session.get(ProcessedEvent, (consumer, event.id)) is not None:
                return False
            handler(session, event)
            session.add(ProcessedEvent(consumer=consumer, event_id=event.id))
    except IntegrityError:
        # Another replica committed the same event first; its effect stands, ours rolled back.
        if _already_processed(engine, consumer, event.id):
            return False
        raise
    return True


def _already_processed(engine: Engine, consumer: str, event_id: str) -> bool:
    with Session(engine) as session:
        return session.get(ProcessedEvent, (consumer, event_id)) is not None
