"""Programme allocations on real Apache Kafka and PostgreSQL (and SQLite where the body is the
same): AuditAllocated in, reminders then escalations to the auditor's line manager out; a
submission stopping them; and each timer fired exactly once across two replicas, a race with
its settlement, and a restart."""

import asyncio
from datetime import UTC, date, datetime
from functools import partial

from aiokafka import AIOKafkaProducer
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.scheduler.app import create_app
from services.scheduler.decisions import Rules
from services.scheduler.handlers import event_handlers
from services.scheduler.models import AllocationRecord, Timer
from services.scheduler.store import SchedulerContext
from services.scheduler.timers import TimerService
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.db import create_db_engine
from shared.events import (
    AuditAllocated,
    AuditSubmitted,
    EventData,
    kafka_key,
    new_event,
    serialize,
)
from shared.events.topics import AUDIT_OVERDUE, AUDIT_REMINDER_DUE
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from tests.factories import unique_case
from tests.integration.scheduler.test_actions_on_kafka import fire_on_both
from tests.integration.scheduler.test_concurrent_replicas import at_once
from tests.integration.scheduler.test_concurrent_replicas import replicas as replicas
from tests.integration.scheduler.test_scheduler_service import events_for, settings
from tests.support import from_producer
from tooling.localstack.topics import ensure_topics

EH_HEAD, EH_SOUTH_MANAGER = "S0003", "S0009"
ALLOCATED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday 2 November 2026
DUE_ON = date(2026, 11, 30)  # Monday: reminders Thursday 26th and the 30th, overdue 1 December


def allocated(case: str, allocation_id: str) -> AuditAllocated:
    """An early help case of EH-NORTH given to the manager of EH-SOUTH."""
    return AuditAllocated(
        case_id=case,
        allocation_id=allocation_id,
        programme_id="PRG-2026-11",
        month="2026-11",
        service_area="early_help",
        team_id="EH-NORTH",
        practitioner_id="S0006",
        team_manager_id="S0005",
        auditor_id=EH_SOUTH_MANAGER,
        due_on=DUE_ON,
        allocated_by=None,
        allocated_at=ALLOCATED_AT,
    )


def submitted(of: AuditAllocated, at: datetime) -> AuditSubmitted:
    fields = of.model_dump(exclude={"allocated_by", "reallocated_from", "allocated_at"})
    return AuditSubmitted(**fields, audit_id=f"AUD-{of.allocation_id}", submitted_at=at)


def allocation_timers(engine: Engine, allocation_id: str) -> list[Timer]:
    with Session(engine) as session:
        query = select(Timer).where(Timer.allocation_id == allocation_id).order_by(col(Timer.id))
        return list(session.exec(query).all())


async def until_settled(engine: Engine, allocation_id: str) -> None:
    """Wait until the scheduler has consumed the allocation and its settlement (on two topics,
    so in either order): settled, and no live timer left."""
    for _ in range(150):
        with Session(engine) as session:
            row = session.get(AllocationRecord, allocation_id)
        rows = allocation_timers(engine, allocation_id)
        if (
            row is not None
            and row.allocated_at is not None
            and row.status != "allocated"
            and all(t.cancelled or t.fired_at is not None for t in rows)
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{allocation_id} was never settled")


async def test_an_allocation_is_reminded_then_escalated_and_a_submission_stops_its_timers(
    kafka_bootstrap, postgres_url
):
    await ensure_topics(kafka_bootstrap)
    clock = FixedClock(ALLOCATED_AT)
    late, prompt = unique_case(), unique_case()
    chased, done = allocated(late, f"ALC-{late}"), allocated(prompt, f"ALC-{prompt}")
    app = create_app(settings(kafka_bootstrap, postgres_url), clock)
    engine = create_db_engine(postgres_url)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    async def publish(data: EventData) -> None:
        event = from_producer(data)
        await producer.send_and_wait(data.topic, serialize(event), key=kafka_key(event))

    try:
        async with app.router.lifespan_context(app):
            await publish(chased)
            await publish(done)
            await publish(submitted(done, datetime(2026, 11, 20, 15, tzinfo=UTC)))
            await until_settled(engine, done.allocation_id)

            clock.at = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)  # two working days before
            [reminder] = await events_for(kafka_bootstrap, AUDIT_REMINDER_DUE, late, 1)
            assert reminder["type"] == "qa.allocation.reminder-due.v1"
            assert (reminder["data"]["allocation_id"], reminder["data"]["reminder"]) == (
                chased.allocation_id,
                "two_working_days_before",
            )
            clock.at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
            due_today = (await events_for(kafka_bootstrap, AUDIT_REMINDER_DUE, late, 2))[1]
            assert due_today["data"]["reminder"] == "due_today"

            clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
            [overdue] = await events_for(kafka_bootstrap, AUDIT_OVERDUE, late, 1)
            assert overdue["type"] == "qa.allocation.overdue.v1"
            assert (overdue["data"]["escalated_to_id"], overdue["data"]["auditor_id"]) == (
                EH_HEAD,
                EH_SOUTH_MANAGER,
            )
            assert overdue["data"]["working_days_overdue"] == 1
            clock.at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # every 2 working days
            repeat = (await events_for(kafka_bootstrap, AUDIT_OVERDUE, late, 2))[1]
            assert repeat["data"]["working_days_overdue"] == 3

            await publish(submitted(chased, datetime(2026, 12, 3, 15, tzinfo=UTC)))
            await until_settled(engine, chased.allocation_id)
            clock.at = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
            await asyncio.sleep(1)  # several timer passes: nothing more is due
            assert len(await events_for(kafka_bootstrap, AUDIT_OVERDUE, late, 2)) == 2
            assert len(await events_for(kafka_bootstrap, AUDIT_REMINDER_DUE, late, 2)) == 2
        # The audit submitted before its due date was never reminded nor chased.
        assert await events_for(kafka_bootstrap, AUDIT_REMINDER_DUE, prompt, 0) == []
        assert await events_for(kafka_bootstrap, AUDIT_OVERDUE, prompt, 0) == []
        # Its timers, if its allocation came before its submission, were all called off.
        never = [t for t in allocation_timers(engine, done.allocation_id) if not t.cancelled]
        assert never == []
    finally:
        await producer.stop()
        engine.dispose()


