"""The scheduler on real PostgreSQL and Apache Kafka with a controlled clock."""

import asyncio
import json
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer

from services.scheduler.app import create_app
from services.scheduler.decisions import Rules
from services.scheduler.handlers import event_handlers
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store import SchedulerContext
from services.scheduler.timers import TimerService
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.db import create_db_engine
from shared.events import InadequateFound, kafka_key, serialize
from shared.events.topics import (
    AUDIT_GRADED,
    AUDIT_INADEQUATE_FOUND,
    FOLLOWUP_COMPLETED,
    FOLLOWUP_REMINDER_DUE,
    FOLLOWUP_SCHEDULED,
)
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from tests.factories import audit_graded, unique_case
from tests.integration.kafka_tools import read_all
from tests.support import from_producer, post_once_known
from tests.tokens import bearer, service_bearer
from tooling.localstack.services import ServiceProcess
from tooling.localstack.stack import StackInfo
from tooling.localstack.topics import ensure_topics

HEAD_OF_SERVICE, AUDITOR = "S0003", "S0004"
GRADED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def settings(kafka_bootstrap: str, postgres_url: str) -> SchedulerSettings:
    return SchedulerSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        outbox_poll_seconds=0.1,
        timer_poll_seconds=0.1,
    )


async def events_for(bootstrap, topic, case, expected):
    return [
        json.loads(r.value) for r in await read_all(bootstrap, topic, expected, key=case.encode())
    ]


async def mark_done(client: httpx.AsyncClient, action: dict) -> httpx.Response:
    """The action marked done by its owner, with their own token."""
    owner = action["owner_id"]
    body = {"changed_by": owner, "status": "done", "request_id": f"done-{action['id']}"}
    return await client.post(f"/actions/{action['id']}", json=body, headers=bearer(owner))


def inadequate(case: str, audit_id: str) -> InadequateFound:
    return InadequateFound(
        case_id=case,
        audit_id=audit_id,
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=GRADED,
        found_by="auditor",
    )


async def test_full_life_cycle_on_kafka_and_postgresql_with_a_controlled_clock(
    kafka_bootstrap, postgres_url
):
    await ensure_topics(kafka_bootstrap)
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    case, audit_id = unique_case(), f"AUD-{unique_case()}"
    app = create_app(settings(kafka_bootstrap, postgres_url), clock)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    async def publish(topic, data):
        event = from_producer(data)
        await producer.send_and_wait(topic, serialize(event), key=kafka_key(event))

    try:
        async with app.router.lifespan_context(app):
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://s",
                headers=bearer(HEAD_OF_SERVICE),
            )
            await publish(
                AUDIT_GRADED,
                audit_graded(
                    case,
                    "inadequate",
                    audit_id,
                    auditor_id=AUDITOR,
                    service_area="early_help",
                    team_id="EH-NORTH",
                    graded_at=GRADED,
                ),
            )
            await publish(AUDIT_INADEQUATE_FOUND, inadequate(case, audit_id))
            [scheduled] = await events_for(kafka_bootstrap, FOLLOWUP_SCHEDULED, case, 1)
            assert (scheduled["data"]["owner_id"], scheduled["data"]["due_on"]) == (
                HEAD_OF_SERVICE,
                "2026-11-30",
            )
            followup_id = scheduled["data"]["followup_id"]

            clock.at = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # two working days before
            [reminder] = await events_for(kafka_bootstrap, FOLLOWUP_REMINDER_DUE, case, 1)
            assert reminder["data"]["reminder"] == "two_working_days_before"

            clock.at = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
            due_today = (await events_for(kafka_bootstrap, FOLLOWUP_REMINDER_DUE, case, 2))[1]
            assert due_today["data"]["reminder"] == "due_today"
            held = await post_once_known(
                client,
                f"/followups/{followup_id}/reflective-conversation",
                json={
                    "held_on": "2026-11-30",
                    "recorded_by": HEAD_OF_SERVICE,
                    "attendees": [HEAD_OF_SERVICE, "S0005", "S0006"],
                    "agreed_actions": ["Update the child's plan with the family within 10 days"],
                },
            )
            assert held.status_code == 200, held.text
            assert (held.json()["step"], held.json()["due_on"]) == ("reaudit", "2027-01-11")
            assert len(await events_for(kafka_bootstrap, FOLLOWUP_SCHEDULED, case, 2)) == 2
            # The agreed action done by its owner (the case's team manager) before the re-audit,
            # so the improved re-audit completes the follow-up at once.
            [action] = held.json()["actions"]
            done = await mark_done(client, action)
            assert done.status_code == 200, done.text

            clock.at = datetime(2027, 1, 6, 12, 0, tzinfo=UTC)  # before the re-audit reminders
            await publish(
                AUDIT_GRADED,
                audit_graded(
                    case,
                    "requires_improvement",
                    f"{audit_id}-R",
                    auditor_id=AUDITOR,
                    audit_kind="reaudit",
                    reaudit_of=audit_id,
                    service_area="early_help",
                    team_id="EH-NORTH",
                    graded_at=datetime(2027, 1, 6, 11, tzinfo=UTC),
                ),
            )
            [completed] = await events_for(kafka_bootstrap, FOLLOWUP_COMPLETED, case, 1)
            assert completed["data"]["outcome"] == "improved"

            view = (await client.get(f"/followups/{followup_id}")).json()
            assert view["status"] == "completed"
            assert [line["what"] for line in view["timeline"]] == [
                "opened",
                "reflective_conversation scheduled",
                "two_working_days_before",
                "due_today",
                "reflective conversation held",
                "reaudit scheduled",
                "completed",
            ]
            stats = (
                await client.get(
                    "/stats/timeliness", params={"from_month": "2026-11", "to_month": "2026-11"}
                )
            ).json()
            mine = next(s for s in stats if s["service_area"] == "early_help")
            assert mine["conversations_on_time"] >= 1
            await client.aclose()
    finally:
        await producer.stop()


