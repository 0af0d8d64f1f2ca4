"""The shared consumption path on SQLite with a recording publisher (no broker)."""

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, select

from shared.consumer import DeliveryDeferred, EventConsumer, ignore
from shared.events import AuditGraded, CaseClosed, new_event, serialize
from shared.events.data import InadequateFound
from shared.inbox import ProcessedEvent
from shared.metrics import DEAD_LETTERS
from shared.migrations import upgrade
from shared.outbox import OutboxMessage
from tests.factories import audit_graded, every_event_data
from tests.fakes import RecordingPublisher
from tests.support import Receipt, receipts, record_receipt


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
        retry_backoff_seconds=0,
        redelivery_pause_seconds=0,
        **options,
    )


async def test_an_event_is_applied_with_its_outbox_event_in_one_transaction(engine):
    event = new_event(audit_graded(), source="/t")
    await consumer(engine, RecordingPublisher()).consume(record(serialize(event)))
    with Session(engine) as session:
        assert [r.event_id for r in receipts(session)] == [event.id]
        assert len(session.exec(select(OutboxMessage)).all()) == 1


async def test_a_duplicate_delivery_changes_nothing(engine):
    raw = serialize(new_event(audit_graded(), source="/t"))
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
        record(serialize(new_event(audit_graded(), source="/t")))
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
        record(serialize(new_event(audit_graded(), source="/t")))
    )
    assert publisher.messages == []
    with Session(engine) as session:
        assert len(receipts(session)) == 1


async def test_event_type_without_a_handler_is_dead_lettered_not_dropped(engine):
    publisher = RecordingPublisher()
    data = next(d for d in every_event_data() if isinstance(d, InadequateFound))
    await consumer(engine, publisher).consume(record(serialize(new_event(data, source="/t"))))
    assert (
        publisher.messages[0].headers["dlq-reason"] == "no handler for qa.audit.inadequate-found.v1"
    )


async def test_event_type_registered_as_ignored_is_consumed_without_effect(engine):
    publisher = RecordingPublisher()
    data = next(d for d in every_event_data() if isinstance(d, CaseClosed))
    event = new_event(data, source="/t")
    await consumer(engine, publisher).consume(record(serialize(event)))
    assert publisher.messages == []
    with Session(engine) as session:
        assert session.get(ProcessedEvent, ("unit-consumer", "/t", event.id)) is not None
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
            record(serialize(new_event(audit_graded(), source="/t")))
        )
    assert publisher.messages == []


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
