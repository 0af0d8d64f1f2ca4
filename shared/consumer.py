"""The one way every service consumes events: parse, apply once, retry, dead-letter, commit.

For each message: the CloudEvent is parsed (malformed → dead letter at once, retrying cannot
help); the handler for its type runs through `process_once`, so the effect and the
processed-event record commit together; a failing handler is retried with backoff up to
`max_attempts`, then the original message and the reason go to `<topic>.dlq`. Only then does
the subscriber return and FastStream commit the offset. If even the dead-letter publish fails
the subscriber raises, the offset is not committed and the message is delivered again.
"""

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from sqlalchemy import Engine

from shared.events.data import EventData
from shared.events.envelope import CloudEvent, EventParseError, parse_event
from shared.events.topics import dead_letter_topic
from shared.inbox import EventHandler, process_once
from shared.kafka import EventPublisher
from shared.logging import correlated
from shared.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_RETRIES, HANDLER_SECONDS

log = logging.getLogger(__name__)

REASON_MAX_CHARS = 1000


def ignore(_session: object, _event: object) -> None:
    """A handler for event types a consumer receives on its topics but has no use for."""


@dataclass(frozen=True)
class EventConsumer:
    """A named consumer (its Kafka group id) with one handler per event payload class."""

    name: str
    engine: Engine
    dead_letters: EventPublisher
    handlers: Mapping[type[EventData], EventHandler]
    max_attempts: int = 5
    retry_backoff_seconds: float = 0.2

    async def consume(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Process one Kafka record to the end: applied, duplicate, or dead-lettered."""
        try:
            event: CloudEvent[EventData] = parse_event(record.value or b"")
        except EventParseError as exc:
            await self._dead_letter(record, "malformed", f"malformed event: {exc}")
            return
        handler = self.handlers.get(type(event.data))
        if handler is None:
            await self._dead_letter(record, "unhandled", f"no handler for {event.type}")
            return
        with correlated(event.correlationid or event.id):
            await self._apply(record, event, handler)

    async def _apply(
        self,
        record: ConsumerRecord[bytes, bytes],
        event: CloudEvent[EventData],
        handler: EventHandler,
    ) -> None:
        for attempt in range(1, self.max_attempts + 1):
            started = time.perf_counter()
            try:
                applied = await asyncio.to_thread(
                    process_once, self.engine, self.name, event, handler
                )
            except Exception as exc:  # noqa: BLE001 (any handler failure is retried, then dead-lettered)
                HANDLER_RETRIES.labels(self.name, record.topic).inc()
                log.warning(
                    "handler failed",
                    extra={
                        "event_id": event.id,
                        "event_type": event.type,
                        "attempt": attempt,
                        "error": type(exc).__name__,
                    },
                )
                failure = exc
                await asyncio.sleep(self.retry_backoff_seconds * 2 ** (attempt - 1))
                continue
            HANDLER_SECONDS.labels(self.name, record.topic).observe(time.perf_counter() - started)
            outcome = "processed" if applied else "duplicate"
            EVENTS_CONSUMED.labels(self.name, record.topic, outcome).inc()
            return
        reason = f"handler failed {self.max_attempts} times: {type(failure).__name__}: {failure}"
        await self._dead_letter(record, "handler_failed", reason)

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], kind: str, reason: str
    ) -> None:
        headers = {key: value.decode(errors="replace") for key, value in record.headers}
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
        await self.dead_letters.publish(
            dead_letter_topic(record.topic), record.key or b"", record.value or b"", headers
        )
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


def subscribe(broker: KafkaBroker, consumer: EventConsumer, *topics: str) -> None:
    """Register `consumer` on `topics`: offsets are committed only after it returns."""

    async def on_message(message: KafkaMessage) -> None:
        await consumer.consume(message.raw_message)

    broker.subscriber(
        *topics,
        group_id=consumer.name,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )(on_message)
