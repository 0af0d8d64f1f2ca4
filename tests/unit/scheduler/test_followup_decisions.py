"""What each decision changes and which events follow, with plain values and no database."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.scheduler.conversation import (
    AlreadyRecorded,
    ConversationForm,
    FollowUpRefused,
    hold_conversation,
)
from services.scheduler.decisions import (
    Facts,
    Moderation,
    Reaudit,
    RefusedReaudit,
    Rules,
    TimerPlan,
    fire_timer,
    open_followup,
    settle,
)
from services.scheduler.domain import TimerKind
from services.scheduler.followup import FollowUpState, FollowUpStatus, NotYetKnown
from services.scheduler.reaudits import ReauditRefusal
from shared.calendar import WorkingDayCalendar
from shared.confirmations import NeedsConfirmation
from shared.events import (
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
    InadequateFound,
    ReminderDue,
)
from shared.events.vocabulary import FollowUpAction, FollowUpOutcome, FoundBy, Grade, ServiceArea
from shared.organisation import load_organisation

RULES = Rules(load_organisation(), WorkingDayCalendar(), overdue_every=2, starts_at_hour=8)
HEAD_OF_SERVICE, ASSISTANT_DIRECTOR, AUDITOR = "S0003", "S0001", "S0004"
GRADED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday; conversation due Monday 30th
NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # the Friday after
NO_FACTS = Facts()
CONVERSATION, REAUDIT = FollowUpAction.REFLECTIVE_CONVERSATION, FollowUpAction.REAUDIT


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def finding(found_by: FoundBy = FoundBy.AUDITOR) -> InadequateFound:
    return InadequateFound(
        case_id="CASE-1",
        audit_id="AUD-1",
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=GRADED,
        found_by=found_by,
    )


def opened(facts: Facts = NO_FACTS, now: datetime = NOW, found_by: FoundBy = FoundBy.AUDITOR):
    return open_followup(finding(found_by), "EV-1", "FU-1", facts, now, RULES)


def followup(**changes) -> FollowUpState:
    state = FollowUpState(
        id="FU-1",
        audit_id="AUD-1",
        case_id="CASE-1",
        service_area=ServiceArea.EARLY_HELP,
        team_id="EH-NORTH",
        found_by=FoundBy.AUDITOR,
        grading_day=date(2026, 11, 23),
        status=FollowUpStatus.OPEN,
        step=CONVERSATION,
        owner_id=HEAD_OF_SERVICE,
        due_on=date(2026, 11, 30),
        conversation_due_on=date(2026, 11, 30),
        opened_at=NOW,
    )
    return replace(state, **changes)


def form(held_on: date = date(2026, 11, 25), **changes) -> ConversationForm:
    fields = {
        "held_on": held_on,
        "recorded_by": HEAD_OF_SERVICE,
        "attendees": [HEAD_OF_SERVICE, "S0006"],
        "agreed_actions": ["Visit within 10 days and see the child alone"],
    }
    return ConversationForm.model_validate({**fields, **changes})


# --- opening and settling ------------------------------------------------------------


def test_a_finding_opens_a_conversation_owned_by_the_head_of_service_due_in_five_working_days():
    decision = opened()
    assert decision.followup == followup()
    [scheduled] = decision.events
    assert isinstance(scheduled, FollowUpScheduled)
    assert (scheduled.action, scheduled.owner_id, scheduled.due_on, scheduled.scheduled_at) == (
        CONVERSATION,
        HEAD_OF_SERVICE,
        date(2026, 11, 30),
        NOW,
    )
    assert [(n.what, n.detail) for n in decision.notes] == [
        ("opened", {"found_by": "auditor", "event_id": "EV-1"}),
        ("reflective_conversation scheduled", {"due_on": "2026-11-30", "owner_id": "S0003"}),
    ]
    assert decision.timers == (
        TimerPlan(CONVERSATION, TimerKind.TWO_WORKING_DAYS_BEFORE, at("2026-11-26T08:00+00:00")),
        TimerPlan(CONVERSATION, TimerKind.DUE_TODAY, at("2026-11-30T08:00+00:00")),
        TimerPlan(CONVERSATION, TimerKind.OVERDUE, at("2026-12-01T08:00+00:00")),
    )
    assert decision.cancels_timers is False


def test_a_finding_that_arrives_late_plans_no_reminder_whose_moment_has_passed():
    decision = opened(now=at("2026-11-30T09:00+00:00"))
    assert [t.kind for t in decision.timers] == [TimerKind.OVERDUE]


def test_a_finding_after_an_overturning_moderation_opens_cancelled_with_no_timers():
    decision = opened(Facts(moderation=Moderation("MOD-1", Grade.GOOD)))
    assert decision.followup.status is FollowUpStatus.CANCELLED
    assert decision.followup.cancelled_reason == "Moderation regraded the audit as good"
    assert [type(e) for e in decision.events] == [FollowUpScheduled, FollowUpCancelled]
    assert (decision.timers, decision.cancels_timers) == ((), True)
    assert decision.notes[-1].detail == {
        "reason": "Moderation regraded the audit as good",
        "moderation_id": "MOD-1",
    }


def test_a_reaudit_known_before_the_finding_is_kept_as_refused_and_the_followup_opens():
    reaudit = Reaudit("AUD-2", Grade.REQUIRES_IMPROVEMENT, at("2026-11-27T10:00+00:00"), AUDITOR)
    decision = opened(Facts(reaudits=(reaudit,)))
    assert decision.followup == followup()
    assert [type(e) for e in decision.events] == [FollowUpScheduled]
    assert decision.refused == (
        RefusedReaudit("AUD-2", AUDITOR, ReauditRefusal.NOT_AT_REAUDIT_STEP),
    )
    assert (decision.notes[-1].what, decision.notes[-1].detail) == (
        "reaudit refused",
        {"reaudit_id": "AUD-2", "auditor_id": AUDITOR, "reason": "not_at_reaudit_step"},
    )
    assert len(decision.timers) == 3


def test_a_moderators_own_finding_is_not_cancelled_by_moderation():
    facts = Facts(moderation=Moderation("MOD-1", Grade.GOOD))
    decision = settle(followup(found_by=FoundBy.MODERATION), facts, NOW, RULES)
    assert (decision.followup, decision.events) == (followup(found_by=FoundBy.MODERATION), ())


def test_settling_by_no_new_facts_changes_nothing():
    decision = settle(followup(), Facts(auditor_id=AUDITOR), NOW, RULES)
    assert (decision.followup, decision.events, decision.notes) == (followup(), (), ())


def test_a_still_inadequate_reaudit_completes_naming_the_assistant_director_on_its_uk_day():
    # 23:30 UTC in summer is half past midnight in the UK: the re-audit is of 1 July.
    reaudit = Reaudit("AUD-2", Grade.INADEQUATE, at("2027-06-30T23:30+00:00"), AUDITOR)
    facts = Facts(reaudits=(reaudit,))
    decision = settle(followup(step=REAUDIT, owner_id=AUDITOR), facts, NOW, RULES)
    [completed] = decision.events
    assert isinstance(completed, FollowUpCompleted)
    assert (completed.outcome, completed.escalated_to_id, completed.action) == (
        FollowUpOutcome.STILL_INADEQUATE,
        ASSISTANT_DIRECTOR,
        REAUDIT,
    )
    assert decision.followup.reaudit_graded_on == date(2027, 7, 1)
    assert decision.cancels_timers is True


def test_a_closed_followup_is_not_completed_or_cancelled_again():
    closed = followup(status=FollowUpStatus.COMPLETED, step=REAUDIT, owner_id=AUDITOR)
    facts = Facts(
        moderation=Moderation("MOD-1", Grade.GOOD),
        reaudits=(Reaudit("AUD-2", Grade.GOOD, NOW, AUDITOR),),
    )
    decision = settle(closed, facts, NOW, RULES)
    assert (decision.followup, decision.events) == (closed, ())
    assert decision.refused == (RefusedReaudit("AUD-2", AUDITOR, ReauditRefusal.FOLLOWUP_CLOSED),)


AT_REAUDIT = {"step": REAUDIT, "owner_id": AUDITOR}


@pytest.mark.parametrize(
    ("state", "auditor", "named_manager", "reason"),
    [
        ({}, AUDITOR, "S0005", ReauditRefusal.NOT_AT_REAUDIT_STEP),
        ({**AT_REAUDIT, "status": FollowUpStatus.CANCELLED}, AUDITOR, "S0005", "followup_closed"),
        # EH-NORTH's manager by the organisation file, though assigned; and by the re-audit
        ({"step": REAUDIT, "owner_id": "S0005"}, "S0005", "S0099", "case_team_manager"),
        (AT_REAUDIT, "S0009", "S0009", ReauditRefusal.CASE_TEAM_MANAGER),
        (AT_REAUDIT, "S0018", "S0005", ReauditRefusal.NOT_ASSIGNED_AUDITOR),
    ],
)
def test_a_reaudit_that_may_not_complete_the_followup_is_kept_as_refused_and_changes_nothing(
    state, auditor, named_manager, reason
):
    before = followup(**state)
    reaudit = Reaudit("AUD-2", Grade.GOOD, NOW, auditor, named_manager)
    decision = settle(before, Facts(auditor_id=AUDITOR, reaudits=(reaudit,)), LATER, RULES)
    assert (decision.followup, decision.events, decision.timers) == (before, (), ())
    assert decision.cancels_timers is False
    assert decision.refused == (RefusedReaudit("AUD-2", auditor, ReauditRefusal(reason)),)


def test_the_assigned_auditors_reaudit_completes_even_after_someone_elses_was_refused():
    wrong = Reaudit("AUD-2", Grade.GOOD, NOW, "S0018", "S0005")
    right = Reaudit("AUD-3", Grade.GOOD, LATER, AUDITOR, "S0005")
    late = Reaudit("AUD-4", Grade.GOOD, LATER, AUDITOR, "S0005")
    facts = Facts(auditor_id=AUDITOR, reaudits=(wrong, right, late))
    decision = settle(followup(**AT_REAUDIT), facts, LATER, RULES)
    assert (decision.followup.status, decision.followup.reaudit_id) == ("completed", "AUD-3")
    assert [type(e) for e in decision.events] == [FollowUpCompleted]
    assert [(r.audit_id, r.reason) for r in decision.refused] == [
        ("AUD-2", ReauditRefusal.NOT_ASSIGNED_AUDITOR),
        ("AUD-4", ReauditRefusal.FOLLOWUP_CLOSED),
    ]


# --- improvement waits for the agreed actions ----------------------------------------


def test_an_improved_reaudit_with_an_action_still_open_is_held_and_the_followup_stays_open():
    improved = Reaudit("AUD-2", Grade.GOOD, at("2027-01-05T10:00+00:00"), AUDITOR, "S0005")
    facts = Facts(auditor_id=AUDITOR, reaudits=(improved,), open_actions=1)
    decision = settle(followup(**AT_REAUDIT), facts, LATER, RULES)
    held = decision.followup
    assert (held.status, held.outcome, held.reaudit_id, held.reaudit_graded_on) == (
        FollowUpStatus.OPEN,
        None,
        "AUD-2",
        date(2027, 1, 5),
    )
    assert decision.events == ()  # nobody is told it completed: it did not
    assert decision.cancels_timers is True  # the re-audit is done: its reminders stop
    assert [n.what for n in decision.notes] == ["reaudit held for open actions"]


def test_a_held_reaudit_completes_the_followup_as_improved_once_no_action_is_open():
    improved = Reaudit("AUD-2", Grade.GOOD, at("2027-01-05T10:00+00:00"), AUDITOR, "S0005")
    held = followup(**AT_REAUDIT, reaudit_id="AUD-2", reaudit_graded_on=date(2027, 1, 5))
    still_waiting = settle(held, Facts(held=improved, open_actions=1), LATER, RULES)
    assert (still_waiting.followup, still_waiting.events) == (held, ())
    decision = settle(held, Facts(held=improved, open_actions=0), LATER, RULES)
    [completed] = decision.events
    assert isinstance(completed, FollowUpCompleted)
    assert (completed.outcome, completed.reaudit_id) == (FollowUpOutcome.IMPROVED, "AUD-2")
    assert (decision.followup.status, decision.followup.outcome) == ("completed", "improved")


def test_a_still_inadequate_reaudit_does_not_wait_for_open_actions():
    reaudit = Reaudit("AUD-2", Grade.INADEQUATE, LATER, AUDITOR, "S0005")
    facts = Facts(auditor_id=AUDITOR, reaudits=(reaudit,), open_actions=2)
    decision = settle(followup(**AT_REAUDIT), facts, LATER, RULES)
    assert decision.followup.outcome is FollowUpOutcome.STILL_INADEQUATE
    assert [type(e) for e in decision.events] == [FollowUpCompleted]


def test_another_reaudit_while_one_is_held_is_kept_as_refused():
    held = followup(**AT_REAUDIT, reaudit_id="AUD-2", reaudit_graded_on=date(2027, 1, 5))
    another = Reaudit("AUD-3", Grade.INADEQUATE, LATER, AUDITOR, "S0005")
    decision = settle(held, Facts(reaudits=(another,), open_actions=1), LATER, RULES)
    assert (decision.followup, decision.events) == (held, ())
    assert decision.refused == (RefusedReaudit("AUD-3", AUDITOR, ReauditRefusal.ALREADY_REAUDITED),)


def test_a_reaudit_after_an_overturning_moderation_is_refused_as_closed():
    facts = Facts(
        moderation=Moderation("MOD-1", Grade.GOOD),
        reaudits=(Reaudit("AUD-2", Grade.GOOD, NOW, AUDITOR),),
    )
    decision = settle(followup(**AT_REAUDIT), facts, NOW, RULES)
    assert decision.followup.status is FollowUpStatus.CANCELLED
    assert [type(e) for e in decision.events] == [FollowUpCancelled]
    assert decision.refused == (RefusedReaudit("AUD-2", AUDITOR, ReauditRefusal.FOLLOWUP_CLOSED),)


# --- the reflective conversation -----------------------------------------------------


def test_a_conversation_on_time_moves_on_to_the_reaudit_owned_by_the_auditor_42_days_later():
    decision = hold_conversation(
        followup(), form(), Facts(auditor_id=AUDITOR), at("2026-11-25T10:00+00:00"), RULES
    )
    now = decision.followup
    assert (now.step, now.owner_id, now.due_on, now.reaudit_due_on, now.conversation_late) == (
        REAUDIT,
        AUDITOR,
        date(2027, 1, 6),
        date(2027, 1, 6),
        False,
    )
    assert now.attendees == (HEAD_OF_SERVICE, "S0006")
    assert decision.cancels_timers is True  # the conversation's reminders are called off
    assert [t.kind for t in decision.timers] == list(TimerKind)
    assert {t.step for t in decision.timers} == {REAUDIT}
    [scheduled] = decision.events
    assert (scheduled.action, scheduled.owner_id) == (REAUDIT, AUDITOR)
    assert [n.what for n in decision.notes] == ["reflective conversation held", "reaudit scheduled"]
    assert decision.replayed is False


def test_a_late_conversation_is_kept_and_marked_late():
    late = hold_conversation(
        followup(),
        form(date(2026, 12, 2)),
        Facts(auditor_id=AUDITOR),
        at("2026-12-02T10:00Z"),
        RULES,
    )
    assert (late.followup.conversation_late, late.followup.step) == (True, REAUDIT)
    assert late.notes[0].detail == {"held_on": "2026-12-02", "late": True, "recorded_by": "S0003"}


def test_the_same_conversation_recorded_again_is_a_replay_that_changes_nothing():
    held = hold_conversation(followup(), form(), Facts(auditor_id=AUDITOR), LATER, RULES).followup
    again = hold_conversation(held, form(), Facts(auditor_id=AUDITOR), LATER, RULES)
    assert (again.replayed, again.followup, again.events, again.notes) == (True, held, (), ())


def test_a_different_conversation_after_one_was_recorded_answers_409_naming_it_and_its_day():
    held = hold_conversation(followup(), form(), Facts(auditor_id=AUDITOR), LATER, RULES).followup
    recorded = (
        r"^follow-up FU-1 already has its reflective conversation, held on 25 November 2026: "
        r"a different one cannot replace it$"
    )
    with pytest.raises(AlreadyRecorded, match=recorded):
        hold_conversation(held, form(date(2026, 11, 24)), Facts(auditor_id=AUDITOR), LATER, RULES)


def test_a_conversation_after_the_reaudit_is_recorded_and_nothing_more_is_due():
    done = followup(status=FollowUpStatus.COMPLETED, outcome=FollowUpOutcome.IMPROVED)
    decision = hold_conversation(done, form(date(2026, 11, 26)), Facts(), LATER, RULES)
    assert decision.followup == replace(
        done,
        conversation_held_on=date(2026, 11, 26),
        conversation_late=False,
        attendees=(HEAD_OF_SERVICE, "S0006"),
        agreed_actions=("Visit within 10 days and see the child alone",),
    )
    assert (decision.events, decision.timers, decision.cancels_timers) == ((), (), False)


def test_a_conversation_before_the_audits_grading_arrived_is_asked_again_later():
    with pytest.raises(NotYetKnown):
        hold_conversation(followup(), form(), Facts(auditor_id=None), LATER, RULES)


@pytest.mark.parametrize(
    ("state", "changes", "field", "message"),
    [
        (
            {"status": FollowUpStatus.CANCELLED},
            {},
            "followup",
            "this follow-up was cancelled",
        ),
        (
            {},
            {"recorded_by": "S0001"},
            "recorded_by",
            "only the Head of Service of the area records it",
        ),
        ({}, {"held_on": date(2026, 11, 26)}, "held_on", "must not be in the future"),
        ({}, {"held_on": date(2026, 11, 20)}, "held_on", "must not be before the grading day"),
        ({}, {"attendees": ["S0003", "S9999"]}, "attendees", "unknown staff members: S9999"),
    ],
)
def test_a_conversation_breaking_a_rule_is_refused_naming_the_field(state, changes, field, message):
    with pytest.raises(FollowUpRefused) as refused:
        hold_conversation(
            followup(**state),
            form(**changes),
            Facts(auditor_id=AUDITOR),
            at("2026-11-25T10:00Z"),
            RULES,
        )
    assert (refused.value.field, refused.value.message, refused.value.rule) == (
        field,
        message,
        "followup_rule",
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"agreed_actions": [f"Action {n}" for n in range(21)]},
        {"agreed_actions": ["x" * 501]},
        {"agreed_actions": ["   "]},
        {"attendees": [f"S{n:04d}" for n in range(1, 22)]},
        {"confirmed": ["personal_data"] * 11},
    ],
    ids=["21 actions", "an action of 501 characters", "a blank action", "21 attendees", "codes"],
)
def test_a_conversation_form_past_its_item_limits_is_refused(changes):
    with pytest.raises(ValidationError):
        form(**changes)


def test_twenty_actions_of_500_characters_and_twenty_attendees_are_allowed():
    full = form(agreed_actions=["x" * 500] * 20, attendees=[f"S{n:04d}" for n in range(1, 21)])
    assert (len(full.agreed_actions), len(full.attendees)) == (20, 20)


def test_an_agreed_action_that_looks_like_personal_data_waits_for_the_writer_to_confirm_it():
    actions = ["Visit within 10 days", "Sam's mum to move from 12 Acacia Road"]
    with pytest.raises(NeedsConfirmation) as asked:
        hold_conversation(
            followup(), form(agreed_actions=actions), Facts(auditor_id=AUDITOR), LATER, RULES
        )
    [caution] = asked.value.cautions
    assert (caution.code, caution.field) == ("personal_data", "agreed_actions[1]")
    confirmed = form(agreed_actions=actions, confirmed=["personal_data"])
    decision = hold_conversation(followup(), confirmed, Facts(auditor_id=AUDITOR), LATER, RULES)
    assert decision.followup.agreed_actions == tuple(actions)


def test_a_caution_is_asked_only_once_the_conversation_breaks_no_rule():
    personal = form(agreed_actions=["Sam's voice"], recorded_by="S0001")
    with pytest.raises(FollowUpRefused):
        hold_conversation(followup(), personal, Facts(auditor_id=AUDITOR), LATER, RULES)


# --- timers --------------------------------------------------------------------------


def timer(kind: TimerKind, fire_at: str, step: FollowUpAction = CONVERSATION, sequence: int = 0):
    return TimerPlan(step, kind, at(fire_at), sequence)


def test_a_reminder_tells_the_owner_which_reminder_it_is():
    decision = fire_timer(
        followup(), timer(TimerKind.DUE_TODAY, "2026-11-30T08:00Z"), at("2026-11-30T08:00Z"), RULES
    )
    [reminder] = decision.events
    assert isinstance(reminder, ReminderDue)
    assert (reminder.reminder, reminder.owner_id) == ("due_today", HEAD_OF_SERVICE)
    assert decision.timers == ()
    assert [(n.what, n.detail) for n in decision.notes] == [("due_today", {"sequence": 0})]


def test_an_overdue_conversation_escalates_to_the_director_and_repeats_in_two_working_days():
    decision = fire_timer(
        followup(), timer(TimerKind.OVERDUE, "2026-12-01T08:00Z"), at("2026-12-01T08:00Z"), RULES
    )
    [escalation] = decision.events
    assert isinstance(escalation, FollowUpOverdue)
    assert (escalation.escalated_to_id, escalation.working_days_overdue) == (ASSISTANT_DIRECTOR, 1)
    assert decision.timers == (timer(TimerKind.OVERDUE, "2026-12-03T08:00Z", sequence=1),)


def test_an_overdue_reaudit_escalates_to_the_head_of_service():
    reaudit = followup(step=REAUDIT, owner_id=AUDITOR, due_on=date(2027, 1, 6))
    decision = fire_timer(
        reaudit,
        timer(TimerKind.OVERDUE, "2027-01-07T08:00Z", REAUDIT),
        at("2027-01-07T08:00Z"),
        RULES,
    )
    assert decision.events[0].escalated_to_id == HEAD_OF_SERVICE


def test_after_an_outage_the_escalation_repeats_from_today_not_from_the_missed_day():
    decision = fire_timer(
        followup(), timer(TimerKind.OVERDUE, "2026-12-01T08:00Z"), at("2026-12-10T09:00Z"), RULES
    )
    assert decision.events[0].working_days_overdue == 8
    assert decision.timers == (timer(TimerKind.OVERDUE, "2026-12-14T08:00Z", sequence=1),)


@pytest.mark.parametrize(
    "state",
    [{"status": FollowUpStatus.COMPLETED}, {"status": FollowUpStatus.CANCELLED}, {"step": REAUDIT}],
)
def test_a_timer_of_a_step_that_moved_on_says_nothing(state):
    decision = fire_timer(
        followup(**state),
        timer(TimerKind.OVERDUE, "2026-12-01T08:00Z"),
        at("2026-12-01T08:00Z"),
        RULES,
    )
    assert (decision.events, decision.timers, decision.notes) == ((), (), ())
