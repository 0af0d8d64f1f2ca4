"""The shipped Kafka ACLs on a real Apache Kafka broker with the StandardAuthorizer on.

The broker is set up as the compose `kafka-setup` job sets it up: the contract's topics and
tooling.kafka_acls' bindings, applied over SASL_SSL by the super user. Then each principal
is tried: a service writes its own topics and reads what it consumes in its own group, and
the broker refuses it any other topic or group; the case management system writes
`case.events` only.
"""

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError
from pydantic import SecretStr

from services.catalogue import BY_NAME
from shared.events import topics
from shared.events.topics import dead_letter_topic
from shared.kafka import client_options
from shared.settings import KafkaSecurity
from tests.integration.kafka_tools import start_secured
from tooling.kafka_acls import KafkaAdminSettings, principals, set_up_cluster
from tooling.localstack.kafka import KafkaServer, ScramUser

ADMIN = "admin"
PASSWORDS = {name: f"pw-{name}-{uuid.uuid4().hex}" for name in [ADMIN, *principals()]}


@pytest.fixture(scope="module")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaServer]:
    users = [ScramUser(name, SecretStr(password)) for name, password in PASSWORDS.items()]
    server = start_secured(
        KafkaServer(
            tmp_path_factory.mktemp("kafka-acls"),
            scram=users[0],
            more_scram_users=tuple(users[1:]),
            acl_super_user=ADMIN,
        )
    )
    settings = KafkaAdminSettings(
        kafka_bootstrap_servers=server.sasl_ssl_bootstrap_servers,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username=ADMIN,
        kafka_sasl_password=SecretStr(PASSWORDS[ADMIN]),
        kafka_ssl_cafile=server.ca_file,
    )
    try:
        asyncio.run(set_up_cluster(settings))
        yield server
    finally:
        server.stop()


def as_principal(server: KafkaServer, name: str) -> dict[str, object]:
    security = KafkaSecurity(
        protocol="SASL_SSL",
        username=name,
        password=SecretStr(PASSWORDS[name]),
        cafile=server.ca_file,
    )
    return {"bootstrap_servers": server.sasl_ssl_bootstrap_servers, **client_options(security)}


async def publish(server: KafkaServer, principal: str, topic: str, value: bytes) -> None:
    """Publish as the services do: idempotent, acknowledged by all in-sync replicas."""
    producer = AIOKafkaProducer(
        **as_principal(server, principal), acks="all", enable_idempotence=True
    )
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=b"CASE-ACL"), 60)
    finally:
        await producer.stop()


async def first_value_seen(
    server: KafkaServer, principal: str, topic: str, group: str | None
) -> bytes:
    consumer = AIOKafkaConsumer(
        topic,
        **as_principal(server, principal),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        record = await asyncio.wait_for(consumer.getone(), 60)
        if group is not None:
            await consumer.commit()  # committing offsets is what a group is for
        return bytes(record.value or b"")
    finally:
        await consumer.stop()


async def test_a_service_writes_its_own_topics_and_is_refused_any_other(secured_kafka):
    await publish(secured_kafka, "audit", topics.AUDIT_GRADED, b"graded")
    await publish(secured_kafka, "audit", topics.AUDIT_INADEQUATE_FOUND, b"inadequate")
    # The forgery of the attack: a ModerationCompleted from someone who is not moderation.
    with pytest.raises(TopicAuthorizationFailedError):
        await publish(secured_kafka, "audit", topics.MODERATION_COMPLETED, b"forged")
    with pytest.raises(TopicAuthorizationFailedError):
        await publish(secured_kafka, "notifications", topics.FOLLOWUP_SCHEDULED, b"forged")


async def test_a_service_reads_what_it_consumes_in_its_own_group_only(secured_kafka):
    value = f"completed-{uuid.uuid4().hex}".encode()
    await publish(secured_kafka, "moderation", topics.MODERATION_COMPLETED, value)
    scheduler = BY_NAME["scheduler"].consumer_group
    seen = await first_value_seen(
        secured_kafka, "scheduler", topics.MODERATION_COMPLETED, scheduler
    )
    assert seen == value
    with pytest.raises(GroupAuthorizationFailedError):
        await first_value_seen(
            secured_kafka, "scheduler", topics.MODERATION_COMPLETED, "qa-moderation"
        )


async def test_a_service_may_not_read_a_topic_it_does_not_consume(secured_kafka):
    # Notifications consumes audit.graded in its group, but never moderation.completed.
    group = BY_NAME["notifications"].consumer_group
    with pytest.raises(TopicAuthorizationFailedError):
        await first_value_seen(secured_kafka, "notifications", topics.MODERATION_COMPLETED, group)


async def test_a_consumer_writes_the_dead_letter_topic_of_what_it_consumes_only(secured_kafka):
    await publish(
        secured_kafka, "scheduler", dead_letter_topic(topics.MODERATION_COMPLETED), b"bad"
    )
    with pytest.raises(TopicAuthorizationFailedError):
        await publish(secured_kafka, "scheduler", dead_letter_topic(topics.CASE_EVENTS), b"bad")


async def test_the_case_management_system_writes_case_events_and_nothing_else(secured_kafka):
    await publish(secured_kafka, "case-management", topics.CASE_EVENTS, b"case opened")
    for topic in (topics.AUDIT_GRADED, topics.MODERATION_COMPLETED, topics.FOLLOWUP_OVERDUE):
        with pytest.raises(TopicAuthorizationFailedError):
            await publish(secured_kafka, "case-management", topic, b"forged")
    # It reads nothing: no consumer group of its own, and no Read on any topic.
    with pytest.raises(GroupAuthorizationFailedError):
        await first_value_seen(secured_kafka, "case-management", topics.CASE_EVENTS, "qa-audit")
    with pytest.raises(TopicAuthorizationFailedError):
        await first_value_seen(secured_kafka, "case-management", topics.CASE_EVENTS, None)
