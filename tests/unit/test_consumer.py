"""The shared consumption path on SQLite with a recording publisher (no broker)."""

import logging

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, select

from shared.consumer import DeliveryDeferred, EventConsumer, ignore
from shared.dependency_state import DATABASE
from shared.events import AuditGraded, CaseClosed, new_event, serialize
from shared.events.data import InadequateFound
from shared.events.trust import EventTrust
from shared.inbox import ProcessedEvent
from shared.metrics import DEAD_LETTERS
from shared.migrations import upgrade
from shared.outbox import OutboxMessage
from tests.factories import audit_graded, every_event_data
from tests.fakes import RecordingPublisher
from tests.support import CASE_MANAGEMENT_SOURCE, Receipt, from_producer, receipts, record_receipt


def record(value: bytes, offset: int = 7, topic: str = "audit.graded") -> ConsumerRecord:
    return ConsumerRecord(
        topic=topic,
        partition=1,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"CASE-000123",
        value=value,
        checksum=None,
        serialized_key_size=11,
        serialized_value_size=len(value),
        headers=[("trace", b"abc")],
    )


@pytest.fixture
def engine(sqlite_engine, tmp_path):
    upgrade("audit", str(sqlite_engine.url))
    SQLModel.metadata.create_all(sqlite_engine, tables=[Receipt.__table__])
    return sqlite_engine


def consumer(engine, publisher, handler=record_receipt, **options):
    return EventConsumer(
        name="unit-consumer",
        engine=engine,
        dead_letters=publisher,
        handlers={AuditGraded: handler, CaseClosed: ignore},
        trust=EventTrust.of_contract(CASE_MANAGEMENT_SOURCE),
        retry_backoff_seconds=0,
        redelivery_pause_seconds=0,
        **options,
    )


async def test_an_event_is_applied_with_its_outbox_event_in_one_transaction(engine):
    event = from_producer(audit_graded())
    await consumer(engine, RecordingPublisher()).consume(record(serialize(event)))
    with Session(engine) as session:
        assert [r.event_id for r in receipts(session)] == [event.id]
        assert len(session.exec(select(OutboxMessage)).all()) == 1


async def test_a_duplicate_delivery_changes_nothing(engine):
    raw = serialize(from_producer(audit_graded()))
    subject = consumer(engine, RecordingPublisher())
    await subject.consume(record(raw, offset=1))
    await subject.consume(record(raw, offset=2))
    with Session(engine) as session:
        assert len(receipts(session)) == 1
        assert len(session.exec(select(OutboxMessage)).all()) == 1


async def test_malformed_message_goes_to_the_dead_letter_topic_with_its_reason(engine):
    publisher = RecordingPublisher()
    before = DEAD_LETTERS.labels("unit-consumer", "audit.graded", "malformed")._value.get()
    await consumer(engine, publisher).consume(record(b'{"type": "qa.audit.graded.v1"}'))
    [dead] = publisher.messages
    assert dead.topic == "audit.graded.dlq"
    assert dead.value == b'{"type": "qa.audit.graded.v1"}'
    assert dead.key == b"CASE-000123"
    assert dead.headers["dlq-reason"].startswith(
        "malformed event: specversion: Field required; id: Field required"
    )
    assert dead.headers["dlq-original-offset"] == "7"
    assert dead.headers["trace"] == "abc"
    assert (
        DEAD_LETTERS.labels("unit-consumer", "audit.graded", "malformed")._value.get() == before + 1
    )


async def test_failing_handler_is_retried_then_dead_lettered_and_nothing_is_half_applied(engine):
    attempts = []

    def explode(session, event):
        session.add(Receipt(event_id=event.id, case_id=event.subject))
        attempts.append(event.id)
        raise RuntimeError("downstream rule broke")

    publisher = RecordingPublisher()
    await consumer(engine, publisher, explode, max_attempts=3).consume(
        record(serialize(from_producer(audit_graded())))
    )
    assert len(attempts) == 3
    [dead] = publisher.messages
    assert (
        dead.headers["dlq-reason"] == "handler failed 3 times: RuntimeError: downstream rule broke"
    )
    with Session(engine) as session:
        assert receipts(session) == []


async def test_a_handler_that_recovers_within_its_attempts_is_applied_once(engine):
    calls = []

    def flaky(session, event):
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("database restarting")
        record_receipt(session, event)

    publisher = RecordingPublisher()
    await consumer(engine, publisher, flaky).consume(
        record(serialize(from_producer(audit_graded())))
    )
    assert publisher.messages == []
    with Session(engine) as session:
        assert len(receipts(session)) == 1


async def test_event_type_without_a_handler_is_dead_lettered_not_dropped(engine):
    publisher = RecordingPublisher()
    data = next(d for d in every_event_data() if isinstance(d, InadequateFound))
    await consumer(engine, publisher).consume(
        record(serialize(from_producer(data)), topic=data.topic)
    )
    assert (
        publisher.messages[0].headers["dlq-reason"] == "no handler for qa.audit.inadequate-found.v1"
    )


async def test_event_type_registered_as_ignored_is_consumed_without_effect(engine):
    publisher = RecordingPublisher()
    data = next(d for d in every_event_data() if isinstance(d, CaseClosed))
    event = from_producer(data)
    await consumer(engine, publisher).consume(record(serialize(event), topic=data.topic))
    assert publisher.messages == []
    with Session(engine) as session:
        assert session.get(ProcessedEvent, ("unit-consumer", event.source, event.id)) is not None
        assert receipts(session) == []


