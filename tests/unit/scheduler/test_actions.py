"""Agreed actions through the scheduler's own wiring, on SQLite with a controlled clock: created
by the conversation, reminded and escalated by the timer pass, changed with their history, and
holding an improved follow-up open until the last one settles."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, col, select

from services.scheduler.action_changes import ActionChangeForm
from services.scheduler.action_decisions import VerificationForm
from services.scheduler.action_handlers import update_action, verify_action
from services.scheduler.conversation import ConversationForm
from services.scheduler.handlers import record_conversation
from services.scheduler.models import ActionRecord, FollowUp, Timer
from services.scheduler.retention import purge_followups
from services.scheduler.settings import SchedulerSettings
from shared.db import transaction
from shared.migrations import upgrade
from tests.unit.scheduler.test_followups import (
    AUDITOR,
    HEAD_OF_SERVICE,
    World,
    graded,
    inadequate,
)

TEAM_MANAGER, PRACTITIONER = "S0005", "S0006"


@pytest.fixture
def world(sqlite_engine) -> World:
    upgrade("scheduler", str(sqlite_engine.url))
    world = World(sqlite_engine)
    world.deliver(graded())
    world.deliver(inadequate())
    world.new_events()
    return world


def hold(world: World, *agreed, held_on: date = date(2026, 11, 25)) -> None:
    form = ConversationForm.model_validate(
        {
            "held_on": held_on,
            "recorded_by": HEAD_OF_SERVICE,
            "attendees": [HEAD_OF_SERVICE, PRACTITIONER],
            "agreed_actions": list(agreed),
        }
    )
    with transaction(world.engine) as session:
        record_conversation(session, world.followup().id, form, world.ctx)


def change(world: World, action_id: str, by: str, request_id: str, **fields):
    form = ActionChangeForm(changed_by=by, request_id=request_id, **fields)
    with transaction(world.engine) as session:
        return update_action(session, action_id, form, world.ctx)


def action_timers(world: World, action_id: str) -> list[tuple[str, int, str, bool]]:
    with Session(world.engine) as session:
        rows = session.exec(
            select(Timer).where(Timer.action_id == action_id).order_by(col(Timer.id))
        ).all()
        return [(t.kind, t.sequence, t.fire_at.date().isoformat(), t.cancelled) for t in rows]


def test_a_conversation_creates_one_action_per_item_each_announced_with_its_owner_and_date(world):
    world.at("2026-11-25T10:00:00+00:00")
    hold(
        world,
        "Visit within 10 days and see the child alone",
        {"what": "Book a strategy meeting", "owner_id": PRACTITIONER, "due_on": "2026-12-04"},
    )
    first, second = world.actions()
    assert (first.what, first.owner_id, first.due_on, first.status) == (
        "Visit within 10 days and see the child alone",
        TEAM_MANAGER,
        date(2027, 1, 5),
        "open",
    )
    assert (second.owner_id, second.due_on, second.origin, second.origin_id) == (
        PRACTITIONER,
        date(2026, 12, 4),
        "followup",
        world.followup().id,
    )
    agreed = [data for kind, data in world.new_events() if kind == "qa.action.agreed.v1"]
    assert [(a["action_id"], a["owner_id"], a["due_on"]) for a in agreed] == [
        (first.id, TEAM_MANAGER, "2027-01-05"),
        (second.id, PRACTITIONER, "2026-12-04"),
    ]
    assert all("what" not in data for data in agreed)  # no free text on events
    assert world.followup().agreed_actions == [first.what, second.what]
    assert [k for k, *_ in action_timers(world, second.id)] == [
        "two_working_days_before",
        "due_today",
        "overdue",
    ]


def test_reminders_and_escalation_fire_once_and_stop_when_the_owner_marks_it_done(world):
    world.at("2026-11-25T10:00:00+00:00")
    hold(world, {"what": "Book a meeting", "owner_id": PRACTITIONER, "due_on": "2026-12-04"})
    [action] = world.actions()
    world.new_events()
    assert world.at("2026-12-02T08:00:00+00:00").tick() == 1
    assert world.tick() == 0  # once, however often the pass looks
    [(kind, reminder)] = world.new_events()
    assert (kind, reminder["reminder"], reminder["owner_id"]) == (
        "qa.action.reminder-due.v1",
        "two_working_days_before",
        PRACTITIONER,
    )
    world.at("2026-12-07T08:00:00+00:00").tick()  # due today missed; Monday: overdue
    kinds = [(kind, data.get("escalated_to_id")) for kind, data in world.new_events()]
    assert kinds == [("qa.action.reminder-due.v1", None), ("qa.action.overdue.v1", TEAM_MANAGER)]

    change(world, action.id, PRACTITIONER, "done-0001", status="done")
    assert [kind for kind, _ in world.new_events()] == ["qa.action.completed.v1"]
    assert world.at("2026-12-09T08:00:00+00:00").tick() == 0  # the repeat was called off
    assert action_timers(world, action.id)[-1] == ("overdue", 1, "2026-12-09", True)


def test_a_new_due_date_replans_the_reminders_numbering_on_from_those_that_fired(world):
    world.at("2026-11-25T10:00:00+00:00")
    hold(world, {"what": "Book a meeting", "owner_id": PRACTITIONER, "due_on": "2026-12-04"})
    [action] = world.actions()
    world.at("2026-12-02T08:00:00+00:00").tick()
    change(world, action.id, TEAM_MANAGER, "redate-0001", due_on=date(2026, 12, 18))
    assert action_timers(world, action.id) == [
        ("two_working_days_before", 0, "2026-12-02", False),  # fired: kept as it was
        ("due_today", 0, "2026-12-04", True),
        ("overdue", 0, "2026-12-07", True),
        ("two_working_days_before", 1, "2026-12-16", False),
        ("due_today", 1, "2026-12-18", False),
        ("overdue", 1, "2026-12-21", False),
    ]
    [stored] = world.actions()
    assert [line["what"] for line in stored.history] == [
        "agreed",
        "reminder: two working days before",
        "due date: 2026-12-04 to 2026-12-18",
    ]
    assert [line["by"] for line in stored.history] == [HEAD_OF_SERVICE, "scheduler", TEAM_MANAGER]


def test_the_same_request_again_changes_nothing_and_another_action_may_not_reuse_it(world):
    world.at("2026-11-25T10:00:00+00:00")
    hold(world, "Visit weekly", {"what": "Book a meeting", "owner_id": PRACTITIONER})
    first, second = world.actions()
    world.new_events()
    change(world, first.id, TEAM_MANAGER, "evidence-0001", evidence="Visit booked")
    again = change(world, first.id, TEAM_MANAGER, "evidence-0001", evidence="Visit booked")
    assert len(again.evidence) == 1
    assert [kind for kind, _ in world.new_events()] == ["qa.action.updated.v1"]
    with pytest.raises(Exception, match="was used for another action"):
        change(world, second.id, PRACTITIONER, "evidence-0001", evidence="Booked")


def reaudited(world: World, grade: str = "good") -> None:
    world.at("2027-01-05T12:00:00+00:00").deliver(
        graded("AUD-2", grade, "AUD-1", at=datetime(2027, 1, 5, 11, tzinfo=UTC))
    )


def test_an_improved_reaudit_waits_for_the_last_open_action_then_completes_the_followup(world):
    world.at("2026-11-25T10:00:00+00:00")
    hold(world, "Visit weekly", {"what": "Book a meeting", "owner_id": PRACTITIONER})
    first, second = world.actions()
    change(world, first.id, TEAM_MANAGER, "done-0001", status="done")
    world.new_events()

    reaudited(world)
    followup = world.followup()
    assert (followup.status, followup.outcome, followup.reaudit_id) == ("open", None, "AUD-2")
    assert world.new_events() == []
    world.at("2027-01-07T09:00:00+00:00").tick()  # the held re-audit's own timers are off
    assert [kind for kind, _ in world.new_events()] == [
        "qa.action.reminder-due.v1",
        "qa.action.reminder-due.v1",
        "qa.action.overdue.v1",
    ]

    change(
        world,
        second.id,
        HEAD_OF_SERVICE,
        "cancel-0001",
        status="cancelled",
        reason="Replaced by the child protection plan",
    )
    followup = world.followup()
    assert (followup.status, followup.outcome, followup.reaudit_id) == (
        "completed",
        "improved",
        "AUD-2",
    )
    assert [kind for kind, _ in world.new_events()] == [
        "qa.action.updated.v1",
        "qa.followup.completed.v1",
    ]


def test_a_still_inadequate_reaudit_completes_at_once_and_its_actions_go_on(world):
    world.at("2026-11-25T10:00:00+00:00")
    hold(world, "Visit weekly")
    reaudited(world, "inadequate")
    assert (world.followup().status, world.followup().outcome) == ("completed", "still_inadequate")
    [action] = world.actions()
    assert action.status == "open"
    assert [cancelled for *_, cancelled in action_timers(world, action.id)] == [False] * 3


def test_the_reaudits_owner_verifies_a_done_action(world):
    world.at("2026-11-25T10:00:00+00:00")
    hold(world, {"what": "Book a meeting", "owner_id": PRACTITIONER})
    [action] = world.actions()
    change(world, action.id, PRACTITIONER, "done-0001", status="done")
    form = VerificationForm(
        verified_by=AUDITOR, outcome="verified", reaudit_id="AUD-2", request_id="verify-0001"
    )
    with transaction(world.engine) as session:
        verified = verify_action(session, action.id, form, world.ctx)
    assert (verified.status, verified.reaudit_id) == ("verified", "AUD-2")
    [(kind, data)] = world.new_events()[-1:]
    assert (kind, data["change"], data["changed_by"]) == (
        "qa.action.updated.v1",
        "verified",
        AUDITOR,
    )


def test_a_closed_followup_keeps_its_actions_while_one_is_open_and_both_go_together(world):
    world.at("2026-11-25T10:00:00+00:00")
    hold(world, "Visit weekly")
    reaudited(world, "inadequate")  # closes the follow-up; the action stays open
    settings = SchedulerSettings(
        kafka_bootstrap_servers="127.0.0.1:9", case_record_retention_days=1
    )
    years_later = datetime(2030, 1, 1, tzinfo=UTC)
    purge_followups(world.engine, years_later, settings)
    [action] = world.actions()
    assert world.followup().status == "completed"  # kept: its action is open
    change(world, action.id, HEAD_OF_SERVICE, "cancel-0001", status="cancelled", reason="Closed")
    purge_followups(world.engine, years_later, settings)
    with Session(world.engine) as session:
        assert session.exec(select(ActionRecord)).all() == []
        assert session.exec(select(FollowUp)).all() == []
        assert session.exec(select(Timer)).all() == []
