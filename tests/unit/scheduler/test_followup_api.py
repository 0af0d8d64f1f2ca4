"""The follow-up routes' answers on SQLite, with no broker: events wait in the outbox."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.scheduler.app import create_app
from services.scheduler.decisions import Rules
from services.scheduler.handlers import event_handlers
from services.scheduler.models import FollowUp
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store import SchedulerContext
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.db import create_db_engine
from shared.events import EventData, InadequateFound, new_event
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.outbox import OutboxMessage
from tests.factories import audit_graded, moderation_requested
from tests.support import problem_document
from tests.tokens import bearer, service_bearer

HEAD_OF_SERVICE, AUDITOR = "S0003", "S0004"
GRADED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Scheduler:
    def __init__(self, settings: SchedulerSettings) -> None:
        self.clock = FixedClock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
        self.engine = create_db_engine(settings.resolved_database_url)
        rules = Rules(load_organisation(), WorkingDayCalendar(), overdue_every=2, starts_at_hour=8)
        self.handlers = event_handlers(SchedulerContext(rules, self.clock))
        # Not entered as a context manager: no lifespan, so nothing connects to the broker.
        self.client = TestClient(create_app(settings, self.clock), headers=bearer(HEAD_OF_SERVICE))

    def deliver(self, data: EventData) -> None:
        process_once(
            self.engine, "scheduler", new_event(data, source="/tests"), self.handlers[type(data)]
        )

    def followup_id(self) -> str:
        with Session(self.engine) as session:
            return session.exec(select(FollowUp.id)).one()

    def hold(self, followup_id: str, held_on: str = "2026-11-25", **changes):
        body = {
            "held_on": held_on,
            "recorded_by": HEAD_OF_SERVICE,
            "attendees": [HEAD_OF_SERVICE, "S0006"],
            "agreed_actions": ["Visit within 10 days and see the child alone"],
            **changes,
        }
        return self.client.post(f"/followups/{followup_id}/reflective-conversation", json=body)


@pytest.fixture
def scheduler(tmp_path) -> Iterator[Scheduler]:
    settings = SchedulerSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade("scheduler", settings.resolved_database_url)
    scheduler = Scheduler(settings)
    scheduler.deliver(
        InadequateFound(
            case_id="CASE-1",
            audit_id="AUD-1",
            service_area="early_help",
            team_id="EH-NORTH",
            graded_at=GRADED,
            found_by="auditor",
        )
    )
    yield scheduler
    scheduler.engine.dispose()


def graded() -> EventData:
    return audit_graded(
        "CASE-1",
        "inadequate",
        "AUD-1",
        auditor_id=AUDITOR,
        practitioner_id="S0006",
        team_manager_id="S0005",
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=GRADED,
    )


def test_an_unknown_followup_answers_404_naming_it(scheduler):
    assert scheduler.client.get("/followups/FU-NONE").json() == problem_document(
        404, "no follow-up 'FU-NONE'"
    )
    missing = scheduler.hold("FU-NONE")
    assert (missing.status_code, missing.json()) == (
        404,
        problem_document(404, "no follow-up 'FU-NONE'"),
    )


def test_a_broken_conversation_rule_answers_422_in_fastapis_shape_typed_followup_rule(scheduler):
    refused = scheduler.hold(scheduler.followup_id(), held_on="2026-11-26")
    assert refused.status_code == 422
    assert refused.json() == problem_document(
        422,
        "held_on: must not be in the future",
        [
            {
                "loc": ["body", "held_on"],
                "field": "held_on",
                "msg": "must not be in the future",
                "type": "followup_rule",
            }
        ],
    )


def test_a_conversation_before_the_audits_grading_arrived_answers_409_and_records_nothing(
    scheduler,
):
    early = scheduler.hold(scheduler.followup_id())
    assert (early.status_code, early.json()) == (
        409,
        problem_document(409, "the audit's grading has not reached the scheduler yet"),
    )
    scheduler.deliver(graded())
    assert scheduler.hold(scheduler.followup_id()).json()["step"] == "reaudit"


def test_the_same_conversation_again_answers_200_and_a_different_one_409(scheduler):
    scheduler.deliver(graded())
    followup_id = scheduler.followup_id()
    first, again = scheduler.hold(followup_id), scheduler.hold(followup_id)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    different = scheduler.hold(followup_id, held_on="2026-11-24")
    assert (different.status_code, different.json()) == (
        409,
        problem_document(
            409,
            f"follow-up {followup_id} already has its reflective conversation, held on "
            "25 November 2026: a different one cannot replace it",
        ),
    )


def test_the_overdue_list_holds_open_followups_past_their_due_day(scheduler):
    assert scheduler.client.get("/followups", params={"status": "overdue"}).json() == []
    scheduler.clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    [late] = scheduler.client.get("/followups", params={"status": "overdue"}).json()
    assert (late["id"], late["status"], late["overdue"]) == (scheduler.followup_id(), "open", True)
    listed = scheduler.client.get("/followups", params={"service_area": "early_help"}).json()
    assert [f["overdue"] for f in listed] == [True]


SEE_IT = ("S0004", "S0006", "S0005", "S0018", "S0003", "S0001", "S9001")
"""Its audit's auditor, practitioner, team manager and moderator; the area's HoS and AD; admin."""
DO_NOT = ("S0007", "S0032", "S0009", "S0045", "S0002")
"""Another practitioner, a moderator not assigned, another team's manager, other areas' leads."""


def opened(scheduler: Scheduler, *people: str) -> dict[str, int]:
    path = f"/followups/{scheduler.followup_id()}"
    return {who: scheduler.client.get(path, headers=bearer(who)).status_code for who in people}


def test_a_followup_opens_for_the_people_of_its_audit_and_no_one_else(scheduler):
    scheduler.deliver(graded())
    scheduler.deliver(moderation_requested("AUD-1", "S0018", case_id="CASE-1"))
    assert opened(scheduler, *SEE_IT, *DO_NOT) == (
        dict.fromkeys(SEE_IT, 200) | dict.fromkeys(DO_NOT, 403)
    )
    machine = scheduler.client.get(
        f"/followups/{scheduler.followup_id()}", headers=service_bearer()
    )
    assert machine.status_code == 200
    refused = scheduler.client.get(f"/followups/{scheduler.followup_id()}", headers=bearer("S0045"))
    assert refused.json() == problem_document(
        403,
        "this follow-up is not yours to see: its audit does not name you and "
        "early_help is not one of your service areas",
    )


def test_before_the_audits_people_are_known_only_its_areas_leads_see_the_followup(scheduler):
    # S0004 audited it, and is the QA lead too, who reads every audit's records from the start.
    assert opened(scheduler, "S0003", "S0001", "S0004", "S0006", "S0005") == {
        "S0003": 200,
        "S0001": 200,
        "S0004": 200,
        "S0006": 403,
        "S0005": 403,
    }
    scheduler.deliver(graded())
    assert opened(scheduler, "S0006", "S0005") == {"S0006": 200, "S0005": 200}


def test_the_list_holds_only_the_followups_the_caller_may_see(scheduler):
    scheduler.deliver(graded())
    scheduler.deliver(moderation_requested("AUD-1", "S0018", case_id="CASE-1"))
    scheduler.deliver(
        InadequateFound(
            case_id="CASE-2",
            audit_id="AUD-2",
            service_area="care_leavers",
            team_id="CL-NORTH",
            graded_at=GRADED,
            found_by="auditor",
        )
    )

    def listed(who: str, **params: str) -> set[str]:
        found = scheduler.client.get("/followups", params=params, headers=bearer(who)).json()
        return {f["audit_id"] for f in found}

    assert listed("S9001") == listed("S0002") | listed("S0001") == {"AUD-1", "AUD-2"}
    assert listed("S0006") == listed("S0018") == listed("S0003") == {"AUD-1"}
    assert listed("S0059") == listed("S0002") == {"AUD-2"}
    assert listed("S0007") == listed("S0045") == set()
    assert listed("S9001", audit_id="AUD-2") == {"AUD-2"}
    assert listed("S0006", service_area="care_leavers") == set()  # filtered, not refused


def at_reaudit(scheduler: Scheduler) -> str:
    scheduler.deliver(graded())
    assert scheduler.hold(scheduler.followup_id()).json()["step"] == "reaudit"
    return scheduler.followup_id()


def reassign(scheduler: Scheduler, who: str, followup_id: str, to: str = "S0018", **body):
    return scheduler.client.post(
        f"/followups/{followup_id}/reassign",
        json={"to": to, "reason": "The auditor is on leave", **body},
        headers=bearer(who),
    )


def scheduled_owners(scheduler: Scheduler) -> list[tuple[str, str]]:
    with Session(scheduler.engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    events = [json.loads(row.value) for row in rows]
    return [
        (e["data"]["action"], e["data"]["owner_id"])
        for e in events
        if e["type"] == "qa.followup.scheduled.v1"
    ]


def test_the_areas_assistant_director_reassigns_the_reaudit_and_the_new_owner_is_announced(
    scheduler,
):
    followup_id = at_reaudit(scheduler)
    moved = reassign(scheduler, "S0001", followup_id)
    assert (moved.status_code, moved.json()["owner_id"], moved.json()["step"]) == (
        200,
        "S0018",
        "reaudit",
    )
    assert scheduled_owners(scheduler)[-2:] == [("reaudit", AUDITOR), ("reaudit", "S0018")]
    assert reassign(scheduler, "S9001", followup_id, to="S0009").json()["owner_id"] == "S0009"
    view = scheduler.client.get(f"/followups/{followup_id}").json()
    assert [line["detail"]["to"] for line in view["timeline"] if "reassigned" in line["what"]] == [
        "S0018",
        "S0009",
    ]


def test_only_the_areas_assistant_director_or_an_admin_may_reassign(scheduler):
    followup_id = at_reaudit(scheduler)
    # Another area's director, the area's Head of Service, the auditor, the practitioner
    statuses = {who: reassign(scheduler, who, followup_id).status_code for who in DO_NOT_REASSIGN}
    assert statuses == dict.fromkeys(DO_NOT_REASSIGN, 403)
    assert scheduler.client.get(f"/followups/{followup_id}").json()["owner_id"] == AUDITOR
    assert reassign(scheduler, "S0001", "FU-NONE").status_code == 404


DO_NOT_REASSIGN = ("S0002", "S0003", "S0004", "S0006")


def test_a_reassignment_breaking_a_rule_answers_422_naming_it(scheduler):
    scheduler.deliver(graded())
    early = reassign(scheduler, "S0001", scheduler.followup_id())
    assert (early.status_code, early.json()["errors"][0]["loc"]) == (422, ["body", "followup"])
    followup_id = at_reaudit(scheduler)
    to_the_manager = reassign(scheduler, "S0001", followup_id, to="S0005")
    assert to_the_manager.json() == problem_document(
        422,
        "to: must not be the case's team manager",
        [
            {
                "loc": ["body", "to"],
                "field": "to",
                "msg": "must not be the case's team manager",
                "type": "followup_rule",
            }
        ],
    )


def test_a_refused_reaudit_is_on_the_followups_answer_for_a_manager_to_see(scheduler):
    followup_id = at_reaudit(scheduler)
    forged = audit_graded(
        "CASE-1",
        "good",
        "AUD-9",
        audit_kind="reaudit",
        reaudit_of="AUD-1",
        auditor_id="S0005",
        team_manager_id="S0005",
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=GRADED,
    )
    scheduler.deliver(forged)
    view = scheduler.client.get(f"/followups/{followup_id}").json()
    assert (view["status"], view["refused_reaudits"]) == (
        "open",
        [
            {
                "audit_id": "AUD-9",
                "auditor_id": "S0005",
                "reason": "case_team_manager",
                "at": "2026-11-25T10:00:00Z",
            }
        ],
    )
    assert view["timeline"][-1]["what"] == "reaudit refused"


def test_agreed_actions_that_look_like_personal_data_answer_422_until_confirmed(scheduler):
    scheduler.deliver(graded())
    actions = ["Sam's mum to attend the review"]
    asked = scheduler.hold(scheduler.followup_id(), agreed_actions=actions)
    [problem] = asked.json()["errors"]
    assert (asked.status_code, problem["loc"], problem["type"], problem["ctx"]) == (
        422,
        ["body", "agreed_actions[0]"],
        "needs_confirmation",
        {"confirm": "personal_data"},
    )
    kept = scheduler.hold(
        scheduler.followup_id(), agreed_actions=actions, confirmed=["personal_data"]
    )
    assert (kept.status_code, kept.json()["agreed_actions"]) == (200, actions)


def test_twenty_one_agreed_actions_answer_422(scheduler):
    scheduler.deliver(graded())
    refused = scheduler.hold(scheduler.followup_id(), agreed_actions=["Visit"] * 21)
    assert (refused.status_code, refused.json()["errors"][0]["loc"]) == (
        422,
        ["body", "agreed_actions"],
    )


def found(audit_id: str, case_id: str, service_area: str, team_id: str) -> InadequateFound:
    return InadequateFound(
        case_id=case_id,
        audit_id=audit_id,
        service_area=service_area,
        team_id=team_id,
        graded_at=GRADED,
        found_by="auditor",
    )


def test_timeliness_counts_only_the_followups_the_caller_may_see(scheduler):
    scheduler.deliver(graded())
    scheduler.deliver(found("AUD-2", "CASE-2", "care_leavers", "CL-NORTH"))

    def counted(who: str) -> dict[str, int]:
        answer = scheduler.client.get(
            "/stats/timeliness",
            params={"from_month": "2026-11", "to_month": "2026-11"},
            headers=bearer(who),
        )
        return {row["service_area"]: row["followups"] for row in answer.json() if row["followups"]}

    assert counted("S9001") == counted("S0004") == {"early_help": 1, "care_leavers": 1}
    assert counted("S0003") == counted("S0006") == {"early_help": 1}  # lead; named by the audit
    assert counted("S0059") == {"care_leavers": 1}
    assert counted("S0007") == {}  # another practitioner


def test_timeliness_has_every_month_for_the_areas_in_view_with_zeros(scheduler):
    scheduler.deliver(graded())

    def rows(who: str) -> list[tuple[str, str, int]]:
        answer = scheduler.client.get(
            "/stats/timeliness",
            params={"from_month": "2026-10", "to_month": "2026-11"},
            headers=bearer(who),
        )
        assert answer.status_code == 200, answer.text
        return [(r["month"], r["service_area"], r["followups"]) for r in answer.json()]

    every = rows("S9001")
    assert len(every) == 2 * 5
    assert sum(count for *_, count in every) == 1
    assert ("2026-10", "early_help", 0) in every
    assert ("2026-11", "early_help", 1) in every
    assert rows("S0003") == [("2026-10", "early_help", 0), ("2026-11", "early_help", 1)]
    assert rows("S0006") == [("2026-10", "early_help", 0), ("2026-11", "early_help", 1)]
    assert rows("S0007") == []
    [empty] = list(
        scheduler.client.get(
            "/stats/timeliness",
            params={"from_month": "2026-10", "to_month": "2026-10"},
            headers=bearer("S0003"),
        ).json()
    )
    assert (empty["followups"], empty["conversations_on_time_pct"], empty["improved_pct"]) == (
        0,
        None,
        None,
    )


def test_the_list_finds_a_cases_followups(scheduler):
    scheduler.deliver(found("AUD-2", "CASE-2", "early_help", "EH-NORTH"))

    def listed(**params: str) -> list[str]:
        answer = scheduler.client.get("/followups", params=params, headers=bearer("S9001"))
        assert answer.status_code == 200, answer.text
        return [f["case_id"] for f in answer.json()]

    assert sorted(listed()) == ["CASE-1", "CASE-2"]
    assert listed(case_id="CASE-2") == ["CASE-2"]
    assert listed(case_id="CASE-9") == []


def test_the_list_answers_one_page_at_a_time_soonest_due_first(scheduler):
    for n in range(2, 5):
        scheduler.deliver(found(f"AUD-{n}", f"CASE-{n}", "early_help", "EH-NORTH"))

    def page(**params: object) -> list[str]:
        answer = scheduler.client.get("/followups", params=params, headers=bearer("S9001"))
        return [f["audit_id"] for f in answer.json()]

    everything = page()
    assert len(everything) == 4
    assert page(limit=3) + page(limit=3, offset=3) == everything
    assert page(limit=2, offset=1) == everything[1:3]
    scheduler.clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert page(status="overdue", limit=1, offset=3) == everything[3:]
    assert scheduler.client.get("/followups", params={"limit": 501}).status_code == 422
