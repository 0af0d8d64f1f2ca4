"""The monthly programme on real PostgreSQL and Apache Kafka: v2 case events in, a month drawn
through the API, each step of a programme audit published, and the configured-day draw made
once by two instances of the service sharing one database."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func
from sqlmodel import Session, select

from services.audit.app import create_app, event_handlers
from services.audit.models import ProgrammeRow, RegisteredCase
from services.audit.settings import AuditSettings
from shared.clock import FixedClock
from shared.db import create_db_engine
from shared.events import CaseOpenedV2, new_event, serialize
from shared.events.topics import (
    AUDIT_ALLOCATED,
    AUDIT_DECLINED,
    AUDIT_EXEMPTED,
    AUDIT_GRADED,
    AUDIT_SUBMITTED,
    CASE_EVENTS,
)
from shared.events.vocabulary import AuditDomain
from shared.inbox import process_once
from shared.migrations import upgrade
from tests.integration.kafka_tools import eventually, read_all
from tests.tokens import bearer
from tooling.localstack.topics import ensure_topics

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DOMAINS = [domain.value for domain in AuditDomain]
TEAMS = {"EH-NORTH": ("S0005", "S0006"), "FS-SOUTH": ("S0037", "S0038")}


def settings(kafka_bootstrap: str, postgres_url: str, **changes: object) -> AuditSettings:
    return AuditSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        outbox_poll_seconds=0.1,
        **({"audit_programme_draw_day": 0} | changes),
    )


async def client_of(stack: AsyncExitStack, app) -> httpx.AsyncClient:
    await stack.enter_async_context(app.router.lifespan_context(app))
    transport = httpx.ASGITransport(app=app)
    return await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url="http://audit", headers=bearer("S0004"))
    )


@pytest.fixture
async def audit_service(kafka_bootstrap, postgres_url) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(kafka_bootstrap)
    app = create_app(settings(kafka_bootstrap, postgres_url), FixedClock(NOW))
    async with AsyncExitStack() as stack:
        client = await client_of(stack, app)
        client.engine = app.state.runtime.engine  # type: ignore[attr-defined]
        yield client


async def cases_opened(bootstrap: str, per_team: int = 3) -> list[str]:
    """v2 openings from the case management system, on `case.events`."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    cases = []
    try:
        for team, (manager, practitioner) in TEAMS.items():
            for _ in range(per_team):
                case = f"CASE-{uuid.uuid4().hex[:10]}"
                opened = CaseOpenedV2(
                    case_id=case,
                    team_id=team,
                    practitioner_id=practitioner,
                    team_manager_id=manager,
                    plan_type="child_protection" if team.startswith("FS") else "early_help",
                    legal_status=None,
                    opened_on=date(2026, 9, 14),
                    closing_on=date(2027, 6, 30),
                    opened_at=datetime(2026, 9, 14, 10, tzinfo=UTC),
                )
                event = new_event(opened, source="/case-management")
                await producer.send_and_wait(CASE_EVENTS, serialize(event), key=case.encode())
                cases.append(case)
    finally:
        await producer.stop()
    return cases


def registered_before_start(postgres_url: str, per_team: int) -> list[str]:
    """Cases already in the register when the service starts (as after a restart)."""
    upgrade("audit", postgres_url)
    engine = create_db_engine(postgres_url)
    handlers = event_handlers()
    cases = []
    for team, (manager, practitioner) in TEAMS.items():
        for _ in range(per_team):
            case = f"CASE-{uuid.uuid4().hex[:10]}"
            opened = CaseOpenedV2(
                case_id=case,
                team_id=team,
                practitioner_id=practitioner,
                team_manager_id=manager,
                plan_type="child_in_need",
                opened_on=date(2026, 9, 14),
                opened_at=datetime(2026, 9, 14, 10, tzinfo=UTC),
            )
            event = new_event(opened, source="/case-management")
            process_once(engine, "audit", event, handlers[CaseOpenedV2])
            cases.append(case)
    engine.dispose()
    return cases


def registered(engine, cases: list[str]) -> bool:
    with Session(engine) as session:
        query = select(func.count()).select_from(RegisteredCase)
        return session.exec(query.where(RegisteredCase.case_id.in_(cases))).one() == len(cases)


async def published(bootstrap: str, topic: str, case_id: str, expected: int = 1) -> list[dict]:
    records = await read_all(bootstrap, topic, expected, key=case_id.encode())
    return [json.loads(record.value) for record in records]


def audit_form(allocation: dict, **changes: object) -> dict:
    return {
        "case_id": allocation["case_id"],
        "auditor_id": allocation["auditor_id"],
        "domain_grades": dict.fromkeys(DOMAINS, "good"),
        "overall_grade": "good",
        "voice_of_child": {"evidenced": True},
        "could_be_better_if": ["Record the child's own words"],
        "graded_at": "2026-11-25T10:00:00Z",
    } | changes


async def drawn_programme(client: httpx.AsyncClient, bootstrap: str) -> dict:
    cases = await cases_opened(bootstrap)
    await eventually(lambda: registered(client.engine, cases), what="the cases registered")
    answer = await client.post("/programmes", json={"month": "2026-12", "size": 4, "seed": 8123})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_month_drawn_through_the_api_publishes_one_allocation_event_each(
    audit_service, kafka_bootstrap
):
    programme = await drawn_programme(audit_service, kafka_bootstrap)
    assert (programme["open_cases"], programme["eligible_cases"]) == (6, 6)
    allocations = programme["allocations"]
    assert len(allocations) == 4
    for allocation in allocations:
        [event] = await published(kafka_bootstrap, AUDIT_ALLOCATED, allocation["case_id"])
        assert event["type"] == "qa.allocation.allocated.v1"
        assert event["data"] == {
            "case_id": allocation["case_id"],
            "allocation_id": allocation["id"],
            "programme_id": "PRG-2026-12",
            "month": "2026-12",
            "service_area": allocation["service_area"],
            "team_id": allocation["team_id"],
            "practitioner_id": TEAMS[allocation["team_id"]][1],
            "team_manager_id": TEAMS[allocation["team_id"]][0],
            "auditor_id": allocation["auditor_id"],
            "due_on": "2026-12-31",
            "allocated_by": "S0004",
            "reallocated_from": None,
            "allocated_at": "2026-11-26T12:00:00Z",
        }
    again = await audit_service.post("/programmes", json={"month": "2026-12"})
    assert again.status_code == 409