def reaudit(case: str, audit_id: str, of: str, auditor: str, at: datetime):
    return audit_graded(
        case,
        "good",
        audit_id,
        auditor_id=auditor,
        team_manager_id="S0005",
        audit_kind="reaudit",
        reaudit_of=of,
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=at,
    )


async def test_only_the_assigned_auditors_reaudit_completes_and_the_others_are_kept_as_refused(
    kafka_bootstrap, postgres_url
):
    await ensure_topics(kafka_bootstrap)
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    case, audit_id = unique_case(), f"AUD-{unique_case()}"
    app = create_app(settings(kafka_bootstrap, postgres_url), clock)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    async def publish(data):
        event = from_producer(data)
        await producer.send_and_wait(data.topic, serialize(event), key=kafka_key(event))

    try:
        async with app.router.lifespan_context(app):
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s")
            graded = audit_graded(
                case,
                "inadequate",
                audit_id,
                auditor_id=AUDITOR,
                team_manager_id="S0005",
                service_area="early_help",
                team_id="EH-NORTH",
                graded_at=GRADED,
            )
            await publish(graded)
            await publish(inadequate(case, audit_id))
            [scheduled] = await events_for(kafka_bootstrap, FOLLOWUP_SCHEDULED, case, 1)
            followup_id = scheduled["data"]["followup_id"]
            path = f"/followups/{followup_id}"
            clock.at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

            async def refused() -> list[tuple[str, str]]:
                view = (await client.get(path, headers=bearer(HEAD_OF_SERVICE))).json()
                return [(r["audit_id"], r["reason"]) for r in view["refused_reaudits"]]

            async def refused_soon(expected: int) -> list[tuple[str, str]]:
                for _ in range(100):
                    if len(found := await refused()) >= expected:
                        return found
                    await asyncio.sleep(0.1)
                return await refused()

            # Before the conversation, and by the team's own manager: neither completes it.
            await publish(reaudit(case, f"{audit_id}-R1", audit_id, AUDITOR, clock.at))
            assert await refused_soon(1) == [(f"{audit_id}-R1", "not_at_reaudit_step")]
            held = await post_once_known(
                client,
                f"{path}/reflective-conversation",
                headers=bearer(HEAD_OF_SERVICE),
                json={
                    "held_on": "2026-11-25",
                    "recorded_by": HEAD_OF_SERVICE,
                    "attendees": [HEAD_OF_SERVICE, "S0006"],
                    "agreed_actions": ["Update the plan with the family within 10 days"],
                },
            )
            assert held.json()["step"] == "reaudit", held.text
            await publish(reaudit(case, f"{audit_id}-R2", audit_id, "S0005", clock.at))
            assert (await refused_soon(2))[1:] == [(f"{audit_id}-R2", "case_team_manager")]

            moved = await client.post(
                f"{path}/reassign",
                headers=bearer("S0001"),
                json={"to": "S0018", "reason": "The auditor is on leave"},
            )
            assert moved.json()["owner_id"] == "S0018", moved.text
            announced = await events_for(kafka_bootstrap, FOLLOWUP_SCHEDULED, case, 3)
            assert [(e["data"]["action"], e["data"]["owner_id"]) for e in announced[1:]] == [
                ("reaudit", AUDITOR),
                ("reaudit", "S0018"),
            ]
            await publish(reaudit(case, f"{audit_id}-R3", audit_id, AUDITOR, clock.at))
            assert (await refused_soon(3))[2:] == [(f"{audit_id}-R3", "not_assigned_auditor")]
            [action] = held.json()["actions"]
            assert (await mark_done(client, action)).status_code == 200
            await publish(reaudit(case, f"{audit_id}-R4", audit_id, "S0018", clock.at))
            [completed] = await events_for(kafka_bootstrap, FOLLOWUP_COMPLETED, case, 1)
            assert (completed["data"]["reaudit_id"], completed["data"]["owner_id"]) == (
                f"{audit_id}-R4",
                "S0018",
            )
            await client.aclose()
    finally:
        await producer.stop()


