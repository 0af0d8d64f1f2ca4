"""Idempotent consumption: a processed-event row is saved in the same transaction as the effect.

Running a handler for an event this consumer has already processed changes nothing. An event
is known by its CloudEvents `source` and `id` together, the pair the spec makes unique.

Events come in batches: `process_batch` applies a batch in one transaction (one commit, one
query for the events already processed), or tells which event failed, so that the caller can
commit those before it and give that one its own retries (`process_once`).
"""

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from shared.db import ReadAhead, insert_at_commit, read_ahead, timestamp_field, transaction
from shared.events.envelope import CloudEvent
from shared.logging import correlated

EventHandler = Callable[[Session, CloudEvent[Any]], None]
"""Applies one event's effect inside the given session, which commits afterwards."""


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_events"

    consumer: str = Field(primary_key=True, max_length=128)
    event_source: str = Field(primary_key=True, max_length=256)
    event_id: str = Field(primary_key=True, max_length=128)
    processed_at: datetime = timestamp_field(default_factory=lambda: datetime.now(UTC))


PROCESSED: Table = ProcessedEvent.__table__  # type: ignore[attr-defined]


def process_once(
    engine: Engine, consumer: str, event: CloudEvent[Any], handler: EventHandler
) -> bool:
    """Apply `handler` unless `consumer` already has; True when the effect was applied now."""
    try:
        with transaction(engine) as session:
            if _already_processed(session, consumer, event):
                return False
            handler(session, event)
            _record_processed(session, consumer, event)
    except IntegrityError:
        # Another replica committed the same event first; its effect stands, ours rolled back.
        with Session(engine) as session:
            if _already_processed(session, consumer, event):
                return False
        raise
    return True


def _record_processed(session: Session, consumer: str, event: CloudEvent[Any]) -> None:
    row = {"consumer": consumer, "event_source": event.source, "event_id": event.id}
    insert_at_commit(session, PROCESSED, {**row, "processed_at": datetime.now(UTC)})


def _already_processed(session: Session, consumer: str, event: CloudEvent[Any]) -> bool:
    return session.get(ProcessedEvent, (consumer, event.source, event.id)) is not None


Handled = tuple[CloudEvent[Any], EventHandler]


class HandlerFailed(Exception):
    """The handler of the batch's event at `index` raised; the whole batch was rolled back."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(f"event {index} of the batch failed: {type(error).__name__}")
        self.index = index
        self.error = error


def process_batch(engine: Engine, consumer: str, batch: Sequence[Handled]) -> list[bool]:
    """Apply every event of `batch`, in order, in one transaction; for each, True when it was
    applied now, False when `consumer` had already processed it.

    Raises `HandlerFailed` (nothing committed) when a handler fails; a failure of the commit
    itself is raised as it is.
    """
    applied: list[bool] = []
    with transaction(engine) as session:
        done = _processed(session, consumer, [event for event, _ in batch])
        ahead = _read_ahead(session, [(e, h) for e, h in batch if (e.source, e.id) not in done])
        subjects: set[str] = set()
        for index, (event, handler) in enumerate(batch):
            known = (event.source, event.id)
            if known in done:
                applied.append(False)
                continue
            only_its_subject = _reads_only_its_subject(handler)
            repeated = event.subject in subjects
            if repeated:
                ahead.forget(event.subject)  # read before the earlier event changed it
            ahead.handling(event)
            try:
                with (
                    correlated(event.correlationid or event.id),
                    _flushing(session, only_its_subject and not repeated),
                ):
                    handler(session, event)
            except Exception as exc:
                raise HandlerFailed(index, exc) from exc
            if not only_its_subject:
                ahead.clear()  # it may have changed what was read for any case
            _record_processed(session, consumer, event)
            subjects.add(event.subject)
            done.add(known)
            applied.append(True)
    return applied


BatchRead = Callable[[Session, Sequence[CloudEvent[Any]]], None]
"""Reads for a batch of events, before any is handled, kept in `shared.db.read_ahead`."""
READS_AHEAD = "reads_ahead"


def reads_ahead(read: BatchRead) -> Callable[[EventHandler], EventHandler]:
    """Mark a handler whose reads `read` makes for a whole batch of its events at once, a
    statement per table instead of one per event, keeping each row for the event it is read
    for (`ReadAhead.keep`); the handler takes them (`ReadAhead.take`) where it would read them,
    before it changes them.
    `read` may lock (`lock_all`) what the handler would lock before reading."""

    def mark(handler: EventHandler) -> EventHandler:
        setattr(handler, READS_AHEAD, read)
        return handler

    return mark


def _read_ahead(session: Session, pending: Sequence[Handled]) -> ReadAhead:
    """Run each handler's batch read (`reads_ahead`) once, on the events it will handle."""
    reads: dict[BatchRead, list[CloudEvent[Any]]] = {}
    for event, handler in pending:
        read = getattr(handler, READS_AHEAD, None)
        if read is not None:
            reads.setdefault(read, []).append(event)
    for read, events in reads.items():
        read(session, events)
    return read_ahead(session)


ONLY_ITS_SUBJECT = "reads_only_its_subject"


def reads_only_its_subject(handler: EventHandler) -> EventHandler:
    """Mark `handler` as reading and changing only rows about its event's subject (the case),
    and flushing itself (`session.flush()`) what it writes before reading it back. In a batch
    it then runs without flushing what the events before it wrote about other cases, so those
    rows go in together as the batch commits, a statement per table rather than a few per
    event. An event whose subject came earlier in the batch is handled as any other, after a
    flush."""
    setattr(handler, ONLY_ITS_SUBJECT, True)
    return handler


def _reads_only_its_subject(handler: EventHandler) -> bool:
    return getattr(handler, ONLY_ITS_SUBJECT, False) is True


def _flushing(session: Session, unflushed: bool) -> AbstractContextManager[object]:
    return session.no_autoflush if unflushed else nullcontext()


def _processed(
    session: Session, consumer: str, events: Sequence[CloudEvent[Any]]
) -> set[tuple[str, str]]:
    """Which of `events` `consumer` has processed: one query for a whole batch."""
    query = select(ProcessedEvent.event_source, ProcessedEvent.event_id).where(
        ProcessedEvent.consumer == consumer,
        col(ProcessedEvent.event_id).in_({event.id for event in events}),
    )
    return {(source, event_id) for source, event_id in session.exec(query)}
