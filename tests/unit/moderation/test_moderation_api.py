"""The moderation routes' answers on SQLite, with no broker: events wait in the outbox."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.moderation.app import create_app
from services.moderation.handlers import ModerationContext, event_handlers
from services.moderation.sampling import SamplingPolicy
from services.moderation.settings import ModerationSettings
from shared.clock import FixedClock
from shared.events import new_event
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from tests.factories import audit_graded
from tests.tokens import bearer

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
    assert (missing.status_code, missing.json()) == (404, {"detail": "no moderation 'MOD-none'"})
    body = {"moderator_id": "S0001", "moderated_grade": "good", "request_id": "r-00000001"}
    posted = client.post("/moderations/MOD-none", json=body, headers=bearer("S0001"))
    assert (posted.status_code, posted.json()) == (404, {"detail": "no moderation 'MOD-none'"})


def test_a_moderator_it_is_not_assigned_to_is_answered_403(client, moderation):
    other = next(
        m.id for m in load_organisation().moderators() if m.id != moderation["moderator_id"]
    )
    refused = post(client, moderation, other)
    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "only the moderator it is assigned to can record this moderation"},
    )


def test_a_differing_grade_without_rationale_answers_422_typed_moderation_rule(client, moderation):
    refused = post(client, moderation, moderation["moderator_id"], moderated_grade="good")
    assert refused.status_code == 422
    assert refused.json() == {
        "detail": [
            {
                "loc": ["body", "rationale"],
                "msg": "required when the grade differs from the auditor's",
                "type": "moderation_rule",
            }
        ]
    }


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
        {"detail": "already moderated by another request"},
    )
