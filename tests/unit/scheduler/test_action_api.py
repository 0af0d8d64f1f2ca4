"""The action routes' answers on SQLite, with no broker: who sees and changes which action, the
answers' shape, and the monthly figures."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from shared.access_trail import AccessRecord
from tests.tokens import bearer
from tests.unit.scheduler.test_followup_api import (
    AUDITOR,
    HEAD_OF_SERVICE,
    Scheduler,
    graded,
)
from tests.unit.scheduler.test_followup_api import scheduler as scheduler

TEAM_MANAGER, PRACTITIONER, COLLEAGUE, OTHER_TEAM_MANAGER = "S0005", "S0006", "S0007", "S0009"
VISIT = "Visit within 10 days and see the child alone"
MEETING = {"what": "Book a strategy meeting", "owner_id": PRACTITIONER, "due_on": "2026-12-04"}


@pytest.fixture
def agreed(scheduler: Scheduler) -> tuple[Scheduler, dict, dict]:
    """A conversation held with a bare text and an item: the answer's two actions."""
    scheduler.deliver(graded())
    answer = scheduler.hold(scheduler.followup_id(), agreed_actions=[VISIT, MEETING])
    assert answer.status_code == 200, answer.text
    visit, meeting = answer.json()["actions"]
    return scheduler, visit, meeting


def post(scheduler: Scheduler, action_id: str, by: str, **body):
    body = {"changed_by": by, "request_id": f"req-{by}-{len(body)}-{action_id}", **body}
    return scheduler.client.post(f"/actions/{action_id}", json=body, headers=bearer(by))


def test_the_followup_answer_carries_its_actions_in_the_contracts_shape(agreed):
    scheduler, visit, meeting = agreed
    assert set(visit) == {
        "id",
        "case_id",
        "origin",
        "origin_id",
        "audit_id",
        "service_area",
        "team_id",
        "what",
        "owner_id",
        "due_on",
        "status",
        "overdue",
        "evidence",
        "status_reason",
        "history",
        "agreed_at",
    }
    assert (visit["what"], visit["owner_id"], visit["due_on"], visit["status"]) == (
        VISIT,
        TEAM_MANAGER,
        "2027-01-05",
        "open",
    )
    assert (meeting["owner_id"], meeting["due_on"], meeting["origin"], meeting["case_id"]) == (
        PRACTITIONER,
        "2026-12-04",
        "followup",
        "CASE-1",
    )
    assert meeting["history"] == [
        {"at": "2026-11-25T10:00:00Z", "by": HEAD_OF_SERVICE, "what": "agreed"}
    ]
    again = scheduler.client.get(f"/followups/{scheduler.followup_id()}").json()
    assert [a["id"] for a in again["actions"]] == [visit["id"], meeting["id"]]
    assert again["agreed_actions"] == [VISIT, "Book a strategy meeting"]
    [listed] = scheduler.client.get("/followups").json()
    assert [a["id"] for a in listed["actions"]] == [visit["id"], meeting["id"]]


def test_an_agreed_item_with_an_unknown_owner_records_nothing_and_names_the_item(scheduler):
    scheduler.deliver(graded())
    refused = scheduler.hold(
        scheduler.followup_id(), agreed_actions=[VISIT, {"what": "Visit", "owner_id": "S9999"}]
    )
    assert (refused.status_code, refused.json()["errors"][0]["loc"]) == (
        422,
        ["body", "agreed_actions[1].owner_id"],
    )
    assert scheduler.client.get("/actions").json() == []
    assert scheduler.client.get(f"/followups/{scheduler.followup_id()}").json()["step"] == (
        "reflective_conversation"
    )


def test_the_owner_their_manager_and_the_audits_people_see_an_action_and_no_one_else(agreed):
    scheduler, _visit, meeting = agreed
    path = f"/actions/{meeting['id']}"
    seen = {
        who: scheduler.client.get(path, headers=bearer(who)).status_code
        for who in (PRACTITIONER, TEAM_MANAGER, HEAD_OF_SERVICE, AUDITOR, COLLEAGUE, "S0010")
    }
    assert seen == {
        PRACTITIONER: 200,
        TEAM_MANAGER: 200,
        HEAD_OF_SERVICE: 200,
        AUDITOR: 200,
        COLLEAGUE: 403,
        "S0010": 403,
    }
    assert scheduler.client.get("/actions/ACT-NONE").status_code == 404


def test_my_actions_are_listed_soonest_due_first_and_others_see_none(agreed):
    scheduler, visit, meeting = agreed

    def listed(who: str, **params: str) -> list[str]:
        found = scheduler.client.get("/actions", params=params, headers=bearer(who))
        return [a["id"] for a in found.json()]

    assert listed(HEAD_OF_SERVICE) == [meeting["id"], visit["id"]]
    assert listed(HEAD_OF_SERVICE, owner=PRACTITIONER) == [meeting["id"]]
    assert listed(PRACTITIONER, case_id="CASE-1") == [meeting["id"], visit["id"]]
    assert listed(COLLEAGUE) == []
    assert listed(OTHER_TEAM_MANAGER) == []
    assert listed(HEAD_OF_SERVICE, origin_id=scheduler.followup_id(), limit="1") == [meeting["id"]]


