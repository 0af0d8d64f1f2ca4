"""The programme's routes on SQLite, with no broker: a month drawn from the register, and each
step of a programme audit, with the events each queues in the outbox."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.audit.app import create_app, event_handlers
from services.audit.models import AllocationRow, ReflectionRow
from services.audit.retention import purge_allocations
from services.audit.settings import AuditSettings
from shared.clock import FixedClock
from shared.db import transaction
from shared.events import CaseOpenedV2, new_event
from shared.events.vocabulary import AuditDomain
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.outbox import OutboxMessage
from tests.tokens import bearer

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QA_LEAD = bearer("S0004")
DOMAINS = [domain.value for domain in AuditDomain]
TEAMS = {  # team: (manager, practitioner)
    "EH-NORTH": ("S0005", "S0006"),
    "FS-SOUTH": ("S0037", "S0038"),
}


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = AuditSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade("audit", settings.resolved_database_url)
    app = create_app(settings, FixedClock(NOW))
    yield TestClient(app, headers=QA_LEAD)
    app.state.runtime.engine.dispose()


def open_cases(client: TestClient, per_team: int = 3, **changes: object) -> list[str]:
    """Cases opened in each team, as the case management system says (v2)."""
    handlers = event_handlers()
    cases = []
    for team, (manager, practitioner) in TEAMS.items():
        for _ in range(per_team):
            case = f"CASE-{uuid.uuid4().hex[:8]}"
            data = CaseOpenedV2(
                case_id=case,
                team_id=team,
                practitioner_id=practitioner,
                team_manager_id=manager,
                plan_type="child_in_need",
                opened_on=date(2026, 9, 1),
                opened_at=datetime(2026, 9, 1, 9, tzinfo=UTC),
                **changes,
            )
            engine = client.app.state.runtime.engine
            process_once(engine, "qa-audit", new_event(data, source="/cms"), handlers[type(data)])
            cases.append(case)
    return cases


def queued(client: TestClient, topic: str) -> list[dict]:
    with Session(client.app.state.runtime.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.topic == topic)).all()
        return [json.loads(row.value)["data"] for row in rows]


def drawn(client: TestClient, **changes: object) -> dict:
    answer = client.post("/programmes", json={"month": "2026-12", "size": 4, "seed": 7} | changes)
    assert answer.status_code == 201, answer.text
    return answer.json()


def audit_form(allocation: dict, grade: str = "good", **changes: object) -> dict:
    return {
        "case_id": allocation["case_id"],
        "auditor_id": allocation["auditor_id"],
        "domain_grades": dict.fromkeys(DOMAINS, grade),
        "overall_grade": grade,
        "voice_of_child": {"evidenced": True},
        "could_be_better_if": ["The plan names who does what by when"],
        "graded_at": "2026-11-25T10:00:00Z",
    } | changes


def test_the_qa_lead_draws_a_month_by_team_quota_and_each_allocation_is_announced(client):
    cases = open_cases(client)
    programme = drawn(client)
    assert programme["id"] == "PRG-2026-12"
    assert (programme["seed"], programme["size"], programme["drawn_by"]) == (7, 4, "S0004")
    assert programme["due_on"] == "2026-12-31"  # the month's last working day
    assert (programme["open_cases"], programme["eligible_cases"]) == (6, 6)
    quotas = {
        t["team_id"]: (t["eligible_cases"], t["quota"], t["drawn"]) for t in programme["teams"]
    }
    assert quotas["EH-NORTH"] == quotas["FS-SOUTH"] == (3, 2, 2)
    assert quotas["CL-WEST"] == (0, 0, 0)
    allocations = programme["allocations"]
    assert len(allocations) == 4
    assert {a["case_id"] for a in allocations} <= set(cases)
    for allocation in allocations:
        assert allocation["status"] == "allocated"
        assert not allocation["late"]
        assert allocation["auditor_id"] not in TEAMS[allocation["team_id"]]  # never its own team
        assert allocation["why_case"].startswith("Drawn at random (seed 7)")
        assert allocation["why_auditor"].startswith(allocation["auditor_id"])
        assert allocation["participants"] == [allocation["auditor_id"]]
    announced = queued(client, "allocation.allocated")
    assert sorted(e["allocation_id"] for e in announced) == sorted(a["id"] for a in allocations)
    assert {e["allocated_by"] for e in announced} == {"S0004"}
    assert {e["month"] for e in announced} == {"2026-12"}


def test_a_month_is_drawn_once_and_its_programme_reads_back_as_drawn(client):
    open_cases(client)
    first = drawn(client)
    again = client.post("/programmes", json={"month": "2026-12"})
    assert again.status_code == 409
    listed = client.get("/programmes").json()
    assert [(p["month"], p["allocated"], p["submitted"]) for p in listed] == [("2026-12", 4, 0)]
    assert client.get("/programmes/2026-12").json()["allocations"] == first["allocations"]


def test_nothing_eligible_is_refused_rather_than_a_programme_of_none(client):
    answer = client.post("/programmes", json={"month": "2026-12"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "month"]


def test_a_month_already_over_is_not_drawn(client):
    open_cases(client)
    answer = client.post("/programmes", json={"month": "2026-10"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["msg"] == "2026-10 is over: draw this month or a later one"


def test_cases_closing_within_the_month_are_not_drawn(client):
    open_cases(client, closing_on=date(2026, 12, 15))
    assert client.post("/programmes", json={"month": "2026-12"}).status_code == 422


def test_only_the_qa_lead_draws_and_an_area_lead_sees_only_their_areas_allocations(client):
    open_cases(client)
    drawn(client)
    assert (
        client.post("/programmes", json={"month": "2027-01"}, headers=bearer("S0003")).status_code
        == 403
    )
    seen = client.get("/programmes/2026-12", headers=bearer("S0031")).json()  # HoS of FS
    # Their area's two, and any they audit themselves (S0031 is a trained auditor too).
    assert {a["team_id"] for a in seen["allocations"] if a["auditor_id"] != "S0031"} == {"FS-SOUTH"}
    assert sum(a["team_id"] == "FS-SOUTH" for a in seen["allocations"]) == 2
    assert len(seen["teams"]) == 15
    practitioner = client.get("/allocations", headers=bearer("S0006")).json()
    assert {a["practitioner_id"] for a in practitioner} == {"S0006"}
    assert len(practitioner) == 2
    assert client.get("/allocations", headers=bearer("S0010")).json() == []


def test_a_draft_saved_twice_then_submitted_records_the_audit_and_who_took_part(client):
    open_cases(client)
    allocation = drawn(client)["allocations"][0]
    auditor = bearer(allocation["auditor_id"])
    path = f"/allocations/{allocation['id']}"
    first = client.put(f"{path}/draft", json={"overall_grade": "good"}, headers=auditor)
    assert (first.status_code, first.json()["status"]) == (200, "in_progress")
    second = client.put(
        f"{path}/draft",
        json={"overall_grade": "requires_improvement", "themes": ["planning"]},
        headers=auditor,
    )
    assert second.json()["draft"] == {
        "overall_grade": "requires_improvement",
        "themes": ["planning"],
    }
    practitioner = bearer(allocation["practitioner_id"])
    assert client.put(f"{path}/draft", json={}, headers=practitioner).status_code == 403
    reflected = client.post(
        f"{path}/reflections",
        json={"text": "The plan changed after the review"},
        headers=practitioner,
    )
    assert reflected.status_code == 201, reflected.text
    assert [(r["by"], r["role"]) for r in reflected.json()["reflections"]] == [
        (allocation["practitioner_id"], "practitioner")
    ]
    # Someone the auditor asked to join (a service manager), never the auditor themselves.
    joined = "S0018" if allocation["auditor_id"] != "S0018" else "S0032"
    submitted = client.post(
        f"{path}/submit", json=audit_form(allocation, took_part=[joined]), headers=auditor
    )
    assert submitted.status_code == 201, submitted.text
    answer = submitted.json()
    audit_id = answer["audit"]["id"]
    assert answer["allocation"]["status"] == "submitted"
    assert answer["allocation"]["audit_id"] == audit_id
    assert answer["allocation"]["participants"] == [
        allocation["auditor_id"],
        allocation["practitioner_id"],
        joined,
    ]
    assert [e["audit_id"] for e in queued(client, "allocation.submitted")] == [audit_id]
    assert [e["audit_id"] for e in queued(client, "audit.graded")] == [audit_id]
    after = client.put(f"{path}/draft", json={}, headers=auditor)
    assert after.status_code == 409
    assert (
        client.post(f"{path}/submit", json=audit_form(allocation), headers=auditor).status_code
        == 409
    )


def test_a_submission_retried_with_its_key_replays_and_another_case_is_refused(client):
    open_cases(client)
    allocation = drawn(client)["allocations"][0]
    auditor = bearer(allocation["auditor_id"]) | {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/allocations/{allocation['id']}/submit"
    wrong = client.post(path, json=audit_form(allocation, case_id="CASE-other"), headers=auditor)
    assert (wrong.status_code, wrong.json()["errors"][0]["loc"]) == (422, ["body", "case_id"])
    first = client.post(path, json=audit_form(allocation), headers=auditor)
    again = client.post(path, json=audit_form(allocation), headers=auditor)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["audit"]["id"] == first.json()["audit"]["id"]
    assert len(queued(client, "audit.graded")) == 1


def test_an_audit_sent_to_post_audits_by_the_allocated_auditor_submits_the_allocation(client):
    open_cases(client)
    allocation = drawn(client)["allocations"][0]
    posted = client.post(
        "/audits", json=audit_form(allocation), headers=bearer(allocation["auditor_id"])
    )
    assert posted.status_code == 201, posted.text
    after = client.get(f"/allocations/{allocation['id']}").json()
    assert (after["status"], after["audit_id"]) == ("submitted", posted.json()["id"])
    assert len(queued(client, "allocation.submitted")) == 1


def test_a_declined_audit_goes_to_another_auditor_and_the_reason_stays_here(client):
    open_cases(client)
    allocation = drawn(client)["allocations"][0]
    auditor = bearer(allocation["auditor_id"])
    path = f"/allocations/{allocation['id']}/decline"
    assert client.post(path, json={"reason": ""}, headers=auditor).status_code == 422
    answer = client.post(
        path, json={"reason": "I supervised this worker last year"}, headers=auditor
    )
    assert answer.status_code == 200, answer.text
    declined, successor = answer.json()["declined"], answer.json()["reallocated"]
    assert (declined["status"], declined["reason"]) == (
        "declined",
        "I supervised this worker last year",
    )
    assert declined["reallocated_to"] == successor["id"]
    assert successor["reallocated_from"] == allocation["id"]
    assert successor["auditor_id"] != allocation["auditor_id"]
    assert successor["case_id"] == allocation["case_id"]
    [event] = queued(client, "allocation.declined")
    assert "reason" not in event
    reallocated = [e for e in queued(client, "allocation.allocated") if e["reallocated_from"]]
    assert [(e["allocation_id"], e["allocated_by"]) for e in reallocated] == [
        (successor["id"], None)
    ]


def test_a_reason_that_looks_like_personal_data_must_be_confirmed(client):
    open_cases(client)
    allocation = drawn(client)["allocations"][0]
    auditor = bearer(allocation["auditor_id"])
    path = f"/allocations/{allocation['id']}/decline"
    reason = {"reason": "Mrs Smith of 12 High Street is my neighbour"}
    refused = client.post(path, json=reason, headers=auditor)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["ctx"] == {"confirm": "personal_data"}
    kept = client.post(path, json=reason | {"confirmed": ["personal_data"]}, headers=auditor)
    assert kept.status_code == 200


def test_only_the_areas_assistant_director_exempts_a_case(client):
    open_cases(client)
    allocations = drawn(client)["allocations"]
    fs = next(a for a in allocations if a["team_id"] == "FS-SOUTH")
    path = f"/allocations/{fs['id']}/exempt"
    reason = {"reason": "Care proceedings start this month"}
    assert client.post(path, json=reason, headers=bearer("S0001")).status_code == 403  # EH's AD
    answer = client.post(path, json=reason, headers=bearer("S0002"))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["exempted_by"]) == ("exempted", "S0002")
    [event] = queued(client, "allocation.exempted")
    assert (event["exempted_by"], event["allocation_id"]) == ("S0002", fs["id"])
    assert client.post(path, json=reason, headers=bearer("S0002")).status_code == 409


def test_programme_figures_count_what_each_step_left(client):
    open_cases(client)
    allocations = drawn(client)["allocations"]
    first, second = allocations[0], allocations[1]
    client.post(
        f"/allocations/{first['id']}/submit",
        json=audit_form(first),
        headers=bearer(first["auditor_id"]),
    )
    client.put(f"/allocations/{second['id']}/draft", json={}, headers=bearer(second["auditor_id"]))
    figures = client.get("/stats/programme", params={"month": "2026-12"}).json()
    assert (
        figures["target"],
        figures["allocated"],
        figures["in_progress"],
        figures["submitted"],
    ) == (4, 4, 1, 1)
    assert (figures["exempted"], figures["declined"], figures["late"]) == (0, 0, 0)
    assert figures["remaining_working_days"] == 21  # December 2026: 23 weekdays less 2 holidays
    assert len(figures["by_team"]) == 15
    assert sum(team["allocated"] for team in figures["by_team"]) == 4
    empty = client.get("/stats/programme", params={"month": "2027-01"}).json()
    assert (empty["target"], empty["allocated"]) == (50, 0)


def test_reading_an_allocation_is_trailed_with_its_case(client):
    open_cases(client)
    allocation = drawn(client)["allocations"][0]
    assert client.get(f"/allocations/{allocation['id']}").status_code == 200
    trail = client.get(
        "/access-trail", params={"case_id": allocation["case_id"]}, headers=bearer("S9001")
    ).json()
    assert {(r["who"], r["action"]) for r in trail} >= {
        ("S0004", "POST /programmes"),
        ("S0004", "GET /allocations/{allocation_id}"),
    }


def test_a_reflection_that_looks_like_personal_data_must_be_confirmed(client):
    open_cases(client)
    allocation = drawn(client)["allocations"][0]
    manager = bearer(allocation["team_manager_id"])
    path = f"/allocations/{allocation['id']}/reflections"
    text = {"text": "Spoke to Mrs Jones at 4 Mill Lane about the plan"}
    refused = client.post(path, json=text, headers=manager)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "text"]
    kept = client.post(path, json=text | {"confirmed": ["personal_data"]}, headers=manager)
    assert kept.status_code == 201
    assert kept.json()["reflections"][0]["role"] == "team_manager"
    outsider = client.post(path, json={"text": "A view"}, headers=bearer("S0010"))
    assert outsider.status_code == 403


def test_closed_programme_audits_go_after_the_case_record_period_and_live_ones_stay(client):
    open_cases(client)
    first, second = drawn(client)["allocations"][:2]
    client.post(
        f"/allocations/{first['id']}/reflections",
        json={"text": "Useful"},
        headers=bearer(first["practitioner_id"]),
    )
    client.post(
        f"/allocations/{first['id']}/decline",
        json={"reason": "Conflict of interest"},
        headers=bearer(first["auditor_id"]),
    )
    engine = client.app.state.runtime.engine
    settings = AuditSettings(kafka_bootstrap_servers="127.0.0.1:9")
    later = NOW + timedelta(days=settings.case_record_retention_days + 1)
    what, gone = purge_allocations(engine, later, settings)
    assert what.startswith("programme audits closed")
    assert gone == 1  # the declined one; its successor and the others are live
    with transaction(engine) as session:
        ids = set(session.exec(select(AllocationRow.id)).all())
        assert first["id"] not in ids
        assert second["id"] in ids
        assert session.exec(select(ReflectionRow)).all() == []


def test_an_audit_by_someone_else_leaves_the_allocation_live(client):
    open_cases(client)
    allocation = drawn(client)["allocations"][0]
    other = "S0018" if allocation["auditor_id"] != "S0018" else "S0032"
    posted = client.post(
        "/audits", json=audit_form(allocation, auditor_id=other), headers=bearer(other)
    )
    assert posted.status_code == 201, posted.text
    assert client.get(f"/allocations/{allocation['id']}").json()["status"] == "allocated"
    assert queued(client, "allocation.submitted") == []


def test_programme_figures_count_only_the_allocations_the_caller_may_see(client):
    open_cases(client)
    drawn(client)
    mine = client.get("/stats/programme", params={"month": "2026-12"}, headers=bearer("S0006"))
    assert mine.status_code == 200
    assert mine.json()["allocated"] == 2  # EH-NORTH's two: S0006 holds those cases
    outsider = client.get("/stats/programme", params={"month": "2026-12"}, headers=bearer("S0010"))
    assert outsider.json()["allocated"] == 0
