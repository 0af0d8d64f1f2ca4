"""The audit routes' answers on SQLite, with no broker: events wait in the outbox."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.audit.app import create_app, event_handlers
from services.audit.settings import AuditSettings
from shared.clock import FixedClock
from shared.events import FollowUpScheduled, new_event
from shared.events.vocabulary import AuditDomain
from shared.inbox import process_once
from shared.migrations import upgrade
from tests.factories import followup_event, moderation_requested
from tests.support import problem_document
from tests.tokens import bearer, service_bearer

DOMAINS = [domain.value for domain in AuditDomain]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


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
    app = create_app(settings, FixedClock(NOW))
    # Not entered as a context manager: no lifespan, so nothing connects to the broker.
    yield TestClient(app, headers=bearer("S0003"))
    app.state.runtime.engine.dispose()


def test_a_broken_rule_answers_422_in_fastapis_shape_typed_audit_rule(client):
    response = client.post("/audits", json=body(team_id="NOWHERE-1"))
    assert response.status_code == 422
    assert response.json() == problem_document(
        422,
        "team_id: unknown team 'NOWHERE-1'",
        [
            {
                "loc": ["body", "team_id"],
                "field": "team_id",
                "msg": "unknown team 'NOWHERE-1'",
                "type": "audit_rule",
            }
        ],
    )


def test_a_key_reused_for_a_different_audit_answers_422_naming_the_header(client):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = body()
    assert client.post("/audits", json=first, headers=key).status_code == 201
    replay = client.post("/audits", json=first, headers=key)
    assert replay.headers["idempotent-replayed"] == "true"
    changed = client.post("/audits", json={**first, "overall_grade": "good"}, headers=key)
    assert changed.status_code == 422
    assert changed.json() == problem_document(
        422,
        "Idempotency-Key: already used for a different audit submission",
        [
            {
                "loc": ["header", "Idempotency-Key"],
                "field": "Idempotency-Key",
                "msg": "already used for a different audit submission",
                "type": "audit_rule",
            }
        ],
    )


def test_an_unknown_audit_answers_404_naming_it(client):
    response = client.get("/audits/AUD-none")
    assert (response.status_code, response.json()) == (
        404,
        problem_document(404, "no audit 'AUD-none'"),
    )


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
        problem_document(
            422,
            "to_month: is before from_month",
            [
                {
                    "loc": ["query", "to_month"],
                    "field": "to_month",
                    "msg": "is before from_month",
                    "type": "audit_rule",
                }
            ],
        ),
    )


def moderated_by(client, audit: dict, moderator: str) -> None:
    """What the moderation service says when it assigns the audit (ModerationRequested)."""
    data = moderation_requested(audit["id"], moderator, case_id=audit["case_id"])
    event = new_event(data, source="/qa/moderation")
    for _ in range(2):  # redelivered: learnt once
        process_once(
            client.app.state.runtime.engine, "qa-audit", event, event_handlers()[type(data)]
        )


@pytest.fixture
def early_help_audit(client) -> dict:
    """S0003's audit of an EH-NORTH case (practitioner S0006, team manager S0005), moderated by
    S0018."""
    posted = client.post("/audits", json=body())
    assert posted.status_code == 201, posted.text
    audit = posted.json()
    moderated_by(client, audit, "S0018")
    return audit


SEE_IT = {
    "S0003": "its auditor and the area's Head of Service",
    "S0006": "the case's practitioner",
    "S0005": "the case's team manager",
    "S0018": "the moderator assigned",
    "S0001": "the area's assistant director",
    "S9001": "an admin",
}
DO_NOT = {
    "S0007": "another practitioner of the team",
    "S0009": "another team's manager",
    "S0032": "a moderator not assigned to it",
    "S0045": "another area's Head of Service",
    "S0002": "another area's assistant director",
}


def test_an_audit_opens_for_the_people_the_rule_names_and_no_one_else(client, early_help_audit):
    path = f"/audits/{early_help_audit['id']}"
    opened = {who: client.get(path, headers=bearer(who)).status_code for who in SEE_IT | DO_NOT}
    assert opened == dict.fromkeys(SEE_IT, 200) | dict.fromkeys(DO_NOT, 403)
    assert client.get(path, headers=service_bearer()).status_code == 200
    refused = client.get(path, headers=bearer("S0045"))
    assert refused.json() == problem_document(
        403,
        "this audit is not yours to see: its audit does not name you and early_help "
        "is not one of your service areas",
    )


def test_an_unknown_audit_answers_404_whoever_asks(client):
    missing = client.get("/audits/AUD-none", headers=bearer("S0006"))
    assert (missing.status_code, missing.json()) == (
        404,
        problem_document(404, "no audit 'AUD-none'"),
    )


def test_the_list_holds_only_the_audits_the_caller_may_see(client, early_help_audit):
    other_area = client.post(
        "/audits",
        json=body("good", auditor_id="S0009", team_id="AI-NORTH", practitioner_id="S0020"),
        headers=bearer("S0009"),
    )
    assert other_area.status_code == 201, other_area.text
    both = {early_help_audit["id"], other_area.json()["id"]}

    def listed(who: str) -> set[str]:
        return {a["id"] for a in client.get("/audits", headers=bearer(who)).json()}

    assert listed("S9001") == listed("S0001") == both  # S0001 leads both areas
    assert listed("S0003") == listed("S0006") == listed("S0018") == {early_help_audit["id"]}
    assert listed("S0009") == listed("S0019") == listed("S0020") == {other_area.json()["id"]}
    assert listed("S0007") == listed("S0045") == listed("S0032") == set()


def test_my_work_filters_find_audits_by_their_people_and_case(client, early_help_audit):
    mine = early_help_audit["id"]
    for name, value in (
        ("auditor_id", "S0003"),
        ("practitioner_id", "S0006"),
        ("team_manager_id", "S0005"),
        ("case_id", early_help_audit["case_id"]),
    ):
        found = client.get("/audits", params={name: value}, headers=bearer("S0006"))
        assert [a["id"] for a in found.json()] == [mine], name
        assert client.get("/audits", params={name: "S0999"}).json() == [], name


# --- idempotency keys are the caller's ---------------------------------------------------------


def test_two_callers_sending_the_same_key_make_two_audits_and_neither_sees_the_others(client):
    key = {"Idempotency-Key": "a-predictable-key-1"}
    made = {}
    for auditor in ("S0009", "S0013"):  # managers of EH-SOUTH and EH-WEST
        answer = client.post(
            "/audits",
            json=body("good", auditor_id=auditor, team_id="AI-NORTH", practitioner_id="S0020"),
            headers=bearer(auditor) | key,
        )
        assert answer.status_code == 201, answer.text
        assert "idempotent-replayed" not in answer.headers
        made[auditor] = answer.json()["id"]
    assert made["S0009"] != made["S0013"]
    for auditor, other in (("S0009", "S0013"), ("S0013", "S0009")):
        assert client.get(f"/audits/{made[other]}", headers=bearer(auditor)).status_code == 403
        listed = client.get("/audits", headers=bearer(auditor)).json()
        assert [a["id"] for a in listed] == [made[auditor]]


# --- a re-audit is the assigned auditor's, once the follow-up is at its re-audit step ----------


def scheduler_says(client, data) -> None:
    event = new_event(data, source="/qa/scheduler")
    process_once(client.app.state.runtime.engine, "qa-audit", event, event_handlers()[type(data)])


def reaudit_body(audit: dict) -> dict:
    return body(
        "good",
        auditor_id="S0009",
        case_id=audit["case_id"],
        audit_kind="reaudit",
        reaudit_of=audit["id"],
    )


def test_a_reaudit_is_accepted_only_from_its_assignee_at_the_reaudit_step(client):
    as_isla = bearer("S0009")
    first = client.post("/audits", json=body(auditor_id="S0009"), headers=as_isla).json()
    step = {"audit_id": first["id"], "case_id": first["case_id"]}
    too_early = client.post("/audits", json=reaudit_body(first), headers=as_isla)
    assert too_early.status_code == 422
    assert too_early.json()["errors"][0]["loc"] == ["body", "reaudit_of"]

    scheduler_says(client, followup_event(FollowUpScheduled, owner_id="S0003", **step))
    at_conversation = client.post("/audits", json=reaudit_body(first), headers=as_isla)
    assert "is not recorded yet" in at_conversation.json()["errors"][0]["msg"]

    scheduler_says(
        client,
        followup_event(
            FollowUpScheduled, action="reaudit", owner_id="S0013", scheduled_at=NOW, **step
        ),
    )
    not_hers = client.post("/audits", json=reaudit_body(first), headers=as_isla)
    assert not_hers.json()["errors"][0]["loc"] == ["body", "auditor_id"]

    reassigned = {"action": "reaudit", "owner_id": "S0009", "scheduled_at": NOW.replace(hour=13)}
    scheduler_says(client, followup_event(FollowUpScheduled, **reassigned, **step))
    accepted = client.post("/audits", json=reaudit_body(first), headers=as_isla)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["reaudit_of"] == first["id"]


# --- cautions answer 422 typed needs_confirmation, until confirmed ----------------------------


def test_an_overall_grade_against_every_domain_is_recorded_once_confirmed(client):
    contradictory = body("inadequate", overall_grade="outstanding")
    asked = client.post("/audits", json=contradictory)
    assert asked.status_code == 422
    [entry] = asked.json()["errors"]
    assert (entry["loc"], entry["type"], entry["ctx"]) == (
        ["body", "overall_grade"],
        "needs_confirmation",
        {"confirm": "overall_grade_against_domains"},
    )
    confirmed = {**contradictory, "confirmed": ["overall_grade_against_domains"]}
    assert client.post("/audits", json=confirmed).status_code == 201


# --- paging: the one rule of shared.paging ------------------------------------------------------


def test_audits_are_listed_a_page_at_a_time(client):
    made = [client.post("/audits", json=body("good")).json()["id"] for _ in range(3)]
    pages = [client.get("/audits", params={"limit": 2, "offset": o}).json() for o in (0, 2)]
    assert {a["id"] for page in pages for a in page} == set(made)
    assert [len(page) for page in pages] == [2, 1]
    assert client.get("/audits", params={"limit": 501}).status_code == 422
    assert client.get("/audits", params={"offset": 1_000_001}).status_code == 422
