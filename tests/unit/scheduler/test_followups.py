"""Follow-up life cycle, timers and out-of-order events, on SQLite with a controlled clock."""

import json
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from services.scheduler.action_changes import ActionChangeForm
from services.scheduler.action_handlers import update_action
from services.scheduler.conversation import ConversationForm, FollowUpRefused
from services.scheduler.decisions import Rules
from services.scheduler.handlers import event_handlers, reassign_reaudit, record_conversation
from services.scheduler.metrics import REAUDITS_REFUSED
from services.scheduler.models import ActionRecord, FollowUp, RefusedReauditRecord
from services.scheduler.reassignment import ReassignForm
from services.scheduler.store import SchedulerContext
from services.scheduler.timers import TimerService
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.db import create_db_engine, transaction
from shared.events import InadequateFound, ModerationCompleted, new_event
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.outbox import OutboxMessage
from tests.factories import audit_graded

HEAD_OF_SERVICE, ASSISTANT_DIRECTOR, AUDITOR = "S0003", "S0001", "S0004"
GRADED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday; conversation due Monday 30th


class World:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
        rules = Rules(load_organisation(), WorkingDayCalendar(), overdue_every=2, starts_at_hour=8)
        self.ctx = SchedulerContext(rules, self.clock)
        self.handlers = event_handlers(self.ctx)  # the service's own wiring
        self.seen = 0

    def deliver(self, data) -> None:
        event = new_event(data, source="/tests")
        process_once(self.engine, "scheduler", event, self.handlers[type(data)])

    def at(self, moment: str) -> "World":
        self.clock.at = datetime.fromisoformat(moment)
        return self

    def tick(self) -> int:
        return TimerService(self.engine, self.ctx).fire_due()

    def followup(self, audit_id: str = "AUD-1") -> FollowUp:
        with Session(self.engine) as session:
            return session.exec(select(FollowUp).where(FollowUp.audit_id == audit_id)).one()

    def new_events(self) -> list[tuple[str, dict]]:
        """Events queued in the outbox since the last call, as (type, data)."""
        with Session(self.engine) as session:
            rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        fresh, self.seen = rows[self.seen :], len(rows)
        return [(json.loads(r.value)["type"], json.loads(r.value)["data"]) for r in fresh]

    def hold_conversation(self, held_on: date, by: str = HEAD_OF_SERVICE, audit_id: str = "AUD-1"):
        form = ConversationForm(
            held_on=held_on,
            recorded_by=by,
            attendees=[by, "S0006"],
            agreed_actions=["Visit within 10 days and see the child alone"],
        )
        with transaction(self.engine) as session:
            return record_conversation(session, self.followup(audit_id).id, form, self.ctx)

    def actions(self) -> list[ActionRecord]:
        with Session(self.engine) as session:
            return list(session.exec(select(ActionRecord).order_by(ActionRecord.position)).all())

    def mark_actions_done(self) -> None:
        """Each open action marked done by its owner, so an improved re-audit completes."""
        for action in self.actions():
            if action.status == "open":
                form = ActionChangeForm(
                    changed_by=action.owner_id, status="done", request_id=f"done-{action.id}"
                )
                with transaction(self.engine) as session:
                    update_action(session, action.id, form, self.ctx)


@pytest.fixture
def world(sqlite_engine) -> World:
    upgrade("scheduler", str(sqlite_engine.url))
    return World(sqlite_engine)


def inadequate(audit_id: str = "AUD-1", found_by: str = "auditor", at: datetime = GRADED):
    return InadequateFound(
        case_id="CASE-1",
        audit_id=audit_id,
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=at,
        found_by=found_by,
    )


def graded(
    audit_id: str = "AUD-1",
    grade: str = "inadequate",
    reaudit_of: str | None = None,
    at: datetime = GRADED,
):
    return audit_graded(
        "CASE-1",
        grade,
        audit_id,
        service_area="early_help",
        team_id="EH-NORTH",
        auditor_id=AUDITOR,
        audit_kind="reaudit" if reaudit_of else "learning",
        reaudit_of=reaudit_of,
        graded_at=at,
    )


