"""The audit routes' answers on SQLite, with no broker: events wait in the outbox."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.audit.app import create_app
from services.audit.settings import AuditSettings
from shared.events.vocabulary import AuditDomain
from shared.migrations import upgrade
from tests.tokens import bearer

DOMAINS = [domain.value for domain in AuditDomain]


def body(grade: str = "inadequate", **changes) -> dict:
    fields = {
        "case_id": f"CASE-{uuid.uuid4().hex[:8]}",
        "auditor_id": "S0003",
        "team_id": "EH-NORTH",
        "practitioner_id": "S0006",
        "domain_grades": dict.fromkeys(DOMAINS, grade),
        "overall_grade": grade,
        "voice_of_child": {"evidenced": True},
        "graded_at": "2026-11-20T14:00:00Z",
    }
    fields.update(changes)
    return fields


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = AuditSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade("audit", settings.resolved_database_url)
    app = create_app(settings)
    # Not entered as a context manager: no lifespan, so nothing connects to the broker.
    yield TestClient(app, headers=bearer("S0003"))
    app.state.runtime.engine.dispose()


def test_a_broken_rule_answers_422_in_fastapis_shape_typed_audit_rule(client):
    response = client.post("/audits", json=body(team_id="NOWHERE-1"))
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"loc": ["body", "team_id"], "msg": "unknown team 'NOWHERE-1'", "type": "audit_rule"}
        ]
    }


def test_a_key_reused_for_a_different_audit_answers_422_naming_the_header(client):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = body()
    assert client.post("/audits", json=first, headers=key).status_code == 201
    replay = client.post("/audits", json=first, headers=key)
    assert replay.headers["idempotent-replayed"] == "true"
    changed = client.post("/audits", json={**first, "overall_grade": "good"}, headers=key)
    assert changed.status_code == 422
    assert changed.json() == {
        "detail": [
            {
                "loc": ["header", "Idempotency-Key"],
                "msg": "already used for a different audit submission",
                "type": "audit_rule",
            }
        ]
    }


def test_an_unknown_audit_answers_404_naming_it(client):
    response = client.get("/audits/AUD-none")
    assert (response.status_code, response.json()) == (404, {"detail": "no audit 'AUD-none'"})


def test_audits_are_found_by_their_filters_and_read_back_in_utc(client):
    posted = client.post("/audits", json=body("good", graded_at="2026-06-01T00:30:00+01:00"))
    assert posted.status_code == 201, posted.text
    audit = posted.json()
    assert client.get(f"/audits/{audit['id']}").json() == audit
    assert audit["graded_at"] == "2026-05-31T23:30:00Z"
    found = client.get("/audits", params={"team_id": "EH-NORTH", "grade": "good", "limit": 5})
    assert [a["id"] for a in found.json()] == [audit["id"]]
    assert client.get("/audits", params={"month": "2026-06"}).json()[0]["id"] == audit["id"]
    assert client.get("/audits", params={"month": "2026-05"}).json() == []
    assert client.get("/audits", params={"limit": 0}).status_code == 422


def test_grade_statistics_refuse_a_range_that_ends_before_it_starts(client):
    response = client.get("/stats/grades", params={"from_month": "2026-06", "to_month": "2026-05"})
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "to_month is before from_month"},
    )
