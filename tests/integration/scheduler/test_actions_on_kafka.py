"""Agreed actions on real Apache Kafka and PostgreSQL (and SQLite where the body is the same):
their events on their topics, an improved follow-up held open until its last action settles,
and each reminder and escalation fired exactly once across two replicas and a restart."""

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
from aiokafka import AIOKafkaProducer

from services.scheduler.app import create_app
from services.scheduler.conversation import ConversationForm
from services.scheduler.decisions import Rules
from services.scheduler.handlers import event_handlers, record_conversation
from services.scheduler.store import SchedulerContext, followup_of
from services.scheduler.timers import TimerService
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.db import create_db_engine, transaction
from shared.events import EventData, kafka_key, new_event, serialize
from shared.events.topics import (
    ACTION_AGREED,
    ACTION_COMPLETED,
    ACTION_OVERDUE,
    ACTION_REMINDER_DUE,
    FOLLOWUP_COMPLETED,
    FOLLOWUP_SCHEDULED,
)
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from tests.factories import audit_graded, unique_case
from tests.integration.scheduler.test_concurrent_replicas import Replicas, at_once
from tests.integration.scheduler.test_concurrent_replicas import replicas as replicas
from tests.integration.scheduler.test_scheduler_service import (
    AUDITOR,
    GRADED,
    HEAD_OF_SERVICE,
    events_for,
    inadequate,
    mark_done,
    settings,
)
from tests.support import from_producer, post_once_known
from tests.tokens import bearer
from tooling.localstack.topics import ensure_topics

TEAM_MANAGER, PRACTITIONER = "S0005", "S0006"
MEETING = {"what": "Book a strategy meeting", "owner_id": PRACTITIONER, "due_on": "2026-12-04"}


def graded(case: str, audit_id: str, grade: str = "inadequate", **changes: object) -> EventData:
    fields: dict[str, object] = {
        "auditor_id": AUDITOR,
        "team_manager_id": TEAM_MANAGER,
        "practitioner_id": PRACTITIONER,
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "graded_at": GRADED,
        **changes,
    }
    return audit_graded(case, grade, audit_id, **fields)


async def test_actions_agreed_in_a_conversation_are_published_and_hold_an_improved_followup(
    kafka_bootstrap, postgres_url
):
    await ensure_topics(kafka_bootstrap)
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    case, audit_id = unique_case(), f"AUD-{unique_case()}"
    app = create_app(settings(kafka_bootstrap, postgres_url), clock)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    async def publish(data: EventData) -> None:
        event = from_producer(data)
        await producer.send_and_wait(data.topic, serialize(event), key=kafka_key(event))

    try:
        async with app.router.lifespan_context(app):
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://s",
                headers=bearer(HEAD_OF_SERVICE),
            )
            await publish(graded(case, audit_id))
            await publish(inadequate(case, audit_id))
            [scheduled] = await events_for(kafka_bootstrap, FOLLOWUP_SCHEDULED, case, 1)
            path = f"/followups/{scheduled['data']['followup_id']}"

            clock.at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
            held = await post_once_known(
                client,
                f"{path}/reflective-conversation",
                json={
                    "held_on": "2026-11-25",
                    "recorded_by": HEAD_OF_SERVICE,
                    "attendees": [HEAD_OF_SERVICE, TEAM_MANAGER, PRACTITIONER],
                    "agreed_actions": ["Update the plan with the family", MEETING],
                },
            )
            assert held.status_code == 200, held.text
            visit, meeting = held.json()["actions"]
            agreed = await events_for(kafka_bootstrap, ACTION_AGREED, case, 2)
            assert [(e["data"]["action_id"], e["data"]["owner_id"]) for e in agreed] == [
                (visit["id"], TEAM_MANAGER),
                (meeting["id"], PRACTITIONER),
            ]
            assert [e["type"] for e in agreed] == ["qa.action.agreed.v1"] * 2

            clock.at = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)  # two working days before
            [reminder] = await events_for(kafka_bootstrap, ACTION_REMINDER_DUE, case, 1)
            assert (reminder["data"]["action_id"], reminder["data"]["reminder"]) == (
                meeting["id"],
                "two_working_days_before",
            )

            reaudit = graded(
                case, f"{audit_id}-R", "good", reaudit_of=audit_id, audit_kind="reaudit"
            )
            await publish(reaudit.model_copy(update={"graded_at": clock.at}))
            for _ in range(100):  # the improved re-audit is accepted but held
                if (await client.get(path)).json()["reaudit_id"] is not None:
                    break
                await asyncio.sleep(0.1)
            waiting = (await client.get(path)).json()
            assert (waiting["status"], waiting["outcome"]) == ("open", None)

            assert (await mark_done(client, visit)).status_code == 200
            assert (await client.get(path)).json()["status"] == "open"  # one still open
            assert (await mark_done(client, meeting)).status_code == 200
            [completed] = await events_for(kafka_bootstrap, FOLLOWUP_COMPLETED, case, 1)
            assert (completed["data"]["outcome"], completed["data"]["reaudit_id"]) == (
                "improved",
                f"{audit_id}-R",
            )
            done = await events_for(kafka_bootstrap, ACTION_COMPLETED, case, 2)
            assert {e["data"]["action_id"] for e in done} == {visit["id"], meeting["id"]}
            await client.aclose()
    finally:
        await producer.stop()


