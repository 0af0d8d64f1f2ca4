"""The one way every service consumes events: parse, apply once, retry, dead-letter, commit.

Records come from Kafka in batches (up to `CONSUMER_BATCH_SIZE`, as many as are waiting). Each
record's CloudEvent is parsed (malformed → dead letter at once, retrying cannot help) and vetted
(an event of another topic's type, keyed by anything but its subject, or from a source that
does not produce the topic → dead letter: see shared.events.trust). The good ones are applied
in order in one transaction with their processed-event records (`process_batch`), so a batch
costs one commit and one offset commit, not one of each per event. When a handler fails because
of its event, the events before it are committed, and it alone is retried with backoff up to
`max_attempts` (`process_once`); then the original message and the reason go to `<topic>.dlq`
and the rest of the batch goes on, in order: one poison record never holds back the others.
A failure of the infrastructure (database or broker unreachable) is not the event's fault: the
subscriber raises, no offset is committed and the batch is read again after a pause (what was
committed of it is then a duplicate, and changes nothing), so an outage delays events and never
dead-letters good ones. The same happens when the dead-letter publish itself fails. Such
failures are reported to shared.dependency_state, which logs the outage once, not each retry.
"""

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from sqlalchemy import Engine

from shared.db import is_infrastructure_failure
from shared.dependency_state import BROKER, DATABASE, publish_blame, report_failure
from shared.events.data import EventData
from shared.events.envelope import CloudEvent, EventParseError, parse_event
from shared.events.topics import dead_letter_topic
from shared.events.trust import EventTrust
from shared.inbox import EventHandler, Handled, HandlerFailed, process_batch, process_once
from shared.kafka import EventPublisher
from shared.logging import correlated
from shared.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_RETRIES, HANDLER_SECONDS

log = logging.getLogger(__name__)

REASON_MAX_CHARS = 500
REDELIVERY_PAUSE_SECONDS = 2.0
CONSUMER_BATCH_SIZE = 200
BATCH_WAIT_MS = 50
"""How long a consumer waits for records before it looks again: the longest an event waits
after a quiet spell (FastStream sleeps as long again after an empty fetch)."""

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


class DeliveryDeferred(Exception):
    """The message could not be processed for reasons outside it; it will be read again."""


def ignore(_session: object, _event: object) -> None:
    """A handler for event types a consumer receives on its topics but has no use for."""