def test_two_replicas_chase_each_late_audit_once_and_a_restart_not_again(replicas):
    replicas.clock.at = ALLOCATED_AT
    allocations = [allocated(f"CASE-ALC-{n}", f"ALC-R{n}") for n in range(20)]
    for data in allocations:
        # Each allocation reaches both replicas at once, in two envelopes (a replay).
        at_once(partial(replicas.deliver, 0, data), partial(replicas.deliver, 1, data))
    # Tuesday 1 December: both reminders and the first escalation are due.
    replicas.clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    fired = fire_on_both(replicas)
    events = replicas.events(AUDIT_REMINDER_DUE, AUDIT_OVERDUE)
    assert sum(fired) == len(events) == 60
    assert all(fired), f"both replicas should have fired timers: {fired}"
    keys = {(e["data"]["allocation_id"], e["type"], e["data"].get("reminder")) for e in events}
    assert len(keys) == 60  # no timer fired twice
    assert {e["data"]["escalated_to_id"] for e in events if "overdue" in e["type"]} == {EH_HEAD}

    # A restart: new connections, the same database. What fired stays fired; the repeat
    # escalation two working days on fires once.
    url = replicas.engines[0].url.render_as_string(hide_password=False)
    restarted = create_db_engine(url)
    try:
        again = TimerService(restarted, replicas.ctx)
        assert again.fire_due() == 0
        replicas.clock.at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
        assert again.fire_due() == 20
        assert again.fire_due() == 0
    finally:
        restarted.dispose()
    repeats = replicas.events(AUDIT_OVERDUE)[20:]
    assert len({e["data"]["allocation_id"] for e in repeats}) == len(repeats) == 20
    assert {e["data"]["working_days_overdue"] for e in repeats} == {3}


def test_a_submission_racing_its_allocation_on_another_replica_leaves_no_live_timer(replicas):
    replicas.clock.at = ALLOCATED_AT
    for n in range(20):
        data = allocated(f"CASE-RACE-{n}", f"ALC-RACE-{n}")
        done = submitted(data, datetime(2026, 11, 3, 10, tzinfo=UTC))
        first, second = (data, done) if n % 2 else (done, data)
        at_once(partial(replicas.deliver, 0, first), partial(replicas.deliver, 1, second))
    with Session(replicas.engines[0]) as session:
        rows = session.exec(select(Timer).where(Timer.allocation_id != "")).all()
    assert [t for t in rows if not t.cancelled] == []
    replicas.clock.at = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
    assert fire_on_both(replicas) == [0, 0]
    assert replicas.events(AUDIT_REMINDER_DUE, AUDIT_OVERDUE) == []


async def test_an_escalation_fired_before_a_crash_is_published_exactly_once_after_restart(
    kafka_bootstrap, postgres_url
):
    await ensure_topics(kafka_bootstrap)
    upgrade("scheduler", postgres_url)
    clock = FixedClock(ALLOCATED_AT)
    engine = create_db_engine(postgres_url)
    ctx = SchedulerContext(Rules(load_organisation(), WorkingDayCalendar(), 2, 8), clock)
    case = unique_case()
    data = allocated(case, f"ALC-{case}")
    event = new_event(data, source="/tests")
    process_once(engine, "scheduler", event, event_handlers(ctx)[AuditAllocated])
    clock.at = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    # The process "dies" here: both reminders and the escalation fired and their events are
    # committed to the outbox, but no relay ever ran in it.
    assert TimerService(engine, ctx).fire_due() == 3
    engine.dispose()

    app = create_app(settings(kafka_bootstrap, postgres_url), clock)
    async with app.router.lifespan_context(app):
        await events_for(kafka_bootstrap, AUDIT_OVERDUE, case, 1)
        await asyncio.sleep(1)  # several timer passes: none may fire the same timer again
        overdue = await events_for(kafka_bootstrap, AUDIT_OVERDUE, case, 1)
        reminders = await events_for(kafka_bootstrap, AUDIT_REMINDER_DUE, case, 2)
    assert len(overdue) == 1
    assert overdue[0]["data"]["escalated_to_id"] == EH_HEAD
    assert [r["data"]["reminder"] for r in reminders] == ["two_working_days_before", "due_today"]
