"""Batches: one transaction for many events, a poison event isolated, order kept (SQLite)."""

from dataclasses import replace
from functools import partial

from sqlalchemy import event as sa_event
from sqlmodel import Session, col, select

from shared.db import after_commit, read_ahead
from shared.events import serialize
from shared.inbox import ProcessedEvent, process_batch, reads_ahead, reads_only_its_subject
from shared.outbox import OutboxMessage, add_event
from tests.factories import audit_graded
from tests.fakes import RecordingPublisher
from tests.support import Receipt, from_producer, receipts, record_receipt
from tests.unit.test_consumer import consumer, engine, record

__all__ = ["engine"]  # the fixture, shared with test_consumer


def events(count: int) -> list:
    return [from_producer(audit_graded()) for _ in range(count)]


def records(batch: list) -> list:
    return [record(serialize(e), offset=i) for i, e in enumerate(batch)]


def commits_of(engine) -> list[int]:
    seen: list[int] = []
    sa_event.listen(engine, "commit", lambda _connection: seen.append(1))
    return seen


async def test_a_batch_is_applied_in_order_with_one_commit(engine):
    batch = events(20)
    commits = commits_of(engine)
    await consumer(engine, RecordingPublisher()).consume_batch(records(batch))
    assert len(commits) == 1
    with Session(engine) as session:
        assert [r.event_id for r in receipts(session)] == [e.id for e in batch]


async def test_a_poison_event_is_dead_lettered_and_the_rest_of_its_batch_applied_in_order(engine):
    batch = events(6)
    poison = batch[2].id
    applied: list[str] = []

    def handler(session, event):
        if event.id == poison:
            raise ValueError("a rule this event breaks")
        record_receipt(session, event)
        after_commit(session, lambda: applied.append(event.id))

    publisher = RecordingPublisher()
    await consumer(engine, publisher, handler, max_attempts=2).consume_batch(records(batch))
    wanted = [e.id for e in batch if e.id != poison]
    with Session(engine) as session:
        assert [r.event_id for r in receipts(session)] == wanted
    # What ran in a rolled-back attempt was not counted: each effect once, in order.
    assert applied == wanted
    [dead] = publisher.messages
    assert dead.headers["dlq-original-offset"] == "2"
    assert dead.headers["dlq-reason"].startswith("handler failed 2 times: ValueError")


async def test_the_same_event_twice_in_a_batch_is_applied_once(engine):
    [one] = events(1)
    await consumer(engine, RecordingPublisher()).consume_batch(records([one, one]))
    with Session(engine) as session:
        assert [r.event_id for r in receipts(session)] == [one.id]


async def test_a_batch_redelivered_after_a_partial_commit_changes_nothing(engine):
    batch = events(4)
    subject = consumer(engine, RecordingPublisher())
    await subject.consume_batch(records(batch[:2]))
    await subject.consume_batch(records(batch))  # Kafka gives the whole batch again
    with Session(engine) as session:
        assert [r.event_id for r in receipts(session)] == [e.id for e in batch]


def statements_of(engine) -> list[str]:
    seen: list[str] = []
    sa_event.listen(
        engine, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement)
    )
    return seen


async def test_a_batchs_outbox_messages_and_processed_records_are_one_insert_each_in_order(
    engine,
):
    batch = events(20)
    poison = batch[5].id

    def handler(session, event):
        add_event(session, event)  # an event out for each event in
        if event.id == poison:
            raise ValueError("a rule this event breaks")

    statements = statements_of(engine)
    publisher = RecordingPublisher()
    await consumer(engine, publisher, handler, max_attempts=1).consume_batch(records(batch))

    wanted = [e.id for e in batch if e.id != poison]
    with Session(engine) as session:
        outbox = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        processed = session.exec(select(ProcessedEvent)).all()
    assert [row.event_id for row in outbox] == wanted  # the poison event's message rolled back
    assert {row.event_id for row in processed} == set(wanted)
    inserts = [s.split("(")[0].strip() for s in statements if s.startswith("INSERT")]
    # The five before the poison event, then the fourteen after it: one statement per table
    # per transaction, however many rows.
    assert inserts == ["INSERT INTO outbox", "INSERT INTO processed_events"] * 2
    assert [m.headers["dlq-original-offset"] for m in publisher.messages] == ["5"]