@dataclass(frozen=True)
class EventConsumer:
    """A named consumer (its Kafka group id) with one handler per event payload class."""

    name: str
    engine: Engine
    dead_letters: EventPublisher
    handlers: Mapping[type[EventData], EventHandler]
    trust: EventTrust
    max_attempts: int = 5
    retry_backoff_seconds: float = 0.2
    redelivery_pause_seconds: float = REDELIVERY_PAUSE_SECONDS

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    async def consume(self, record: Record) -> None:
        """Process one Kafka record to the end: applied, duplicate, or dead-lettered."""
        await self.consume_batch([record])

    async def consume_batch(self, records: Sequence[Record]) -> None:
        """Process Kafka records, in order, to the end: applied, duplicates, or dead-lettered.

        Raises `DeliveryDeferred` when they must be delivered again later.
        """
        vetted: list[tuple[Record, CloudEvent[EventData], EventHandler]] = []
        for record in records:
            accepted = await self._vet(record)
            if accepted is not None:
                vetted.append((record, *accepted))
        start, end = 0, len(vetted)
        while start < len(vetted):
            failed = await self._apply_together(vetted[start:end])
            if failed is None:
                start, end = end, len(vetted)
            elif failed.index > 0:  # commit the events before it first
                end = start + failed.index
            else:
                record, event, handler = vetted[start]
                with correlated(event.correlationid or event.id):
                    await self._apply(record, event, handler, failed.error)
                start, end = start + 1, len(vetted)

    async def _vet(self, record: Record) -> tuple[CloudEvent[EventData], EventHandler] | None:
        """The record's event and its handler; None when the record was dead-lettered."""
        try:
            event: CloudEvent[EventData] = parse_event(record.value or b"")
        except EventParseError as exc:
            await self._dead_letter(record, "malformed", f"malformed event: {exc}")
            return None
        refusal = self.trust.refusal(record.topic, record.key, event)
        if refusal is not None:
            await self._dead_letter(record, "untrusted", refusal)
            return None
        handler = self.handlers.get(type(event.data))
        if handler is None:
            await self._dead_letter(record, "unhandled", f"no handler for {event.type}")
            return None
        return event, handler

    async def _apply_together(
        self, batch: Sequence[tuple[Record, CloudEvent[EventData], EventHandler]]
    ) -> HandlerFailed | None:
        """Apply `batch` in one transaction; else, which event failed (nothing committed)."""
        handled: list[Handled] = [(event, handler) for _, event, handler in batch]
        started = time.perf_counter()
        try:
            applied = await asyncio.to_thread(process_batch, self.engine, self.name, handled)
        except HandlerFailed as failed:
            return failed
        except Exception as exc:  # noqa: BLE001 (the commit failed: the first event, alone, finds out why)
            return HandlerFailed(0, exc)
        DATABASE.succeeded()
        each = (time.perf_counter() - started) / len(batch)
        for (record, _, _), now in zip(batch, applied, strict=True):
            HANDLER_SECONDS.labels(self.name, record.topic).observe(each)
            EVENTS_CONSUMED.labels(
                self.name, record.topic, "processed" if now else "duplicate"
            ).inc()
        return None

    async def _apply(
        self,
        record: Record,
        event: CloudEvent[EventData],
        handler: EventHandler,
        first_failure: Exception,
    ) -> None:
        """Apply one event alone after it failed in its batch (that was its first attempt)."""
        failure = first_failure
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                started = time.perf_counter()
                try:
                    applied = await asyncio.to_thread(
                        process_once, self.engine, self.name, event, handler
                    )
                except Exception as exc:  # noqa: BLE001 (classified below: retried, deferred or dead-lettered)
                    failure = exc
                else:
                    HANDLER_SECONDS.labels(self.name, record.topic).observe(
                        time.perf_counter() - started
                    )
                    EVENTS_CONSUMED.labels(
                        self.name, record.topic, "processed" if applied else "duplicate"
                    ).inc()
                    return
            self._count_failure(record, event, attempt, failure)
            if attempt < self.max_attempts:
                await asyncio.sleep(self.retry_backoff_seconds * 2 ** (attempt - 1))
        if is_infrastructure_failure(failure):
            why = f"{type(failure).__name__} while applying {event.type}"
            await self._defer(why, told=report_failure(failure))
        reason = f"handler failed {self.max_attempts} times: {type(failure).__name__}: {failure}"
        await self._dead_letter(record, "handler_failed", reason)

    def _count_failure(
        self, record: Record, event: CloudEvent[EventData], attempt: int, failure: Exception
    ) -> None:
        HANDLER_RETRIES.labels(self.name, record.topic).inc()
        if report_failure(failure):
            return  # an outage, told once by the dependency's state, not once per attempt
        log.warning(
            "handler failed",
            extra={
                "event_id": event.id,
                "event_type": event.type,
                "attempt": attempt,
                "error": type(failure).__name__,
            },
        )

    async def _dead_letter(self, record: Record, kind: str, reason: str) -> None:
        headers = {key: (value or b"").decode(errors="replace") for key, value in record.headers}
        headers.update(
            {
                "dlq-reason": reason[:REASON_MAX_CHARS],
                "dlq-consumer": self.name,
                "dlq-original-topic": record.topic,
                "dlq-original-partition": str(record.partition),
                "dlq-original-offset": str(record.offset),
                "dlq-failed-at": datetime.now(UTC).isoformat(),
            }
        )
        try:
            await self.dead_letters.publish(
                dead_letter_topic(record.topic), record.key or b"", record.value or b"", headers
            )
        except Exception as exc:  # noqa: BLE001 (any failure here means: try the message again)
            dependency = publish_blame(exc)
            if dependency is not None:
                dependency.failed(exc)
            why = f"dead-letter publish failed: {type(exc).__name__}"
            await self._defer(why, told=dependency is not None)
        BROKER.succeeded()
        DEAD_LETTERS.labels(self.name, record.topic, kind).inc()
        EVENTS_CONSUMED.labels(self.name, record.topic, "dead_lettered").inc()
        log.error(
            "message dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason_kind": kind,
            },
        )

    async def _defer(self, why: str, told: bool) -> None:
        """Pause, then have the batch read again; `told`: a dependency's state logged why."""
        # During an outage this comes every pause: logged once by the dependency's state.
        level = logging.DEBUG if told else logging.ERROR
        log.log(level, "message deferred; it will be delivered again", extra={"reason": why})
        await asyncio.sleep(self.redelivery_pause_seconds)  # no hot loop while an outage lasts
        raise DeliveryDeferred(why)


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """Leave decoding to `parse_event`: FastStream's own JSON decoding would fail before us."""
    return message.body


def subscribe(
    broker: KafkaBroker,
    consumer: EventConsumer,
    *topics: str,
    batch_size: int = CONSUMER_BATCH_SIZE,
) -> None:
    """Register `consumer` on `topics`: offsets are committed only after a batch is processed."""

    async def on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        await consumer.consume_batch(records if isinstance(records, tuple) else (records,))

    broker.subscriber(
        *topics,
        group_id=consumer.name,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=BATCH_WAIT_MS,
    )(on_batch)