def agree_on_replica(replicas: Replicas, audit_id: str) -> None:
    """A finding, its grading and a conversation agreeing one action due Friday 4 December."""
    case = f"CASE-{audit_id}"
    replicas.deliver(0, graded(case, audit_id))
    replicas.deliver(0, inadequate(case, audit_id))
    form = ConversationForm.model_validate(
        {
            "held_on": "2026-11-25",
            "recorded_by": HEAD_OF_SERVICE,
            "attendees": [HEAD_OF_SERVICE],
            "agreed_actions": [MEETING],
        }
    )
    with transaction(replicas.engines[0]) as session:
        followup = followup_of(session, audit_id)
        assert followup is not None
        record_conversation(session, followup.id, form, replicas.ctx)


def fire_on_both(replicas: Replicas) -> list[int]:
    """Both replicas' timer passes, round after round at the same moments, until none fires."""
    services = [TimerService(engine, replicas.ctx, batch_size=7) for engine in replicas.engines]
    fired, last = [0, 0], [0, 0]
    rounds = threading.Barrier(2, timeout=60)

    def replica(index: int) -> Callable[[], None]:
        def fire() -> None:
            while True:
                rounds.wait()
                last[index] = services[index].fire_due()
                fired[index] += last[index]
                rounds.wait()
                if not any(last):
                    return

        return fire

    at_once(replica(0), replica(1))
    return fired


def test_two_replicas_fire_each_action_reminder_and_escalation_once_and_a_restart_none_again(
    replicas,
):
    replicas.clock.at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    for n in range(20):
        agree_on_replica(replicas, f"AUD-A{n}")
    # Monday 7 December: both reminders (2nd and 4th) and the first escalation are due.
    replicas.clock.at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    fired = fire_on_both(replicas)
    events = replicas.events(ACTION_REMINDER_DUE, ACTION_OVERDUE)
    assert sum(fired) == len(events) == 60
    assert all(fired), f"both replicas should have fired timers: {fired}"
    keys = {(e["data"]["action_id"], e["type"], e["data"].get("reminder")) for e in events}
    assert len(keys) == 60  # no timer fired twice
    assert {e["data"]["escalated_to_id"] for e in events if "overdue" in e["type"]} == {
        TEAM_MANAGER
    }

    # A restart: new connections, the same database. What fired stays fired; the repeat
    # escalation two working days on fires once.
    url = replicas.engines[0].url.render_as_string(hide_password=False)
    restarted = create_db_engine(url)
    try:
        again = TimerService(restarted, replicas.ctx)
        assert again.fire_due() == 0
        replicas.clock.at = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
        assert again.fire_due() == 20
        assert again.fire_due() == 0
    finally:
        restarted.dispose()
    repeats = replicas.events(ACTION_OVERDUE)[20:]
    assert len({e["data"]["action_id"] for e in repeats}) == len(repeats) == 20
    assert {e["data"]["working_days_overdue"] for e in repeats} == {3}


async def test_an_escalation_fired_before_a_crash_is_published_exactly_once_after_restart(
    kafka_bootstrap, postgres_url
):
    await ensure_topics(kafka_bootstrap)
    upgrade("scheduler", postgres_url)
    clock = FixedClock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    engine = create_db_engine(postgres_url)
    ctx = SchedulerContext(Rules(load_organisation(), WorkingDayCalendar(), 2, 8), clock)
    handlers = event_handlers(ctx)
    case = unique_case()
    audit_id = f"AUD-{case}"
    for data in (graded(case, audit_id), inadequate(case, audit_id)):
        process_once(engine, "scheduler", new_event(data, source="/tests"), handlers[type(data)])
    form = ConversationForm(
        held_on=date(2026, 11, 25),
        recorded_by=HEAD_OF_SERVICE,
        attendees=[HEAD_OF_SERVICE],
        agreed_actions=[MEETING],
    )
    with transaction(engine) as session:
        followup = followup_of(session, audit_id)
        assert followup is not None
        record_conversation(session, followup.id, form, ctx)
    clock.at = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    # The process "dies" here: both reminders and the escalation fired and their events are
    # committed to the outbox, but no relay ever ran in it.
    assert TimerService(engine, ctx).fire_due() == 3
    engine.dispose()

    app = create_app(settings(kafka_bootstrap, postgres_url), clock)
    async with app.router.lifespan_context(app):
        await events_for(kafka_bootstrap, ACTION_OVERDUE, case, 1)
        await asyncio.sleep(1)  # several timer passes: none may fire the same timer again
        overdue = await events_for(kafka_bootstrap, ACTION_OVERDUE, case, 1)
        reminders = await events_for(kafka_bootstrap, ACTION_REMINDER_DUE, case, 2)
    assert len(overdue) == 1
    assert overdue[0]["data"]["escalated_to_id"] == TEAM_MANAGER
    assert [r["data"]["reminder"] for r in reminders] == ["two_working_days_before", "due_today"]