async def test_a_handler_reading_only_its_case_writes_a_batchs_rows_together_yet_sees_its_case(
    engine,
):
    cases = ["CASE-A", "CASE-B", "CASE-C", "CASE-A", "CASE-D"]
    batch = [from_producer(audit_graded(case, audit_id=f"AUD-{n}")) for n, case in enumerate(cases)]
    keyed = [replace(r, key=e.subject.encode()) for r, e in zip(records(batch), batch, strict=True)]
    before: dict[str, int] = {}

    @reads_only_its_subject
    def handler(session, event):
        query = select(Receipt).where(Receipt.case_id == event.subject)
        before[event.id] = len(session.exec(query).all())
        record_receipt(session, event)

    flushes: list[int] = []

    def flushed(*_):
        flushes.append(1)

    publisher = RecordingPublisher()
    sa_event.listen(Session, "after_flush", flushed)
    try:
        await consumer(engine, publisher, handler).consume_batch(keyed)
    finally:
        sa_event.remove(Session, "after_flush", flushed)

    assert publisher.messages == []
    # The second event of CASE-A sees the first one's receipt: a repeated case flushes first.
    assert [before[e.id] for e in batch] == [0, 0, 0, 1, 0]
    # One flush before the repeated case (three events' rows), one at the commit (the other
    # two's); unmarked, the session flushes before each event's query: four, then the commit.
    assert len(flushes) == 2
    with Session(engine) as session:
        assert sorted(r.case_id for r in receipts(session)) == sorted(cases)


async def test_what_a_batch_reads_ahead_is_taken_once_by_its_event_and_never_after_its_case_changed(
    engine,
):
    cases = ["CASE-A", "CASE-B", "CASE-A", "CASE-C", "CASE-D", "CASE-E"]
    batch = [from_producer(audit_graded(case, audit_id=f"AUD-{n}")) for n, case in enumerate(cases)]
    read_for: list[list[str]] = []

    def read(session, events):
        read_for.append([e.id for e in events])
        for e in events:
            read_ahead(session).keep(e, "its row", f"read ahead for {e.subject}")

    taken: list[tuple[str, ...]] = []

    def take(session, event):
        ahead = read_ahead(session)
        first = ahead.take("its row", lambda: "read")
        again = ahead.take("its row", lambda: "read")
        taken.append((first, again))

    marked = reads_ahead(read)(reads_only_its_subject(partial(take)))
    # CASE-C's handler may change any case's rows: nothing read ahead is trusted after it.
    unmarked = reads_ahead(read)(partial(take))
    handlers = [marked, marked, marked, unmarked, marked, marked]
    handled = list(zip(batch, handlers, strict=True))
    process_batch(engine, "unit-consumer", handled[1:2])  # CASE-B's event, applied before
    assert process_batch(engine, "unit-consumer", handled) == [True, False, True, True, True, True]

    assert read_for[-1] == [e.id for i, e in enumerate(batch) if i != 1]  # once, those to apply
    assert taken[-5:] == [
        ("read ahead for CASE-A", "read"),  # taken once, by its own event, then read
        ("read", "read"),  # the second CASE-A: read after the first changed it
        ("read ahead for CASE-C", "read"),
        ("read", "read"),  # CASE-D, after CASE-C's unmarked handler
        ("read", "read"),  # CASE-E likewise
    ]


def test_an_event_takes_only_what_was_read_ahead_for_it(engine):
    first, second = (from_producer(audit_graded(case)) for case in ("CASE-A", "CASE-B"))
    taken: list[str] = []

    def read(session, events):
        for e in events:
            read_ahead(session).keep(e, ("row of", e.subject), "read ahead")

    def take(session, event):
        ahead = read_ahead(session)
        other = "CASE-B" if event.subject == "CASE-A" else "CASE-A"
        taken.append(ahead.take(("row of", other), lambda: "read"))
        taken.append(ahead.take(("row of", event.subject), lambda: "read"))

    handler = reads_ahead(read)(reads_only_its_subject(partial(take)))
    process_batch(engine, "unit-consumer", [(first, handler), (second, handler)])
    # Another event's row, read before this one's handler changed anything, is read afresh.
    assert taken == ["read", "read ahead", "read", "read ahead"]
