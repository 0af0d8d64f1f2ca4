"""The one way every service consumes events: parse, apply once, retry, dead-letter, commit.

For each message: the CloudEvent is parsed (malformed → dead letter at once, retrying cannot
help) and vetted (an event of another topic's type, keyed by anything but its subject, or from
a source that does not produce the topic → dead letter: see shared.events.trust); the handler
for its type runs through `process_once`, so the effect and the processed-event record commit
together. A handler that fails because of the event (a broken rule, bad data) is retried with
backoff up to `max_attempts`, then the original message and the reason go to `<topic>.dlq` and
the partition moves on. A failure of the infrastructure
(database or broker unreachable) is not the event's fault: the subscriber raises, the offset
is not committed and the message is read again after a pause, so an outage delays events and
never dead-letters good ones. The same happens when the dead-letter publish itself fails.
"""

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from sqlalchemy import Engine

from shared.db import is_infrastructure_failure
from shared.events.data import EventData
from shared.events.envelope import CloudEvent, EventParseError, parse_event
from shared.events.topics import dead_letter_topic
from shared.events.trust import EventTrust
from shared.inbox import EventHandler, process_once
from shared.kafka import EventPublisher
from shared.logging import correlated
from shared.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_RETRIES, HANDLER_SECONDS

log = logging.getLogger(__name__)

REASON_MAX_CHARS = 500
REDELIVERY_PAUSE_SECONDS = 2.0


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

    async def consume(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Process one Kafka record to the end: applied, duplicate, or dead-lettered.

        Raises `DeliveryDeferred` when it must be delivered again later.
        """
        try:
            event: CloudEvent[EventData] = parse_event(record.value or b"")
        except EventParseError as exc:
            await self._dead_letter(record, "malformed", f"malformed event: {exc}")
            return
        refusal = self.trust.refusal(record.topic, record.key, event)
        if refusal is not None:
            await self._dead_letter(record, "untrusted", refusal)
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
            except Exception as exc:  # noqa: BLE001 (classified below: retried, deferred or dead-lettered)
                failure = exc
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
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_backoff_seconds * 2 ** (attempt - 1))
                continue
            HANDLER_SECONDS.labels(self.name, record.topic).observe(time.perf_counter() - started)
            EVENTS_CONSUMED.labels(
                self.name, record.topic, "processed" if applied else "duplicate"
            ).inc()
            return
        if is_infrastructure_failure(failure):
            await self._defer(f"{type(failure).__name__} while applying {event.type}")
        reason = f"handler failed {self.max_attempts} times: {type(failure).__name__}: {failure}"
        await self._dead_letter(record, "handler_failed", reason)

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], kind: str, reason: str
    ) -> None:
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
            await self._defer(f"dead-letter publish failed: {type(exc).__name__}")
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

    async def _defer(self, why: str) -> None:
        log.error("message deferred; it will be delivered again", extra={"reason": why})
        await asyncio.sleep(self.redelivery_pause_seconds)  # no hot loop while an outage lasts
        raise DeliveryDeferred(why)


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """Leave decoding to `parse_event`: FastStream's own JSON decoding would fail before us."""
    return message.body


def subscribe(broker: KafkaBroker, consumer: EventConsumer, *topics: str) -> None:
    """Register `consumer` on `topics`: offsets are committed only after it returns."""

    async def on_message(message: KafkaMessage) -> None:
        await consumer.consume(message.raw_message)

    broker.subscriber(
        *topics,
        group_id=consumer.name,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
    )(on_message)