async def test_a_draft_saved_twice_and_submitted_publishes_the_submission_and_the_grade(
    audit_service, kafka_bootstrap
):
    allocation = (await drawn_programme(audit_service, kafka_bootstrap))["allocations"][0]
    auditor = {"headers": bearer(allocation["auditor_id"])}
    path = f"/allocations/{allocation['id']}"
    for draft in ({"overall_grade": "requires_improvement"}, {"overall_grade": "good"}):
        saved = await audit_service.put(f"{path}/draft", json=draft, **auditor)
        assert saved.status_code == 200, saved.text
    assert saved.json()["draft"] == {"overall_grade": "good"}
    assert saved.json()["status"] == "in_progress"
    reflection = {"text": "We agreed the plan needed dates"}
    practitioner = {"headers": bearer(allocation["practitioner_id"])}
    assert (
        await audit_service.post(f"{path}/reflections", json=reflection, **practitioner)
    ).status_code == 201
    submitted = await audit_service.post(f"{path}/submit", json=audit_form(allocation), **auditor)
    assert submitted.status_code == 201, submitted.text
    audit_id = submitted.json()["audit"]["id"]
    assert submitted.json()["allocation"]["participants"] == [
        allocation["auditor_id"],
        allocation["practitioner_id"],
    ]
    [done] = await published(kafka_bootstrap, AUDIT_SUBMITTED, allocation["case_id"])
    assert (done["data"]["allocation_id"], done["data"]["audit_id"]) == (allocation["id"], audit_id)
    [graded] = await published(kafka_bootstrap, AUDIT_GRADED, allocation["case_id"])
    assert (graded["data"]["audit_id"], graded["data"]["overall_grade"]) == (audit_id, "good")
    assert graded["data"]["auditor_id"] == allocation["auditor_id"]


async def test_a_declined_audit_is_reallocated_and_an_exempted_one_announced(
    audit_service, kafka_bootstrap
):
    allocations = (await drawn_programme(audit_service, kafka_bootstrap))["allocations"]
    first, second = allocations[0], allocations[-1]
    answer = await audit_service.post(
        f"/allocations/{first['id']}/decline",
        json={"reason": "I managed this practitioner until last month"},
        headers=bearer(first["auditor_id"]),
    )
    assert answer.status_code == 200, answer.text
    successor = answer.json()["reallocated"]
    assert successor["auditor_id"] != first["auditor_id"]
    [declined] = await published(kafka_bootstrap, AUDIT_DECLINED, first["case_id"])
    assert declined["data"]["allocation_id"] == first["id"]
    assert "reason" not in declined["data"]
    events = await published(kafka_bootstrap, AUDIT_ALLOCATED, first["case_id"], expected=2)
    assert [(e["data"]["allocation_id"], e["data"]["reallocated_from"]) for e in events] == [
        (first["id"], None),
        (successor["id"], first["id"]),
    ]

    director = "S0001" if second["service_area"] == "early_help" else "S0002"
    exempted = await audit_service.post(
        f"/allocations/{second['id']}/exempt",
        json={"reason": "The family moved out of the county"},
        headers=bearer(director),
    )
    assert exempted.status_code == 200, exempted.text
    [event] = await published(kafka_bootstrap, AUDIT_EXEMPTED, second["case_id"])
    assert (event["data"]["exempted_by"], event["data"]["allocation_id"]) == (
        director,
        second["id"],
    )
    figures = (await audit_service.get("/stats/programme", params={"month": "2026-12"})).json()
    assert (figures["allocated"], figures["exempted"], figures["declined"]) == (3, 1, 1)


async def test_two_instances_draw_the_configured_days_programme_once(kafka_bootstrap, postgres_url):
    await ensure_topics(kafka_bootstrap)
    on_the_day = FixedClock(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))  # its first working day
    each = settings(
        kafka_bootstrap, postgres_url, audit_programme_draw_day=1, audit_programme_check_seconds=0.2
    )
    cases = registered_before_start(postgres_url, per_team=2)  # all known before the draw
    apps = [create_app(each, on_the_day), create_app(each, on_the_day)]
    async with AsyncExitStack() as stack:
        clients = [await client_of(stack, app) for app in apps]
        engine = apps[0].state.runtime.engine

        def drawn() -> bool:
            with Session(engine) as session:
                return session.exec(select(ProgrammeRow)).first() is not None

        await eventually(drawn, what="the configured day's programme")
        await asyncio.sleep(1)  # several more steps of both workers
        with Session(engine) as session:
            [programme] = session.exec(select(ProgrammeRow)).all()
        assert (programme.month, programme.drawn_by, programme.eligible_cases) == (
            "2026-12",
            None,
            4,
        )
        listed = (await clients[1].get("/programmes/2026-12")).json()
    allocations = listed["allocations"]
    assert sorted(a["case_id"] for a in allocations) == sorted(cases)
    for allocation in allocations:
        [event] = await published(kafka_bootstrap, AUDIT_ALLOCATED, allocation["case_id"])
        assert event["data"]["allocated_by"] is None
