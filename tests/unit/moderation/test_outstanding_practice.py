"""The moderator flags outstanding practice: stored with the outcome, shown in the view, found
by `GET /moderations?outstanding=true&month=`, and kept in this service (on no event)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.moderation.app import create_app
from services.moderation.handlers import ModerationContext, event_handlers
from services.moderation.sampling import SamplingPolicy
from services.moderation.settings import ModerationSettings
from shared.clock import FixedClock
from shared.events import new_event
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.outbox import OutboxMessage
from tests.factories import audit_graded
from tests.tokens import bearer

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
POLICY = SamplingPolicy(default_rate=0.25, window=20, threshold=0.3, raised_rate=0.5)
ADMIN = bearer("S9001")


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = ModerationSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade("moderation", settings.resolved_database_url)
    app = create_app(settings, FixedClock(NOW))
    client = TestClient(app)
    handlers = event_handlers(ModerationContext(load_organisation(), POLICY, FixedClock(NOW)))
    for n in (1, 2, 3):  # Inadequate audits are always moderated
        data = audit_graded(f"CASE-{n}", "inadequate", f"AUD-{n}", auditor_id="S0003")
        event = new_event(data, source="/tests")
        process_once(app.state.runtime.engine, "qa-moderation", event, handlers[type(data)])
    yield client
    app.state.runtime.engine.dispose()


def moderations(client: TestClient, **params: str) -> list[dict]:
    answer = client.get("/moderations", params=params, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()


def moderate(client: TestClient, moderation: dict, **changes: object) -> dict:
    moderator = moderation["moderator_id"]
    body = {"moderator_id": moderator, "moderated_grade": "inadequate", "request_id": "r-0000001"}
    answer = client.post(
        f"/moderations/{moderation['id']}", json=body | changes, headers=bearer(moderator)
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_flag_is_stored_shown_and_filtered_by_month(client):
    first, second, third = sorted(moderations(client), key=lambda m: m["audit_id"])
    assert all(m["outstanding_practice"] is False for m in (first, second, third))  # open
    flagged = moderate(client, first, outstanding_practice=True)
    assert (flagged["status"], flagged["outstanding_practice"]) == ("completed", True)
    assert moderate(client, second)["outstanding_practice"] is False  # not flagged: false
    again = client.get(f"/moderations/{first['id']}", headers=ADMIN).json()
    assert again["outstanding_practice"] is True
    found = moderations(client, outstanding="true", month="2026-11")
    assert [m["audit_id"] for m in found] == ["AUD-1"]
    assert moderations(client, outstanding="true", month="2026-10") == []
    assert {m["audit_id"] for m in moderations(client, outstanding="false")} == {"AUD-2", "AUD-3"}
    # Both moderated in November; the open AUD-3 has not been moderated in any month.
    assert {m["audit_id"] for m in moderations(client, month="2026-11")} == {"AUD-1", "AUD-2"}
    assert [m["audit_id"] for m in moderations(client, case_id="CASE-3")] == ["AUD-3"]


def test_a_month_must_be_a_month(client):
    answer = client.get("/moderations", params={"month": "2026-13"}, headers=ADMIN)
    assert answer.status_code == 422


def test_the_flag_is_on_no_event(client):
    first = sorted(moderations(client), key=lambda m: m["audit_id"])[0]
    moderate(client, first, outstanding_practice=True)
    with Session(client.app.state.runtime.engine) as session:  # type: ignore[attr-defined]
        published = session.exec(select(OutboxMessage)).all()
    completed = [m for m in published if m.topic.endswith("moderation.completed")]
    assert completed, [m.topic for m in published]
    assert all(b"outstanding" not in message.value for message in published)
