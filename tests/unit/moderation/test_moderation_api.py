"""The moderation routes' answers on SQLite, with no broker: events wait in the outbox."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.moderation.app import create_app
from services.moderation.handlers import ModerationContext, event_handlers
from services.moderation.metrics import CONSISTENCY_CHANNEL
from services.moderation.sampling import SamplingPolicy
from services.moderation.settings import ModerationSettings
from shared.clock import FixedClock
from shared.events import new_event
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.wakeup import WAKEUPS
from tests.factories import audit_graded
from tests.support import problem_document
from tests.tokens import bearer, service_bearer

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
POLICY = SamplingPolicy(default_rate=0.25, window=20, threshold=0.3, raised_rate=0.5)


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = ModerationSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade("moderation", settings.resolved_database_url)
    app = create_app(settings, FixedClock(NOW))
    # Not entered as a context manager: no lifespan, so nothing connects to the broker.
    yield TestClient(app)
    app.state.runtime.engine.dispose()


@pytest.fixture
def moderation(client) -> dict:
    """An Inadequate audit's open moderation, requested through the service's own wiring."""
    engine = client.app.state.runtime.engine
    handlers = event_handlers(ModerationContext(load_organisation(), POLICY, FixedClock(NOW)))
    data = audit_graded("CASE-1", "inadequate", "AUD-1", auditor_id="S0003")
    process_once(engine, "qa-moderation", new_event(data, source="/tests"), handlers[type(data)])
    [found] = client.get("/moderations", headers=bearer("S0001")).json()
    return found


def post(client, moderation: dict, moderator: str, **changes) -> dict:
    body = {"moderator_id": moderator, "moderated_grade": "inadequate", "request_id": "r-00000001"}
    return client.post(
        f"/moderations/{moderation['id']}", json={**body, **changes}, headers=bearer(moderator)
    )


def test_an_open_moderation_reads_back_in_utc(client, moderation):
    one = client.get(f"/moderations/{moderation['id']}", headers=bearer("S0001"))
    assert one.json() == moderation
    assert (moderation["status"], moderation["requested_at"]) == ("open", "2026-11-23T11:00:00Z")
    assert (moderation["moderated_grade"], moderation["moderated_at"]) == (None, None)


def test_an_unknown_moderation_answers_404_naming_it(client):
    missing = client.get("/moderations/MOD-none", headers=bearer("S0001"))
    assert (missing.status_code, missing.json()) == (
        404,
        problem_document(404, "no moderation 'MOD-none'"),
    )
    body = {"moderator_id": "S0001", "moderated_grade": "good", "request_id": "r-00000001"}
    posted = client.post("/moderations/MOD-none", json=body, headers=bearer("S0001"))
    assert (posted.status_code, posted.json()) == (
        404,
        problem_document(404, "no moderation 'MOD-none'"),
    )


def test_a_moderator_it_is_not_assigned_to_is_answered_403(client, moderation):
    other = next(
        m.id for m in load_organisation().moderators() if m.id != moderation["moderator_id"]
    )
    refused = post(client, moderation, other)
    assert (refused.status_code, refused.json()) == (
        403,
        problem_document(403, "only the moderator it is assigned to can record this moderation"),
    )


def test_a_differing_grade_without_rationale_answers_422_typed_moderation_rule(client, moderation):
    refused = post(client, moderation, moderation["moderator_id"], moderated_grade="good")
    assert refused.status_code == 422
    assert refused.json() == problem_document(
        422,
        "rationale: required when the grade differs from the auditor's",
        [
            {
                "loc": ["body", "rationale"],
                "field": "rationale",
                "msg": "required when the grade differs from the auditor's",
                "type": "moderation_rule",
            }
        ],
    )


def test_a_recorded_moderation_is_replayed_to_its_request_and_409_to_another(client, moderation):
    moderator = moderation["moderator_id"]
    recorded = post(client, moderation, moderator)
    assert recorded.status_code == 200, recorded.text
    answer = recorded.json()
    assert (answer["status"], answer["moderated_at"]) == ("completed", "2026-11-23T11:00:00Z")
    assert post(client, moderation, moderator).json() == answer
    other = post(client, moderation, moderator, request_id="r-00000002")
    assert (other.status_code, other.json()) == (
        409,
        problem_document(409, "already moderated by another request"),
    )


@pytest.fixture
def early_help(client) -> dict:
    """A moderation of S0001's Early Help audit of S0006's case (team manager S0005); the least
    loaded moderator who is not its auditor is S0002, who leads other areas, not this one."""
    engine = client.app.state.runtime.engine
    handlers = event_handlers(ModerationContext(load_organisation(), POLICY, FixedClock(NOW)))
    data = audit_graded(
        "CASE-EH",
        "inadequate",
        "AUD-EH",
        service_area="early_help",
        team_id="EH-NORTH",
        auditor_id="S0001",
        practitioner_id="S0006",
        team_manager_id="S0005",
    )
    process_once(engine, "qa-moderation", new_event(data, source="/tests"), handlers[type(data)])
    [found] = client.get(
        "/moderations", params={"audit_id": "AUD-EH"}, headers=bearer("S9001")
    ).json()
    assert found["moderator_id"] == "S0002"
    return found


SEE_IT = ("S0001", "S0006", "S0005", "S0002", "S0003", "S9001", "S0004")
"""Its auditor (and the area's AD), practitioner, team manager, moderator, HoS, an admin, the
QA lead (who reads every audit's records)."""
DO_NOT = ("S0007", "S0018", "S0009", "S0045")
"""Another practitioner, a moderator not assigned, another team's manager, another area's HoS."""


def test_a_moderation_opens_for_the_people_of_its_audit_and_no_one_else(client, early_help):
    path = f"/moderations/{early_help['id']}"
    opened = {who: client.get(path, headers=bearer(who)).status_code for who in SEE_IT + DO_NOT}
    assert opened == dict.fromkeys(SEE_IT, 200) | dict.fromkeys(DO_NOT, 403)
    assert client.get(path, headers=service_bearer()).status_code == 200
    assert (early_help["practitioner_id"], early_help["team_manager_id"]) == ("S0006", "S0005")


def test_the_queue_holds_only_the_moderations_the_caller_may_see(client, moderation, early_help):
    def listed(who: str, **params: str) -> set[str]:
        found = client.get("/moderations", params=params, headers=bearer(who)).json()
        return {m["audit_id"] for m in found}

    # AUD-1 is family_safeguarding, audited by S0003 and moderated by S0001.
    assert listed("S9001") == listed("S0001") == {"AUD-1", "AUD-EH"}
    assert listed("S0002") == {"AUD-1", "AUD-EH"}  # leads family_safeguarding; moderates AUD-EH
    assert listed("S0006") == listed("S0005") == {"AUD-EH"}
    assert listed("S0003") == {"AUD-1", "AUD-EH"}  # audited AUD-1; leads early_help
    assert listed("S0018") == listed("S0045") == set()
    assert listed("S0004") == {"AUD-1", "AUD-EH"}  # the QA lead
    assert listed("S0001", audit_id="AUD-1") == {"AUD-1"}
    assert listed("S0006", audit_id="AUD-1") == set()


def test_a_recorded_moderation_wakes_the_kappa_gauges_and_a_refused_one_does_not(
    client, moderation
):
    before = WAKEUPS.count(CONSISTENCY_CHANNEL)
    other = next(
        m.id for m in load_organisation().moderators() if m.id != moderation["moderator_id"]
    )
    assert post(client, moderation, other).status_code == 403
    assert WAKEUPS.count(CONSISTENCY_CHANNEL) == before
    assert post(client, moderation, moderation["moderator_id"]).status_code == 200
    assert WAKEUPS.count(CONSISTENCY_CHANNEL) == before + 1
