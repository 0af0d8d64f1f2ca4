"""The shared consumption path on Apache Kafka and PostgreSQL: idempotent, dead-lettering."""

import uuid

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel

from shared.consumer import EventConsumer, subscribe
from shared.events import AuditGraded, new_event, serialize
from shared.events.trust import EventTrust
from shared.kafka import BrokerPublisher, make_broker
from shared.metrics import EVENTS_CONSUMED
from shared.migrations import upgrade
from tests.factories import audit_graded, unique_case
from tests.integration.kafka_tools import (
    committed_offsets,
    eventually,
    fresh_topic,
    read_all,
    topic_size,
)
from tests.support import Receipt, from_producer, receipts, record_receipt


@pytest.fixture
def engine(postgres_url, postgres_engine):
    upgrade("audit", postgres_url)
    SQLModel.metadata.create_all(postgres_engine, tables=[Receipt.__table__])
    return postgres_engine


@pytest.fixture
async def producer(kafka_bootstrap):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    yield producer
    await producer.stop()


async def run_consumer(kafka_bootstrap, engine, topic, handler=record_receipt, dead_letters=None):
    group = f"test-group-{uuid.uuid4().hex[:8]}"
    broker = make_broker(kafka_bootstrap, client_id=group)
    consumer = EventConsumer(
        name=group,
        engine=engine,
        dead_letters=dead_letters or BrokerPublisher(broker),
        redelivery_pause_seconds=0.2,
        handlers={AuditGraded: handler},
        # The fresh topic stands for audit.graded: its type, written by the audit service.
        trust=EventTrust(
            types={topic: frozenset({AuditGraded.event_type})},
            sources={topic: frozenset({"/qa/audit"})},
        ),
        max_attempts=2,
        retry_backoff_seconds=0.05,
    )
    subscribe(broker, consumer, topic)
    await broker.start()
    return broker, group


def receipt_count(engine) -> int:
    with Session(engine) as session:
        return len(receipts(session))


async def test_a_duplicate_delivery_changes_nothing(kafka_bootstrap, engine, producer):
    topic = await fresh_topic(kafka_bootstrap)
    case = unique_case()
    value = serialize(from_producer(audit_graded(case)))
    for _ in range(2):
        await producer.send_and_wait(topic, value, key=case.encode(), partition=0)
    broker, group = await run_consumer(kafka_bootstrap, engine, topic)
    try:
        duplicates = EVENTS_CONSUMED.labels(group, topic, "duplicate")
        await eventually(lambda: duplicates._value.get() == 1, what="the duplicate to be seen")
        assert receipt_count(engine) == 1
        await eventually(
            lambda: _committed(kafka_bootstrap, group, topic, {0: 2}),
            what="offsets committed past both deliveries",
        )
    finally:
        await broker.stop()


async def test_poison_message_is_dead_lettered_and_later_messages_on_its_partition_still_flow(
    kafka_bootstrap, engine, producer
):
    topic = await fresh_topic(kafka_bootstrap)
    case = unique_case()
    before = serialize(from_producer(audit_graded(case)))
    after = serialize(from_producer(audit_graded(case)))
    for value in (before, b'{"specversion": "1.0", "type": "qa.audit.graded.v1"', after):
        await producer.send_and_wait(topic, value, key=case.encode(), partition=0)

    broker, group = await run_consumer(kafka_bootstrap, engine, topic)
    try:
        await eventually(lambda: receipt_count(engine) == 2, what="both good events applied")
        [dead] = await read_all(kafka_bootstrap, f"{topic}.dlq", expected=1)
        headers = {key: value.decode() for key, value in dead.headers}
        assert dead.value == b'{"specversion": "1.0", "type": "qa.audit.graded.v1"'
        assert dead.key == case.encode()
        assert headers["dlq-reason"].startswith("malformed event: not valid JSON")
        assert headers["dlq-original-offset"] == "1"
        assert headers["dlq-consumer"] == group
        await eventually(
            lambda: _committed(kafka_bootstrap, group, topic, {0: 3}),
            what="the partition to move past the poison message",
        )
    finally:
        await broker.stop()