async def test_a_timer_fired_before_a_crash_is_published_exactly_once_after_restart(
    kafka_bootstrap, postgres_url
):
    await ensure_topics(kafka_bootstrap)
    upgrade("scheduler", postgres_url)
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    engine = create_db_engine(postgres_url)
    ctx = SchedulerContext(Rules(load_organisation(), WorkingDayCalendar(), 2, 8), clock)
    case = unique_case()
    event = from_producer(inadequate(case, f"AUD-{case}"))
    process_once(engine, "scheduler", event, event_handlers(ctx)[InadequateFound])
    clock.at = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    # The process "dies" here: the timer fired and its event is committed to the outbox, but
    # no relay ever ran in it.
    assert TimerService(engine, ctx).fire_due() == 1
    engine.dispose()

    app = create_app(settings(kafka_bootstrap, postgres_url), clock)
    async with app.router.lifespan_context(app):
        reminders = await events_for(kafka_bootstrap, FOLLOWUP_REMINDER_DUE, case, 1)
        await asyncio.sleep(1)  # several timer passes: none may fire the same reminder again
        reminders = await events_for(kafka_bootstrap, FOLLOWUP_REMINDER_DUE, case, 1)
    assert len(reminders) == 1
    assert reminders[0]["data"]["reminder"] == "two_working_days_before"


async def test_two_scheduler_processes_share_the_work_and_open_one_followup(
    kafka_bootstrap, postgres_url, tmp_path
):
    await ensure_topics(kafka_bootstrap)
    replicas = [ServiceProcess("scheduler", tmp_path) for _ in range(2)]
    stack = StackInfo(
        broker="Apache Kafka",
        bootstrap_servers=kafka_bootstrap,
        idempotent_producer=True,
        database="PostgreSQL",
        database_urls={"scheduler": postgres_url},
        data_dir="/tmp",
        pid=0,
    )
    try:
        for replica in replicas:
            await asyncio.to_thread(replica.start, stack)
        case = unique_case()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            found = inadequate(case, f"AUD-{case}").model_copy(
                update={"graded_at": datetime.now(UTC)}
            )
            event = from_producer(found)
            for _ in range(2):  # delivered twice, as after a producer retry
                await producer.send_and_wait(
                    AUDIT_INADEQUATE_FOUND, serialize(event), key=kafka_key(event)
                )
        finally:
            await producer.stop()
        [scheduled] = await events_for(kafka_bootstrap, FOLLOWUP_SCHEDULED, case, 1)
        for replica in replicas:
            async with httpx.AsyncClient(base_url=replica.url, headers=service_bearer()) as client:
                listed = (await client.get("/followups", params={"status": "open"})).json()
                assert [f["id"] for f in listed if f["case_id"] == case] == [
                    scheduled["data"]["followup_id"]
                ]
    finally:
        for replica in replicas:
            replica.stop()
