"""The Kafka adapter: one way to build a broker and to publish, for every service."""

import logging
from typing import Protocol

from faststream.kafka import KafkaBroker

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


class EventPublisher(Protocol):
    """Publishes one message and returns only once the broker has acknowledged it."""

    async def publish(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str] | None = None
    ) -> None: ...


def make_broker(
    bootstrap_servers: str, *, client_id: str, idempotent_producer: bool = True
) -> KafkaBroker:
    """A FastStream broker whose producer waits for all in-sync replicas (acks=all).

    The idempotent producer is on for Apache Kafka; only the memory-only Tansu fallback,
    which refuses it, turns it off (KAFKA_IDEMPOTENT_PRODUCER=false).
    """
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=idempotent_producer,
        # One line per message would drown the logs: those go to DEBUG; failures stay visible.
        log_level=logging.DEBUG,
    )


class BrokerPublisher:
    """`EventPublisher` over a FastStream broker."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str] | None = None
    ) -> None:
        await self._broker.publish(
            value,
            topic=topic,
            key=key,
            headers={"content-type": CLOUDEVENTS_CONTENT_TYPE, **(headers or {})},
        )
