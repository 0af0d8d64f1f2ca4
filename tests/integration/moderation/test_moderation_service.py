"""The moderation service on real PostgreSQL and Apache Kafka: AuditGraded in, decisions out."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.moderation.app import create_app
from services.moderation.settings import ModerationSettings
from shared.calendar import uk_month
from shared.events import kafka_key, new_event, serialize
from shared.events.topics import (
    AUDIT_GRADED,
    AUDIT_INADEQUATE_FOUND,
    MODERATION_COMPLETED,
    MODERATION_DISAGREED,
    MODERATION_REQUESTED,
    MODERATION_SAMPLING_RATE_CHANGED,
)
from tests.factories import audit_graded, unique_case
from tests.integration.kafka_tools import eventually, read_all
from tests.tokens import ActsAsNamedPerson
from tooling.localstack.topics import ensure_topics

AUDITOR, TEAM_MANAGER, ASSISTANT_DIRECTOR, PRACTITIONER = "S0003", "S0005", "S0001", "S0006"
OTHER_AD = "S0002"  # assistant director of care leavers, family safeguarding, children we care for


@pytest.fixture
async def moderation_service(kafka_bootstrap, postgres_url):
    await ensure_topics(kafka_bootstrap)
    settings = ModerationSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        outbox_poll_seconds=0.1,
        adaptive_window=2,
        adaptive_threshold=0.3,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://moderation", auth=ActsAsNamedPerson()
        ) as client:
            yield client


@pytest.fixture
async def publish(kafka_bootstrap):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()

    async def send(case: str, grade: str, area: str = "early_help") -> str:
        audit_id = f"AUD-{uuid.uuid4().hex[:12]}"
        data = audit_graded(
            case,
            grade,
            audit_id,
            auditor_id=AUDITOR,
            team_manager_id=TEAM_MANAGER,
            service_area=area,
            team_id="EH-NORTH",
            practitioner_id=PRACTITIONER,
            graded_at=datetime.now(UTC),
        )
        event = new_event(data, source="/qa/audit")
        await producer.send_and_wait(AUDIT_GRADED, serialize(event), key=kafka_key(event))
        return audit_id

    yield send
    await producer.stop()


async def events_for(bootstrap, topic, key, expected):
    return [
        json.loads(r.value) for r in await read_all(bootstrap, topic, expected, key=key.encode())
    ]


async def moderation_of(client, audit_id):
    found = []

    async def requested() -> bool:
        found[:] = [
            m for m in (await client.get("/moderations")).json() if m["audit_id"] == audit_id
        ]
        return bool(found)

    await eventually(requested, what=f"a moderation of {audit_id}")
    return found[0]


async def test_inadequate_audit_is_moderated_and_a_disagreement_is_published(
    moderation_service, publish, kafka_bootstrap
):
    case = unique_case()
    audit_id = await publish(case, "inadequate")
    [requested] = await events_for(kafka_bootstrap, MODERATION_REQUESTED, case, 1)
    moderator = requested["data"]["moderator_id"]
    assert requested["data"]["reason"] == "inadequate"
    assert moderator not in {AUDITOR, TEAM_MANAGER}
    queue = (
        await moderation_service.get(
            "/moderations", params={"moderator": moderator, "status": "open"}
        )
    ).json()
    moderation = next(m for m in queue if m["audit_id"] == audit_id)

    body = {
        "moderator_id": moderator,
        "moderated_grade": "requires_improvement",
        "rationale": "Risk was managed; planning needs work",
        "request_id": str(uuid.uuid4()),
        "outstanding_practice": True,
    }
    recorded = await moderation_service.post(f"/moderations/{moderation['id']}", json=body)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["grade_difference"] == -1
    assert recorded.json()["outstanding_practice"] is True
    month = {"outstanding": "true", "month": uk_month(datetime.now(UTC))}
    flagged = (await moderation_service.get("/moderations", params=month)).json()
    assert moderation["id"] in {m["id"] for m in flagged}
    assert all(m["outstanding_practice"] for m in flagged)
    again = await moderation_service.post(f"/moderations/{moderation['id']}", json=body)
    assert again.status_code == 200
    other = await moderation_service.post(
        f"/moderations/{moderation['id']}", json={**body, "request_id": str(uuid.uuid4())}
    )
    assert other.status_code == 409

    [completed] = await events_for(kafka_bootstrap, MODERATION_COMPLETED, case, 1)
    [disagreed] = await events_for(kafka_bootstrap, MODERATION_DISAGREED, case, 1)
    for event in (completed, disagreed):
        assert event["data"] | {"moderated_at": None} == {
            "case_id": case,
            "moderation_id": moderation["id"],
            "audit_id": audit_id,
            "moderator_id": moderator,
            "auditor_grade": "inadequate",
            "moderated_grade": "requires_improvement",
            "grade_difference": -1,
            "moderated_at": None,  # no rationale (free text) and no flag: they stay off Kafka
        }
    assert await events_for(kafka_bootstrap, AUDIT_INADEQUATE_FOUND, case, 0) == []


async def test_moderation_rules_are_enforced(moderation_service, publish):
    case = unique_case()
    moderation = await moderation_of(moderation_service, await publish(case, "inadequate"))
    url = f"/moderations/{moderation['id']}"
    wrong_person = await moderation_service.post(
        url,
        json={"moderator_id": AUDITOR, "moderated_grade": "inadequate", "request_id": "r-12345678"},
    )
    assert wrong_person.status_code == 403  # a Head of Service is not a moderator
    no_reason = await moderation_service.post(
        url,
        json={
            "moderator_id": moderation["moderator_id"],
            "moderated_grade": "good",
            "request_id": "r-12345678",
        },
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["loc"] == ["body", "rationale"]
    assert (
        await moderation_service.post(
            "/moderations/MOD-missing",
            json={
                "moderator_id": moderation["moderator_id"],
                "moderated_grade": "good",
                "request_id": "r-12345678",
            },
        )
    ).status_code == 404


async def test_only_assistant_directors_change_sampling_rates(moderation_service):
    refused = await moderation_service.put(
        "/sampling/care_leavers", json={"rate": 0.9, "changed_by": PRACTITIONER}
    )
    assert refused.status_code == 403
    not_theirs = await moderation_service.put(
        "/sampling/care_leavers", json={"rate": 0.9, "changed_by": ASSISTANT_DIRECTOR}
    )
    assert not_theirs.status_code == 403  # an assistant director of other areas
    changed = await moderation_service.put(
        "/sampling/care_leavers", json={"rate": 0.9, "changed_by": OTHER_AD}
    )
    assert changed.status_code == 200
    assert changed.json()["care_leavers"] == 0.9
    assert changed.json()["early_help"] == 0.25
    assert (
        await moderation_service.put(
            "/sampling/care_leavers", json={"rate": 1.5, "changed_by": OTHER_AD}
        )
    ).status_code == 422


async def test_a_good_audit_moderated_to_inadequate_is_found_inadequate_by_moderation(
    moderation_service, publish, kafka_bootstrap
):
    area = "assessment_intervention"
    everything = {"rate": 1.0, "changed_by": ASSISTANT_DIRECTOR}
    assert (await moderation_service.put(f"/sampling/{area}", json=everything)).status_code == 200
    cases = [unique_case(), unique_case()]
    for case in cases:
        moderation = await moderation_of(moderation_service, await publish(case, "good", area))
        assert moderation["reason"] == "sampled"
        response = await moderation_service.post(
            f"/moderations/{moderation['id']}",
            json={
                "moderator_id": moderation["moderator_id"],
                "moderated_grade": "inadequate",
                "rationale": "No evidence the child was seen alone",
                "request_id": str(uuid.uuid4()),
            },
        )
        assert response.status_code == 200, response.text

    [found] = await events_for(kafka_bootstrap, AUDIT_INADEQUATE_FOUND, cases[0], 1)
    assert found["data"]["found_by"] == "moderation"
    assert found["data"]["service_area"] == area
    # The rate was 1.0, already above the raised 0.5, so adaptive moderation leaves it alone.
    assert (await moderation_service.get("/sampling")).json()[area] == 1.0

    stats = (
        await moderation_service.get(
            "/stats/consistency",
            params={
                "from_month": datetime.now(UTC).strftime("%Y-%m"),
                "to_month": datetime.now(UTC).strftime("%Y-%m"),
            },
        )
    ).json()
    row = next(r for r in stats if r["service_area"] == area)
    assert (row["moderated"], row["agreement_rate"], row["moderator_worse_share"]) == (2, 0.0, 1.0)
    assert row["mean_absolute_difference"] == 2.0


async def _disagree(moderation_service, publish, area: str) -> None:
    """An Inadequate audit in `area`, moderated to Good by its assigned moderator."""
    moderation = await moderation_of(
        moderation_service, await publish(unique_case(), "inadequate", area)
    )
    response = await moderation_service.post(
        f"/moderations/{moderation['id']}",
        json={
            "moderator_id": moderation["moderator_id"],
            "moderated_grade": "good",
            "rationale": "Strong direct work with the family",
            "request_id": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 200, response.text


async def test_disagreement_over_the_window_raises_a_low_rate_and_says_so(
    moderation_service, publish, kafka_bootstrap
):
    area = "care_leavers"
    for _ in range(2):  # the window is 2 here
        await _disagree(moderation_service, publish, area)
    assert (await moderation_service.get("/sampling")).json()[area] == 0.5
    changes = await events_for(kafka_bootstrap, MODERATION_SAMPLING_RATE_CHANGED, area, 1)
    adaptive = [c for c in changes if c["data"]["reason"] == "adaptive"]
    assert adaptive[-1]["data"] | {"changed_at": None} == {
        "service_area": area,
        "previous_rate": 0.25,
        "new_rate": 0.5,
        "reason": "adaptive",
        "changed_by": None,
        "disagreement_rate": 1.0,
        "changed_at": None,
    }
    metrics = (await moderation_service.get("/metrics")).text
    assert 'qa_moderation_sample_rate{service_area="care_leavers"} 0.5' in metrics
    assert (
        'qa_moderation_disagreements_total{direction="better",service_area="care_leavers"}'
        in metrics
    )


async def test_a_rate_lowered_by_a_person_is_raised_again_only_by_disagreements_after_it(
    moderation_service, publish
):
    area = "family_safeguarding"

    async def rate() -> float:
        return (await moderation_service.get("/sampling")).json()[area]

    for _ in range(2):  # the window is 2 here
        await _disagree(moderation_service, publish, area)
    assert await rate() == 0.5
    lowered = {"rate": 0.25, "changed_by": OTHER_AD}
    assert (await moderation_service.put(f"/sampling/{area}", json=lowered)).status_code == 200
    await _disagree(moderation_service, publish, area)
    assert await rate() == 0.25  # one disagreement since the decision: not a whole window
    await _disagree(moderation_service, publish, area)
    assert await rate() == 0.5


async def test_concurrent_first_changes_of_a_rate_all_succeed_and_one_of_them_stands(
    moderation_service,
):
    area = "children_we_care_for"
    rates = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    answers = await asyncio.gather(
        *(
            moderation_service.put(f"/sampling/{area}", json={"rate": r, "changed_by": OTHER_AD})
            for r in rates
        )
    )
    assert [a.status_code for a in answers] == [200] * len(rates)
    assert (await moderation_service.get("/sampling")).json()[area] in rates
