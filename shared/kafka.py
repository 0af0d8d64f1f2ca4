"""The Kafka adapter: one way to build a broker and to publish, for every service."""

import asyncio
import logging
import ssl
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from shared.settings import KafkaSecurity, SettingsError

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
BROKER_LOGGER = "faststream.access.kafka"


class Outgoing(NamedTuple):
    topic: str
    key: bytes
    value: bytes


class EventPublisher(Protocol):
    """Publishes messages and returns only once the broker has acknowledged them."""

    async def publish(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str] | None = None
    ) -> None: ...

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """All of `messages`, in order per partition; returns when every one is acknowledged."""
        ...


class OneAtATime:
    """`publish_many` as one `publish` after another: for publishers that send nothing at once."""

    async def publish(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str] | None = None
    ) -> None:
        raise NotImplementedError

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        for message in messages:
            await self.publish(*message)


def broker_security(security: KafkaSecurity | None) -> BaseSecurity | None:
    """The FastStream security object for `security`: None for PLAINTEXT, else SCRAM over TLS.

    The TLS context verifies the broker's certificate chain and host name (the CA bundle of
    KAFKA_SSL_CAFILE, else the system's), so credentials are only ever offered to the broker.
    """
    if security is None or security.protocol == "PLAINTEXT":
        return None
    problems = security.problems()
    if problems or security.username is None or security.password is None:
        raise SettingsError("; ".join(problems))
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(security.cafile) if security.cafile else None
    )
    scram = SASLScram512 if security.mechanism == "SCRAM-SHA-512" else SASLScram256
    return scram(security.username, security.password.get_secret_value(), ssl_context=context)


def client_options(security: KafkaSecurity | None) -> dict[str, Any]:
    """The same security as keyword arguments for plain aiokafka clients (admin, consumer...)."""
    return parse_security(broker_security(security))


def make_broker(
    bootstrap_servers: str,
    *,
    client_id: str,
    idempotent_producer: bool = True,
    security: KafkaSecurity | None = None,
) -> KafkaBroker:
    """A FastStream broker whose producer waits for all in-sync replicas (acks=all).

    The idempotent producer is on for Apache Kafka; only the memory-only Tansu fallback,
    which refuses it, turns it off (KAFKA_IDEMPOTENT_PRODUCER=false). `security` applies to
    the producer and to every subscriber of the broker.
    """
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=idempotent_producer,
        security=broker_security(security),
        # One line per message would drown the logs: those go to DEBUG; failures stay visible.
        log_level=logging.DEBUG,
        # A plain logger of ours: left to itself FastStream makes one with a coloured console
        # handler of its own, outside the JSON lines (shared.logging).
        logger=logging.getLogger(BROKER_LOGGER),
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

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        # Handed to the producer without waiting for each acknowledgement, so a batch travels in
        # a few requests. Order per partition holds: aiokafka keeps one request in flight per
        # partition, and the idempotent producer keeps it across retries.
        sent = [
            await self._broker.publish(
                value,
                topic=topic,
                key=key,
                headers={"content-type": CLOUDEVENTS_CONTENT_TYPE},
                no_confirm=True,
            )
            for topic, key, value in messages
        ]
        await asyncio.gather(*sent)