def moderated(grade: str, audit_id: str = "AUD-1"):
    difference = ["outstanding", "good", "requires_improvement", "inadequate"].index(grade) - 3
    return ModerationCompleted(
        case_id="CASE-1",
        moderation_id="MOD-1",
        audit_id=audit_id,
        moderator_id="S0002",
        auditor_grade="inadequate",
        moderated_grade=grade,
        grade_difference=difference,
        rationale="Regraded" if difference else None,
        moderated_at=GRADED,
    )


def test_full_life_cycle_with_reminders_reaudit_and_improvement(world):
    world.deliver(graded())
    world.deliver(inadequate())
    followup = world.followup()
    assert (followup.step, followup.owner_id, followup.due_on) == (
        "reflective_conversation",
        HEAD_OF_SERVICE,
        date(2026, 11, 30),
    )
    [(kind, scheduled)] = world.new_events()
    assert kind == "qa.followup.scheduled.v1"
    assert scheduled["due_on"] == "2026-11-30"

    assert world.at("2026-11-26T07:59:00+00:00").tick() == 0
    assert world.at("2026-11-26T08:00:00+00:00").tick() == 1
    assert world.new_events() == [
        (
            "qa.followup.reminder-due.v1",
            {
                "case_id": "CASE-1",
                "followup_id": followup.id,
                "audit_id": "AUD-1",
                "action": "reflective_conversation",
                "owner_id": HEAD_OF_SERVICE,
                "due_on": "2026-11-30",
                "reminder": "two_working_days_before",
            },
        )
    ]
    world.at("2026-11-30T08:00:00+00:00").tick()
    assert world.new_events()[0][1]["reminder"] == "due_today"

    world.at("2026-11-30T15:00:00+00:00").hold_conversation(date(2026, 11, 30))
    followup = world.followup()
    assert (followup.step, followup.owner_id, followup.due_on) == (
        "reaudit",
        AUDITOR,
        date(2027, 1, 11),
    )
    assert followup.conversation_late is False
    [(kind, scheduled), (agreed_kind, agreed)] = world.new_events()
    assert (kind, scheduled["action"], scheduled["due_on"]) == (
        "qa.followup.scheduled.v1",
        "reaudit",
        "2027-01-11",
    )
    # The bare text is the case's team manager's, due the working day before the re-audit.
    assert (agreed_kind, agreed["owner_id"], agreed["due_on"]) == (
        "qa.action.agreed.v1",
        "S0005",
        "2027-01-08",
    )
    assert world.at("2026-12-01T09:00:00+00:00").tick() == 0  # the conversation's escalation is off
    assert world.new_events() == []

    world.at("2027-01-05T12:00:00+00:00").mark_actions_done()
    assert [kind for kind, _ in world.new_events()] == ["qa.action.completed.v1"]
    world.at("2027-01-07T12:00:00+00:00").deliver(
        graded("AUD-2", "requires_improvement", "AUD-1", at=datetime(2027, 1, 7, 11, tzinfo=UTC))
    )
    followup = world.followup()
    assert (followup.status, followup.outcome, followup.reaudit_id) == (
        "completed",
        "improved",
        "AUD-2",
    )
    [(kind, completed)] = world.new_events()
    assert kind == "qa.followup.completed.v1"
    assert (completed["outcome"], completed["escalated_to_id"]) == ("improved", None)


def test_overdue_conversation_escalates_to_the_assistant_director_then_repeats(world):
    world.deliver(inadequate())
    world.new_events()
    world.at("2026-12-01T08:00:00+00:00").tick()  # both reminders and the first escalation
    events = world.new_events()
    assert [e[1].get("reminder") for e in events[:2]] == ["two_working_days_before", "due_today"]
    kind, overdue = events[2]
    assert (kind, overdue["escalated_to_id"], overdue["working_days_overdue"]) == (
        "qa.followup.overdue.v1",
        ASSISTANT_DIRECTOR,
        1,
    )
    assert world.tick() == 0  # fired once, however often we look
    assert world.at("2026-12-03T08:00:00+00:00").tick() == 1  # every 2 working days
    assert world.new_events()[0][1]["working_days_overdue"] == 3


def test_a_late_conversation_is_recorded_as_late(world):
    world.deliver(graded())
    world.deliver(inadequate())
    followup, _ = world.at("2026-12-02T10:00:00+00:00").hold_conversation(date(2026, 12, 2))
    assert followup.conversation_late is True
    assert followup.step == "reaudit"