async def test_event_whose_handler_keeps_failing_is_dead_lettered_after_bounded_retries(
    kafka_bootstrap, engine, producer
):
    topic = await fresh_topic(kafka_bootstrap)
    case = unique_case()
    attempts = []

    def refuse(session, event):
        attempts.append(event.id)
        raise RuntimeError("rule violated")

    value = serialize(from_producer(audit_graded(case)))
    await producer.send_and_wait(topic, value, key=case.encode(), partition=0)
    broker, _group = await run_consumer(kafka_bootstrap, engine, topic, handler=refuse)
    try:
        [dead] = await read_all(kafka_bootstrap, f"{topic}.dlq", expected=1)
        assert dead.value == value
        assert (
            dict(dead.headers)["dlq-reason"]
            == b"handler failed 2 times: RuntimeError: rule violated"
        )
        assert len(attempts) == 2
        assert receipt_count(engine) == 0
    finally:
        await broker.stop()


async def _committed(bootstrap, group, topic, expected):
    offsets = await committed_offsets(bootstrap, group, topic)
    return all(offsets.get(partition) == offset for partition, offset in expected.items())


async def test_a_database_outage_delays_an_event_and_never_dead_letters_it(
    kafka_bootstrap, engine, producer
):
    topic = await fresh_topic(kafka_bootstrap)
    case = unique_case()
    calls = []

    def database_comes_back(session, event):
        calls.append(event.id)
        if len(calls) <= 3:  # the first delivery (2 attempts) and one more attempt fail
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database restarting"))
        record_receipt(session, event)

    value = serialize(from_producer(audit_graded(case)))
    await producer.send_and_wait(topic, value, key=case.encode(), partition=0)
    broker, group = await run_consumer(kafka_bootstrap, engine, topic, database_comes_back)
    try:
        await eventually(
            lambda: receipt_count(engine) == 1, what="the event applied after the outage"
        )
        await eventually(
            lambda: _committed(kafka_bootstrap, group, topic, {0: 1}),
            what="the offset committed once applied",
        )
        assert len(calls) == 4
        assert await topic_size(kafka_bootstrap, f"{topic}.dlq") == 0
    finally:
        await broker.stop()


class DeadLetterTopicDownOnce:
    """The real dead-letter publisher, refusing its first call as an unreachable broker would."""

    def __init__(self) -> None:
        self.calls = 0
        self.publisher: BrokerPublisher | None = None

    async def publish(self, topic, key, value, headers=None):
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("broker unreachable")
        await self.publisher.publish(topic, key, value, headers)


async def test_a_poison_message_whose_dead_lettering_fails_is_delivered_again_not_skipped(
    kafka_bootstrap, engine, producer
):
    topic = await fresh_topic(kafka_bootstrap)
    case = unique_case()
    await producer.send_and_wait(topic, b"not an event", key=case.encode(), partition=0)
    dead_letters = DeadLetterTopicDownOnce()
    broker, group = await run_consumer(kafka_bootstrap, engine, topic, dead_letters=dead_letters)
    dead_letters.publisher = BrokerPublisher(broker)
    try:
        [dead] = await read_all(kafka_bootstrap, f"{topic}.dlq", expected=1)
        assert dead.value == b"not an event"
        assert dead_letters.calls == 2
        await eventually(
            lambda: _committed(kafka_bootstrap, group, topic, {0: 1}),
            what="the offset committed only after the dead letter was written",
        )
    finally:
        await broker.stop()


async def test_an_event_from_a_stranger_is_dead_lettered_and_its_offset_committed(
    kafka_bootstrap, engine, producer
):
    topic = await fresh_topic(kafka_bootstrap)
    case = unique_case()
    forged = serialize(new_event(audit_graded(case), source="/somebody-else"))
    await producer.send_and_wait(topic, forged, key=case.encode(), partition=0)
    broker, group = await run_consumer(kafka_bootstrap, engine, topic)
    try:
        [dead] = await read_all(kafka_bootstrap, f"{topic}.dlq", expected=1, key=case.encode())
        assert dict(dead.headers)["dlq-reason"] == (
            f"source /somebody-else does not produce topic {topic}".encode()
        )
        await eventually(
            lambda: _committed(kafka_bootstrap, group, topic, {0: 1}),
            what="the partition to move past the forged event",
        )
        assert receipt_count(engine) == 0
    finally:
        await broker.stop()
