"""The audit service on real PostgreSQL and Apache Kafka, driven through its HTTP API."""

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.audit.app import create_app
from services.audit.domain import AuditForm
from services.audit.handlers import Submission, submit_audit
from services.audit.settings import AuditSettings
from shared.clock import FixedClock
from shared.db import create_db_engine, transaction
from shared.events import CaseOpened, FollowUpScheduled, new_event, serialize
from shared.events.topics import (
    AUDIT_GRADED,
    AUDIT_INADEQUATE_FOUND,
    CASE_EVENTS,
    FOLLOWUP_SCHEDULED,
    MODERATION_REQUESTED,
)
from shared.migrations import upgrade
from shared.organisation import load_organisation
from tests.factories import followup_event, moderation_requested, unique_case
from tests.integration.kafka_tools import eventually, read_all
from tests.tokens import bearer
from tooling.localstack.topics import ensure_topics

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
"""The services' clock: the audits below are graded within the year before it."""
DOMAINS = (
    "assessment",
    "planning",
    "visits",
    "voice_of_child",
    "management_oversight",
    "recording",
)


def audit_body(case_id: str, grade: str = "inadequate", **changes) -> dict:
    body = {
        "case_id": case_id,
        "auditor_id": "S0003",
        "team_id": "EH-NORTH",
        "practitioner_id": "S0006",
        "domain_grades": dict.fromkeys(DOMAINS, grade),
        "overall_grade": grade,
        "voice_of_child": {"evidenced": False, "note": "Wishes not recorded"},
        "could_be_better_if": ["The plan named who does what by when"],
        "themes": ["planning"],
        "graded_at": "2026-11-20T14:00:00Z",
    }
    body.update(changes)
    return body


@pytest.fixture
async def audit_service(kafka_bootstrap, postgres_url):
    await ensure_topics(kafka_bootstrap)
    settings = AuditSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        outbox_poll_seconds=0.1,
        audit_programme_draw_day=0,  # no programme drawn behind these tests' backs
    )
    app = create_app(settings, FixedClock(NOW))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://audit", headers=bearer("S0003")
        ) as client:
            yield client


async def events_for(bootstrap: str, topic: str, case_id: str, expected: int) -> list[dict]:
    records = await read_all(bootstrap, topic, expected, key=case_id.encode())
    return [json.loads(record.value) for record in records]


async def test_an_inadequate_audit_yields_one_audit_graded_and_one_inadequate_found(
    audit_service, kafka_bootstrap
):
    case = unique_case()
    response = await audit_service.post("/audits", json=audit_body(case))
    assert response.status_code == 201, response.text
    audit_id = response.json()["id"]
    assert response.headers["location"] == f"/audits/{audit_id}"

    [graded] = await events_for(kafka_bootstrap, AUDIT_GRADED, case, 1)
    [found] = await events_for(kafka_bootstrap, AUDIT_INADEQUATE_FOUND, case, 1)
    assert graded["type"] == "qa.audit.graded.v1"
    assert graded["subject"] == case
    assert graded["data"] == {
        "case_id": case,
        "audit_id": audit_id,
        "audit_kind": "learning",
        "reaudit_of": None,
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "area": "north",
        "practitioner_id": "S0006",
        "team_manager_id": "S0005",
        "auditor_id": "S0003",
        "overall_grade": "inadequate",
        "domain_grades": dict.fromkeys(DOMAINS, "inadequate"),
        "voice_of_child_evidenced": False,
        "could_be_better_if": [],  # withdrawn from the contract: the text stays here
        "themes": ["planning"],
        "graded_at": "2026-11-20T14:00:00Z",
    }
    assert found["type"] == "qa.audit.inadequate-found.v1"
    assert found["data"] == {
        "case_id": case,
        "audit_id": audit_id,
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "graded_at": "2026-11-20T14:00:00Z",
        "found_by": "auditor",
    }
    assert found["correlationid"] == graded["correlationid"] == audit_id
    metrics = (await audit_service.get("/metrics")).text
    assert (
        'qa_audits_graded_total{grade="inadequate",kind="learning",service_area="early_help"}'
        in metrics
    )
    assert "qa_learning_audits_monthly_target 50.0" in metrics


async def test_a_retried_post_with_the_same_key_yields_no_duplicate(audit_service, kafka_bootstrap):
    case = unique_case()
    key = str(uuid.uuid4())
    first = await audit_service.post(
        "/audits", json=audit_body(case), headers={"Idempotency-Key": key}
    )
    again = await audit_service.post(
        "/audits", json=audit_body(case), headers={"Idempotency-Key": key}
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await events_for(kafka_bootstrap, AUDIT_GRADED, case, 1)) == 1
    assert len(await events_for(kafka_bootstrap, AUDIT_INADEQUATE_FOUND, case, 1)) == 1
    listed = await audit_service.get("/audits", params={"team_id": "EH-NORTH"})
    assert [a["id"] for a in listed.json()] == [first.json()["id"]]