def test_overdue_actions_by_area_and_team(agreed):
    scheduler, _visit, meeting = agreed
    params = {"overdue": "true", "service_area": "early_help", "team_id": "EH-NORTH"}
    assert scheduler.client.get("/actions", params=params).json() == []
    scheduler.clock.at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    [late] = scheduler.client.get("/actions", params=params).json()
    assert (late["id"], late["overdue"]) == (meeting["id"], True)
    assert scheduler.client.get("/actions", params={**params, "team_id": "EH-SOUTH"}).json() == []


def test_the_owner_marks_it_done_and_the_same_request_again_answers_the_same(agreed):
    scheduler, _visit, meeting = agreed
    done = post(scheduler, meeting["id"], PRACTITIONER, status="done")
    assert (done.status_code, done.json()["status"]) == (200, "done")
    again = post(scheduler, meeting["id"], PRACTITIONER, status="done")
    assert (again.status_code, again.json()) == (200, done.json())


def test_the_wrong_person_is_answered_403_and_a_broken_rule_422(agreed):
    scheduler, _visit, meeting = agreed
    as_someone_else = scheduler.client.post(
        f"/actions/{meeting['id']}",
        json={"changed_by": PRACTITIONER, "status": "done", "request_id": "forged-0001"},
        headers=bearer(TEAM_MANAGER),
    )
    assert as_someone_else.status_code == 403
    assert post(scheduler, meeting["id"], TEAM_MANAGER, status="done").status_code == 403
    assert post(scheduler, meeting["id"], OTHER_TEAM_MANAGER, evidence="Seen").status_code == 403
    no_reason = post(scheduler, meeting["id"], TEAM_MANAGER, status="cancelled")
    assert (no_reason.status_code, no_reason.json()["errors"][0]["type"]) == (422, "action_rule")
    cancelled = post(scheduler, meeting["id"], TEAM_MANAGER, status="cancelled", reason="Replaced")
    assert (cancelled.json()["status"], cancelled.json()["status_reason"]) == (
        "cancelled",
        "Replaced",
    )


def test_evidence_that_looks_like_a_name_asks_to_be_confirmed(agreed):
    scheduler, _visit, meeting = agreed
    asked = post(scheduler, meeting["id"], PRACTITIONER, evidence="Saw Tommy at school")
    assert asked.status_code == 422
    assert asked.json()["errors"][0]["ctx"] == {"confirm": "personal_data"}
    kept = post(
        scheduler,
        meeting["id"],
        PRACTITIONER,
        evidence="Saw Tommy at school",
        confirmed=["personal_data"],
    )
    assert [e["note"] for e in kept.json()["evidence"]] == ["Saw Tommy at school"]


def test_the_reaudits_owner_verifies_a_done_action(agreed):
    scheduler, _visit, meeting = agreed
    post(scheduler, meeting["id"], PRACTITIONER, status="done")
    body = {"outcome": "verified", "reaudit_id": "AUD-2", "request_id": "verify-0001"}
    path = f"/actions/{meeting['id']}/verification"
    by_head = scheduler.client.post(path, json={**body, "verified_by": HEAD_OF_SERVICE})
    assert by_head.status_code == 403
    verified = scheduler.client.post(
        path, json={**body, "verified_by": AUDITOR}, headers=bearer(AUDITOR)
    )
    assert (verified.status_code, verified.json()["status"]) == (200, "verified")
    assert verified.json()["history"][-1]["what"] == "verified"


def test_monthly_figures_are_zero_filled_and_count_what_happened(agreed):
    scheduler, _visit, meeting = agreed
    post(scheduler, meeting["id"], PRACTITIONER, status="done")
    figures = scheduler.client.get(
        "/stats/actions", params={"from_month": "2026-10", "to_month": "2026-11"}
    ).json()
    assert [(f["month"], f["service_area"]) for f in figures] == [
        ("2026-10", "early_help"),
        ("2026-11", "early_help"),
    ]
    assert figures[0]["agreed"] == 0
    assert figures[0]["completion_rate"] is None
    november = figures[1]
    assert {k: november[k] for k in ("agreed", "done_on_time", "done_late", "open", "overdue")} == {
        "agreed": 2,
        "done_on_time": 1,
        "done_late": 0,
        "open": 1,
        "overdue": 0,
    }
    assert (november["completion_rate"], november["verification_rate"]) == (0.5, None)
    practitioner = scheduler.client.get(
        "/stats/actions",
        params={"from_month": "2026-11", "to_month": "2026-11"},
        headers=bearer("S0010"),
    ).json()
    assert practitioner == []  # sees no action, leads no area
    lead = scheduler.client.get(
        "/stats/actions",
        params={"from_month": "2026-11", "to_month": "2026-11"},
        headers=bearer("S0004"),
    ).json()
    assert len(lead) == 5  # the QA lead reads every area's, zeros included
    assert {f["service_area"]: f["agreed"] for f in lead}["early_help"] == 2


def test_reading_an_action_is_written_to_the_access_trail_with_its_case(agreed):
    scheduler, _visit, meeting = agreed
    scheduler.client.get(f"/actions/{meeting['id']}", headers=bearer(PRACTITIONER))
    with Session(scheduler.engine) as session:
        rows = session.exec(
            select(AccessRecord).where(AccessRecord.action == "GET /actions/{action_id}")
        ).all()
    assert [(r.who, r.case_id, r.outcome) for r in rows] == [(PRACTITIONER, "CASE-1", 200)]