@pytest.mark.parametrize(
    ("held_on", "by", "field"),
    [
        (date(2026, 11, 24), "S0001", "recorded_by"),
        (date(2026, 11, 20), HEAD_OF_SERVICE, "held_on"),
        (date(2026, 11, 25), HEAD_OF_SERVICE, "held_on"),
    ],
)
def test_conversation_rules(world, held_on, by, field):
    world.deliver(inadequate())
    with pytest.raises(FollowUpRefused) as refused:
        world.at("2026-11-24T10:00:00+00:00").hold_conversation(held_on, by)
    assert refused.value.field == field


def test_recording_the_same_conversation_twice_is_one_conversation(world):
    world.deliver(graded())
    world.deliver(inadequate())
    world.at("2026-11-25T10:00:00+00:00").hold_conversation(date(2026, 11, 25))
    world.new_events()
    _, replayed = world.hold_conversation(date(2026, 11, 25))
    assert replayed is True
    assert world.new_events() == []


def test_a_second_finding_for_the_same_audit_opens_no_second_followup(world):
    world.deliver(inadequate())
    world.deliver(inadequate(found_by="moderation", at=datetime(2026, 11, 24, tzinfo=UTC)))
    assert len(world.new_events()) == 1
    assert world.followup().grading_day == date(2026, 11, 23)


def final_state(world) -> tuple:
    followup = world.followup()
    return (
        followup.status,
        followup.cancelled_reason,
        followup.outcome,
        sorted(kind for kind, _ in world.new_events()),
    )


def test_moderation_before_or_after_the_finding_ends_in_the_same_cancelled_state(
    sqlite_engine, tmp_path
):
    states = []
    for order in ([inadequate(), moderated("good")], [moderated("good"), inadequate()]):
        engine_url = f"sqlite:///{tmp_path / f'order{len(states)}.db'}"
        world = World(create_db_engine(engine_url))
        upgrade("scheduler", engine_url)
        for data in order:
            world.deliver(data)
        states.append(final_state(world))
    assert (
        states[0]
        == states[1]
        == (
            "cancelled",
            "Moderation regraded the audit as good",
            None,
            ["qa.followup.cancelled.v1", "qa.followup.scheduled.v1"],
        )
    )


def test_moderation_confirming_inadequate_changes_nothing(world):
    world.deliver(inadequate())
    world.deliver(moderated("inadequate"))
    assert world.followup().status == "open"


def refused_reaudits(world: World) -> list[tuple[str, str, str]]:
    with Session(world.engine) as session:
        rows = session.exec(select(RefusedReauditRecord).order_by(RefusedReauditRecord.audit_id))
        return [(r.audit_id, r.auditor_id, r.reason) for r in rows.all()]


def refusals_counted(reason: str) -> float:
    return REAUDITS_REFUSED.labels(reason)._value.get()


def test_a_reaudit_before_the_conversation_is_kept_as_refused_and_the_followup_goes_on(world):
    world.deliver(graded())
    world.deliver(inadequate())
    world.new_events()
    counted = refusals_counted("not_at_reaudit_step")
    world.at("2026-11-27T10:00:00+00:00").deliver(graded("AUD-2", "good", "AUD-1"))
    assert (world.followup().status, world.followup().step) == ("open", "reflective_conversation")
    assert refused_reaudits(world) == [("AUD-2", AUDITOR, "not_at_reaudit_step")]
    assert refusals_counted("not_at_reaudit_step") == counted + 1
    assert world.new_events() == []  # nobody is told the follow-up moved: it did not
    followup, _ = world.hold_conversation(date(2026, 11, 26))
    assert (followup.status, followup.step, followup.reaudit_due_on) == (
        "open",
        "reaudit",
        date(2027, 1, 7),
    )


def test_a_reaudit_before_the_finding_is_refused_when_the_followup_opens(world):
    world.deliver(graded("AUD-2", "requires_improvement", "AUD-1"))
    world.deliver(inadequate())
    assert (world.followup().status, world.followup().outcome) == ("open", None)
    assert refused_reaudits(world) == [("AUD-2", AUDITOR, "not_at_reaudit_step")]