async def test_when_the_dead_letter_topic_is_unreachable_the_message_is_deferred(engine):
    # The subscriber must raise so the offset is not committed and the message comes again.
    with pytest.raises(DeliveryDeferred, match="dead-letter publish failed: ConnectionError"):
        await consumer(engine, RecordingPublisher(fail_after=0)).consume(record(b"garbage"))


async def test_a_database_outage_defers_the_event_instead_of_dead_lettering_it(engine):
    def database_down(session, event):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    publisher = RecordingPublisher()
    with pytest.raises(DeliveryDeferred, match="OperationalError while applying"):
        await consumer(engine, publisher, database_down, max_attempts=2).consume(
            record(serialize(from_producer(audit_graded())))
        )
    assert publisher.messages == []


async def test_a_database_outage_is_logged_once_not_once_per_attempt_and_delivery(engine, caplog):
    outage = {"on": True}

    def handler(session, event):
        if outage["on"]:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))
        record_receipt(session, event)

    DATABASE.succeeded()  # whatever an earlier test left, the database is there to begin with
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    events = consumer(engine, RecordingPublisher(), handler, max_attempts=3)
    delivered = record(serialize(from_producer(audit_graded())))
    for _ in range(4):  # the batch is read again after each pause while the outage lasts
        with pytest.raises(DeliveryDeferred):
            await events.consume(delivered)
    outage["on"] = False
    await events.consume(delivered)

    loud = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [
        ("shared.dependency_state", "database unavailable"),
        ("shared.dependency_state", "database available again"),
    ]
    with Session(engine) as session:
        assert len(receipts(session)) == 1


@pytest.mark.parametrize(
    "value",
    [
        b'{"n": ' + b"9" * 5000 + b"}",  # int too large for Python's JSON decoder
        b"[" * 100_000 + b"]" * 100_000,  # nested past the recursion limit
        b"\xff\xfe not utf-8",
        b"",
    ],
    ids=["huge-int", "deep-nesting", "not-utf8", "empty"],
)
async def test_any_unparseable_value_is_dead_lettered_not_retried_forever(engine, value):
    publisher = RecordingPublisher()
    await consumer(engine, publisher).consume(record(value))
    assert publisher.messages[0].headers["dlq-reason"].startswith("malformed event: ")


async def test_headers_without_values_survive_dead_lettering(engine):
    publisher = RecordingPublisher()
    message = record(b"garbage")
    message.headers.append(("empty", None))
    await consumer(engine, publisher).consume(message)
    assert publisher.messages[0].headers["empty"] == ""


def test_at_least_one_attempt_is_required(engine):
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        consumer(engine, RecordingPublisher(), max_attempts=0)


def _keyed(value: bytes, key: bytes | None, topic: str = "audit.graded") -> ConsumerRecord:
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=1,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=[],
    )


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (
            _keyed(serialize(from_producer(audit_graded())), key=None),
            "the message has no key; it must be the event's subject",
        ),
        (
            _keyed(serialize(from_producer(audit_graded())), key=b"CASE-999999"),
            "the message key is not the event's subject",
        ),
        (
            # A real type on a topic it does not belong to: handled by type alone, this once
            # sent real "reflective conversation due" emails.
            _keyed(
                serialize(from_producer(audit_graded())), key=b"CASE-000123", topic="case.events"
            ),
            "type qa.audit.graded.v1 does not belong on topic case.events",
        ),
        (
            # Moderation does not grade audits: only the audit service writes audit.graded.
            _keyed(serialize(new_event(audit_graded(), source="/qa/moderation")), b"CASE-000123"),
            "source /qa/moderation does not produce topic audit.graded",
        ),
        (
            _keyed(serialize(new_event(audit_graded(), source="/attacker")), b"CASE-000123"),
            "source /attacker does not produce topic audit.graded",
        ),
    ],
    ids=["no key", "key not subject", "type of another topic", "another service", "stranger"],
)
async def test_an_event_not_to_be_believed_is_dead_lettered_with_why_and_not_applied(
    engine, sent, reason
):
    publisher = RecordingPublisher()
    before = DEAD_LETTERS.labels("unit-consumer", sent.topic, "untrusted")._value.get()
    await consumer(engine, publisher).consume(sent)
    [dead] = publisher.messages
    assert dead.headers["dlq-reason"] == reason
    assert dead.topic == f"{sent.topic}.dlq"
    assert DEAD_LETTERS.labels("unit-consumer", sent.topic, "untrusted")._value.get() == before + 1
    with Session(engine) as session:
        assert receipts(session) == []
        assert session.exec(select(ProcessedEvent)).all() == []


def test_case_events_are_believed_only_from_the_configured_case_management_system():
    trust = EventTrust.of_contract("/council/cms")
    closed = next(d for d in every_event_data() if isinstance(d, CaseClosed))
    key = closed.subject.encode()
    assert trust.refusal("case.events", key, new_event(closed, source="/council/cms")) is None
    assert trust.refusal("case.events", key, new_event(closed, source="/qa/audit")) == (
        "source /qa/audit does not produce topic case.events"
    )