async def test_the_same_key_for_a_different_audit_is_refused(audit_service):
    key = str(uuid.uuid4())
    case = unique_case()
    await audit_service.post("/audits", json=audit_body(case), headers={"Idempotency-Key": key})
    changed = await audit_service.post(
        "/audits", json=audit_body(case, "good"), headers={"Idempotency-Key": key}
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_rule_violations_answer_422_naming_each_field(audit_service):
    response = await audit_service.post(
        "/audits",
        json=audit_body(unique_case(), team_id="NOWHERE", graded_at="2099-01-01T00:00:00Z"),
    )
    assert response.status_code == 422
    named = {tuple(d["loc"]): d["msg"] for d in response.json()["errors"]}
    assert set(named) == {("body", "team_id"), ("body", "graded_at")}


async def test_an_audit_is_recorded_only_in_the_callers_own_name(audit_service):
    response = await audit_service.post(
        "/audits", json=audit_body(unique_case(), auditor_id="S0017")
    )
    assert response.status_code == 403
    assert "auditor_id must be your own staff id (S0003)" in response.json()["detail"]


async def test_grade_statistics_match_a_hand_computed_month(audit_service):
    # June 2026, county and by service area, counted by hand:
    #   early_help: good, requires_improvement x2, inadequate            -> 4
    #   family_safeguarding (FS-SOUTH): outstanding, requires_improvement -> 2
    seeded = [
        ("EH-NORTH", "S0006", "good"),
        ("EH-NORTH", "S0006", "requires_improvement"),
        ("EH-SOUTH", "S0010", "requires_improvement"),
        ("EH-SOUTH", "S0010", "inadequate"),
        ("FS-SOUTH", "S0038", "outstanding"),
        ("FS-SOUTH", "S0038", "requires_improvement"),
    ]
    for day, (team, practitioner, grade) in enumerate(seeded, start=1):
        response = await audit_service.post(
            "/audits",
            json=audit_body(
                unique_case(),
                grade,
                team_id=team,
                practitioner_id=practitioner,
                graded_at=f"2026-06-{day:02d}T09:00:00Z",
            ),
        )
        assert response.status_code == 201, response.text
    await audit_service.post(
        "/audits", json=audit_body(unique_case(), graded_at="2026-07-01T09:00:00Z")
    )

    county = (
        await audit_service.get(
            "/stats/grades", params={"from_month": "2026-06", "to_month": "2026-06"}
        )
    ).json()
    assert county == [
        {
            "month": "2026-06",
            "group": "county",
            "total": 6,
            "counts": {"outstanding": 1, "good": 1, "requires_improvement": 3, "inadequate": 1},
            "percentages": {
                "outstanding": 16.7,
                "good": 16.7,
                "requires_improvement": 50.0,
                "inadequate": 16.7,
            },
        }
    ]
    by_area = (
        await audit_service.get(
            "/stats/grades",
            params={"from_month": "2026-06", "to_month": "2026-07", "by": "service_area"},
        )
    ).json()
    assert [(b["month"], b["group"], b["total"]) for b in by_area] == [
        ("2026-06", "early_help", 4),
        ("2026-06", "family_safeguarding", 2),
        ("2026-07", "early_help", 1),
    ]
    assert by_area[1]["percentages"]["outstanding"] == 50.0
    june = (
        await audit_service.get(
            "/audits", params={"month": "2026-06", "grade": "requires_improvement"}
        )
    ).json()
    assert len(june) == 3


async def test_case_register_defaults_the_team_fields_and_dead_letters_malformed_case_events(
    audit_service, kafka_bootstrap
):
    case = unique_case()
    opened = new_event(
        CaseOpened(
            case_id=case,
            team_id="AI-SOUTH",
            practitioner_id="S0024",
            team_manager_id="S0023",
            opened_at="2026-11-01T09:00:00Z",
        ),
        source="/case-management",
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            CASE_EVENTS, b'{"type": "qa.case.opened.v1", "garbage": true}', key=case.encode()
        )
        await producer.send_and_wait(CASE_EVENTS, serialize(opened), key=case.encode())
    finally:
        await producer.stop()

    body = audit_body(case, "good")
    del body["team_id"], body["practitioner_id"]
    await eventually(lambda: _registered(audit_service, case), what="the case to be registered")
    response = await audit_service.post("/audits", json=body)
    assert response.status_code == 201, response.text
    audit = response.json()
    assert (
        audit["team_id"],
        audit["service_area"],
        audit["practitioner_id"],
        audit["team_manager_id"],
    ) == ("AI-SOUTH", "assessment_intervention", "S0024", "S0023")
    [dead] = await read_all(kafka_bootstrap, f"{CASE_EVENTS}.dlq", 1, key=case.encode())
    assert dict(dead.headers)["dlq-reason"].startswith(b"malformed event:")


async def test_the_moderator_assigned_on_kafka_may_then_open_the_audit(
    audit_service, kafka_bootstrap
):
    posted = await audit_service.post("/audits", json=audit_body(unique_case()))
    assert posted.status_code == 201, posted.text
    audit = posted.json()
    path = f"/audits/{audit['id']}"
    moderator = {"headers": bearer("S0018")}  # a service manager, no lead of early_help
    assert (await audit_service.get(path, **moderator)).status_code == 403
    assert (await audit_service.get("/audits", **moderator)).json() == []
    requested = new_event(
        moderation_requested(audit["id"], "S0018", case_id=audit["case_id"]),
        source="/qa/moderation",
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            MODERATION_REQUESTED, serialize(requested), key=audit["case_id"].encode()
        )
    finally:
        await producer.stop()

    async def opens() -> bool:
        return (await audit_service.get(path, **moderator)).status_code == 200

    await eventually(opens, what="the moderator to be able to open the audit")
    listed = (await audit_service.get("/audits", **moderator)).json()
    assert [a["id"] for a in listed] == [audit["id"]]


async def test_an_audit_committed_before_a_restart_is_published_once_after_it(
    kafka_bootstrap, postgres_url
):
    await ensure_topics(kafka_bootstrap)
    case = unique_case()
    upgrade("audit", postgres_url)
    engine = create_db_engine(postgres_url)
    form = AuditForm.model_validate(audit_body(case))
    with transaction(engine) as session:  # committed, never relayed: the process "died" here
        sent = Submission(form, caller_id="S0003")
        audit, _ = submit_audit(session, sent, load_organisation(), NOW)
    engine.dispose()

    app = create_app(
        AuditSettings(
            kafka_bootstrap_servers=kafka_bootstrap,
            database_url=postgres_url,
            outbox_poll_seconds=0.1,
        )
    )
    async with app.router.lifespan_context(app):
        graded = await events_for(kafka_bootstrap, AUDIT_GRADED, case, 1)
        found = await events_for(kafka_bootstrap, AUDIT_INADEQUATE_FOUND, case, 1)
    assert [e["data"]["audit_id"] for e in graded] == [audit.id]
    assert [e["data"]["audit_id"] for e in found] == [audit.id]


async def _registered(client: httpx.AsyncClient, case: str) -> bool:
    """True once a team-less audit of `case` would pass: a dry probe with a bad grade date."""
    body = audit_body(case, graded_at="2099-01-01T00:00:00Z")
    del body["team_id"], body["practitioner_id"]
    fields = {d["loc"][1] for d in (await client.post("/audits", json=body)).json()["errors"]}
    return "team_id" not in fields


async def test_out_of_range_dates_are_refused_not_crashing(audit_service):
    stats = await audit_service.get(
        "/stats/grades", params={"from_month": "9999-12", "to_month": "9999-12"}
    )
    assert stats.status_code == 422
    ancient = await audit_service.post(
        "/audits", json=audit_body(unique_case(), graded_at="0001-01-01T00:00:00+14:00")
    )
    assert ancient.status_code == 422
    assert ancient.json()["errors"][0]["loc"] == ["body", "graded_at"]


async def test_a_reaudit_is_accepted_once_the_scheduler_says_its_step_started(
    audit_service, kafka_bootstrap
):
    case = unique_case()
    as_isla = {"headers": bearer("S0009")}  # EH-SOUTH's manager, auditing an EH-NORTH case
    first = (
        await audit_service.post("/audits", json=audit_body(case, auditor_id="S0009"), **as_isla)
    ).json()
    reaudit = audit_body(
        case, "good", auditor_id="S0009", audit_kind="reaudit", reaudit_of=first["id"]
    )
    refused = await audit_service.post("/audits", json=reaudit, **as_isla)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "reaudit_of"]

    step = followup_event(
        FollowUpScheduled,
        case_id=case,
        audit_id=first["id"],
        action="reaudit",
        owner_id="S0009",
        scheduled_at=NOW,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        event = new_event(step, source="/qa/scheduler")
        await producer.send_and_wait(FOLLOWUP_SCHEDULED, serialize(event), key=case.encode())
    finally:
        await producer.stop()

    async def accepted() -> bool:
        answer = await audit_service.post("/audits", json=reaudit, **as_isla)
        return answer.status_code == 201

    await eventually(accepted, what="the re-audit to be accepted")