@pytest.mark.parametrize(
    ("auditor", "reason"),
    [("S0005", "case_team_manager"), ("S0017", "not_assigned_auditor")],
    ids=["the case's team manager", "another area's head of service"],
)
def test_at_its_reaudit_only_the_assigned_auditors_reaudit_completes_the_followup(
    world, auditor, reason
):
    world.deliver(graded())
    world.deliver(inadequate())
    world.at("2026-11-25T10:00:00+00:00").hold_conversation(date(2026, 11, 25))
    world.new_events()
    forged = graded("AUD-2", "good", "AUD-1").model_copy(update={"auditor_id": auditor})
    world.at("2026-11-26T10:00:00+00:00").deliver(forged)
    world.deliver(forged)  # delivered again: still one refusal
    assert (world.followup().status, world.followup().owner_id) == ("open", AUDITOR)
    assert refused_reaudits(world) == [("AUD-2", auditor, reason)]
    assert world.new_events() == []
    world.at("2027-01-07T10:00:00+00:00").mark_actions_done()
    world.deliver(graded("AUD-3", "good", "AUD-1"))
    assert (world.followup().status, world.followup().reaudit_id) == ("completed", "AUD-3")
    world.deliver(moderated("inadequate"))  # settling again judges nothing twice
    assert refused_reaudits(world) == [("AUD-2", auditor, reason)]


def test_a_reassigned_reaudit_is_completed_by_its_new_owner_and_no_longer_by_the_auditor(world):
    world.deliver(graded())
    world.deliver(inadequate())
    world.at("2026-11-25T10:00:00+00:00").hold_conversation(date(2026, 11, 25))
    world.new_events()
    with transaction(world.engine) as session:
        form = ReassignForm(to="S0018", reason="The auditor is on long-term leave")
        reassign_reaudit(session, world.followup().id, form, ASSISTANT_DIRECTOR, world.ctx)
    [(kind, scheduled)] = world.new_events()
    assert (kind, scheduled["action"], scheduled["owner_id"], scheduled["due_on"]) == (
        "qa.followup.scheduled.v1",
        "reaudit",
        "S0018",
        "2027-01-06",
    )
    world.at("2027-01-04T09:00:00+00:00").tick()  # the reminder goes to the new owner
    reminded = [data["owner_id"] for kind, data in world.new_events() if "followup" in kind]
    assert reminded == ["S0018"]
    world.at("2027-01-06T10:00:00+00:00").deliver(graded("AUD-2", "good", "AUD-1"))
    assert refused_reaudits(world) == [("AUD-2", AUDITOR, "not_assigned_auditor")]
    reaudit = graded("AUD-3", "good", "AUD-1").model_copy(update={"auditor_id": "S0018"})
    world.mark_actions_done()
    world.deliver(reaudit)
    assert (world.followup().status, world.followup().reaudit_id) == ("completed", "AUD-3")


def test_still_inadequate_escalates_and_the_reaudits_own_finding_starts_a_new_followup(world):
    world.deliver(graded())
    world.deliver(inadequate())
    world.at("2026-11-25T10:00:00+00:00").hold_conversation(date(2026, 11, 25))
    world.new_events()
    reaudit_at = datetime(2027, 1, 6, 10, tzinfo=UTC)
    world.at("2027-01-06T11:00:00+00:00").deliver(
        graded("AUD-2", "inadequate", "AUD-1", reaudit_at)
    )
    world.deliver(inadequate("AUD-2", at=reaudit_at))
    [(completed_kind, completed), (scheduled_kind, scheduled)] = world.new_events()
    assert (completed_kind, completed["outcome"], completed["escalated_to_id"]) == (
        "qa.followup.completed.v1",
        "still_inadequate",
        ASSISTANT_DIRECTOR,
    )
    assert (scheduled_kind, scheduled["audit_id"], scheduled["due_on"]) == (
        "qa.followup.scheduled.v1",
        "AUD-2",
        "2027-01-13",
    )


def test_timers_already_due_when_the_service_starts_fire_at_once(world):
    world.deliver(inadequate())
    world.new_events()
    assert world.at("2026-12-10T09:00:00+00:00").tick() == 3
    kinds = [kind for kind, _ in world.new_events()]
    assert kinds == ["qa.followup.reminder-due.v1"] * 2 + ["qa.followup.overdue.v1"]
    # The repeat is planned from today, not from the missed day: no burst of escalations.
    assert world.tick() == 0
