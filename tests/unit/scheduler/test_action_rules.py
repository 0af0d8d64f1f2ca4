"""The rules of agreed actions with plain values and no database: who may change what, status
transitions, due dates on working days, reminders and escalation, and the re-audit's verdict."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.scheduler.action_changes import ActionChangeForm, change_action
from services.scheduler.action_decisions import (
    ActionTimer,
    AgreedActionItem,
    VerificationForm,
    agree_actions,
    check_agreed,
    fire_action_timer,
    verify,
)
from services.scheduler.actions import (
    MOVES,
    ActionRefused,
    ActionState,
    Party,
    default_due,
    line_manager_of,
    managed_by,
    mover_of,
    parties_of,
)
from services.scheduler.conversation import ConversationForm
from services.scheduler.decisions import Rules
from services.scheduler.domain import TimerKind
from services.scheduler.followup import FollowUpState, FollowUpStatus
from shared.auth import Forbidden
from shared.calendar import WorkingDayCalendar
from shared.confirmations import NeedsConfirmation
from shared.events import ActionAgreed, ActionCompleted, ActionOverdue, ActionReminderDue
from shared.events.vocabulary import (
    ActionChange,
    ActionOrigin,
    ActionStatus,
    FollowUpAction,
    FoundBy,
    ServiceArea,
)
from shared.organisation import load_organisation

ORGANISATION = load_organisation()
RULES = Rules(ORGANISATION, WorkingDayCalendar(), overdue_every=2, starts_at_hour=8)
HEAD, DIRECTOR, AUDITOR = "S0003", "S0001", "S0004"
TEAM_MANAGER, PRACTITIONER, OTHER_TEAM_MANAGER = "S0005", "S0006", "S0009"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tuesday 1 December 2026
OPEN, DONE = ActionStatus.OPEN, ActionStatus.DONE
VERIFIED, NOT_ACHIEVED, CANCELLED = (
    ActionStatus.VERIFIED,
    ActionStatus.NOT_ACHIEVED,
    ActionStatus.CANCELLED,
)


def action(**changes) -> ActionState:
    state = ActionState(
        id="ACT-1",
        origin=ActionOrigin.FOLLOWUP,
        origin_id="FU-1",
        audit_id="AUD-1",
        case_id="CASE-1",
        service_area=ServiceArea.EARLY_HELP,
        team_id="EH-NORTH",
        position=0,
        what="Visit within 10 days and see the child alone",
        owner_id=PRACTITIONER,
        due_on=date(2026, 12, 11),
        status=OPEN,
        agreed_by=HEAD,
        agreed_at=datetime(2026, 11, 25, 10, tzinfo=UTC),
    )
    return replace(state, **changes)


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
        step=FollowUpAction.REAUDIT,
        owner_id=AUDITOR,
        due_on=date(2027, 1, 6),
        conversation_due_on=date(2026, 11, 30),
        conversation_held_on=date(2026, 11, 25),
        opened_at=datetime(2026, 11, 23, 11, tzinfo=UTC),
    )
    return replace(state, **changes)


def change(by: str, **fields):
    return change_of(action(), by, **fields)


def change_of(state: ActionState, by: str, **fields):
    form = ActionChangeForm(changed_by=by, request_id="request-0001", **fields)
    return change_action(state, form, NOW, RULES)


# --- who is who -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "manager"),
    [
        (PRACTITIONER, TEAM_MANAGER),  # a practitioner answers to their team manager
        (TEAM_MANAGER, HEAD),  # a team manager's own action: the Head of Service
        (AUDITOR, HEAD),  # in no team (a service manager): the Head of Service
        (HEAD, DIRECTOR),  # the Head of Service's own: the assistant director
    ],
)
def test_an_owner_answers_to_their_team_manager_else_the_head_of_service(owner, manager):
    assert line_manager_of(owner, "early_help", ORGANISATION) == manager


def test_the_owner_their_manager_and_the_head_of_service_are_parties_and_nobody_else():
    assert parties_of(PRACTITIONER, action(), ORGANISATION) == {Party.OWNER}
    assert parties_of(TEAM_MANAGER, action(), ORGANISATION) == {Party.MANAGER}
    assert parties_of(HEAD, action(), ORGANISATION) == {Party.MANAGER}
    assert parties_of(OTHER_TEAM_MANAGER, action(), ORGANISATION) == frozenset()
    assert parties_of("S0007", action(), ORGANISATION) == frozenset()  # a colleague of the owner


def test_a_team_manager_manages_their_teams_members_but_not_themselves():
    managed = managed_by(TEAM_MANAGER, ORGANISATION)
    assert {PRACTITIONER, "S0007", "S0008"} <= managed
    assert TEAM_MANAGER not in managed
    assert "S0010" not in managed


# --- status transitions ------------------------------------------------------------------


def test_the_status_transitions_are_exactly_the_six_of_the_contract():
    assert MOVES == {
        (OPEN, DONE): Party.OWNER,
        (DONE, VERIFIED): Party.REAUDITOR,
        (DONE, NOT_ACHIEVED): Party.REAUDITOR,
        (OPEN, CANCELLED): Party.MANAGER,
        (DONE, CANCELLED): Party.MANAGER,
        (CANCELLED, OPEN): Party.MANAGER,
    }


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (VERIFIED, OPEN),
        (VERIFIED, CANCELLED),
        (NOT_ACHIEVED, DONE),
        (NOT_ACHIEVED, CANCELLED),
        (CANCELLED, DONE),
        (DONE, OPEN),
        (OPEN, VERIFIED),
    ],
)
def test_no_other_transition_is_allowed(before, after):
    with pytest.raises(ActionRefused, match=f"an action that is {before} cannot become {after}"):
        mover_of(before, after)


def test_the_owner_marks_it_done_and_its_reminders_stop():
    decision = change(PRACTITIONER, status="done")
    assert (decision.action.status, decision.action.done_on) == (DONE, date(2026, 12, 1))
    assert decision.cancels_timers
    assert decision.timers == ()
    [completed] = decision.events
    assert isinstance(completed, ActionCompleted)
    assert (completed.completed_by, completed.status, completed.owner_id) == (
        PRACTITIONER,
        DONE,
        PRACTITIONER,
    )
    assert decision.action.history[-1].text == "done"


@pytest.mark.parametrize("manager", [TEAM_MANAGER, HEAD])
def test_only_the_owner_marks_it_done(manager):
    with pytest.raises(Forbidden, match="only its owner"):
        change(manager, status="done")


def test_someone_who_is_not_a_party_may_change_nothing():
    with pytest.raises(Forbidden, match="only the action's owner, their manager or the Head"):
        change(OTHER_TEAM_MANAGER, evidence="Visited on Monday")


@pytest.mark.parametrize("manager", [TEAM_MANAGER, HEAD])
def test_the_manager_or_head_cancels_with_a_reason_and_the_reminders_stop(manager):
    decision = change(manager, status="cancelled", reason="Superseded by the child's new plan")
    assert (decision.action.status, decision.action.status_reason) == (
        CANCELLED,
        "Superseded by the child's new plan",
    )
    assert decision.cancels_timers
    [cancelled] = decision.events
    assert (cancelled.change, cancelled.changed_by) == (ActionChange.CANCELLED, manager)


def test_a_cancellation_needs_a_reason_and_a_reason_needs_a_cancellation():
    with pytest.raises(ActionRefused, match="a reason goes with cancelling"):
        change(TEAM_MANAGER, status="cancelled")
    with pytest.raises(ActionRefused, match="a reason goes with cancelling"):
        change(TEAM_MANAGER, evidence="Visit booked", reason="Because")


def test_the_owner_may_not_cancel_their_own_action():
    with pytest.raises(Forbidden, match="owner's manager or Head of Service"):
        change(PRACTITIONER, status="cancelled", reason="Too busy")


def test_a_cancelled_action_is_reopened_by_a_manager_with_its_timers_planned_again():
    cancelled = action(status=CANCELLED, status_reason="Superseded")
    decision = change_of(cancelled, HEAD, status="open")
    assert (decision.action.status, decision.action.status_reason) == (OPEN, None)
    assert [e.change for e in decision.events] == [ActionChange.REOPENED]
    assert decision.cancels_timers
    assert [t.kind for t in decision.timers] == [
        TimerKind.TWO_WORKING_DAYS_BEFORE,
        TimerKind.DUE_TODAY,
        TimerKind.OVERDUE,
    ]


def test_nothing_moves_out_of_a_verdict():
    with pytest.raises(ActionRefused, match="verified cannot become open"):
        change_of(action(status=VERIFIED), HEAD, status="open")


def test_asking_for_what_already_is_changes_nothing_and_says_so():
    with pytest.raises(ActionRefused, match="nothing to change"):
        change(PRACTITIONER, status="open", owner_id=PRACTITIONER)


# --- owner and due date -------------------------------------------------------------------


def test_a_manager_reassigns_and_re_dates_an_open_action_in_one_request():
    decision = change(TEAM_MANAGER, owner_id="S0007", due_on=date(2026, 12, 18))
    assert (decision.action.owner_id, decision.action.due_on) == ("S0007", date(2026, 12, 18))
    assert [e.change for e in decision.events] == [ActionChange.OWNER, ActionChange.DUE_DATE]
    assert decision.events[-1].owner_id == "S0007"
    assert decision.cancels_timers  # the old date's reminders go; the new date's come
    assert [t.fire_at for t in decision.timers] == [
        datetime(2026, 12, 16, 8, tzinfo=UTC),
        datetime(2026, 12, 18, 8, tzinfo=UTC),
        datetime(2026, 12, 21, 8, tzinfo=UTC),
    ]
    assert [h.text for h in decision.action.history[-2:]] == [
        "owner: S0006 to S0007",
        "due date: 2026-12-11 to 2026-12-18",
    ]


def test_the_owner_may_not_move_their_own_due_date_or_give_the_action_away():
    with pytest.raises(Forbidden, match="reassigns or re-dates"):
        change(PRACTITIONER, due_on=date(2026, 12, 18))
    with pytest.raises(Forbidden, match="reassigns or re-dates"):
        change(PRACTITIONER, owner_id="S0007")


@pytest.mark.parametrize(
    ("due_on", "message"),
    [
        (date(2026, 12, 19), "must be a working day"),  # a Saturday
        (date(2026, 12, 28), "must be a working day"),  # the Boxing Day substitute holiday
        (date(2026, 11, 30), "must not be in the past"),
    ],
)
def test_a_due_date_is_a_working_day_from_today(due_on, message):
    with pytest.raises(ActionRefused, match=message):
        change(HEAD, due_on=due_on)


def test_the_owner_must_be_a_known_staff_member():
    with pytest.raises(ActionRefused, match="unknown staff member 'S9999'"):
        change(HEAD, owner_id="S9999")


def test_a_done_action_keeps_its_owner_and_date():
    with pytest.raises(ActionRefused, match="an action that is done keeps its owner and date"):
        change_of(action(status=DONE), HEAD, due_on=date(2026, 12, 18))


# --- evidence and cautions ----------------------------------------------------------------


def test_any_party_adds_evidence_and_everyone_is_told_without_the_text():
    decision = change(PRACTITIONER, evidence="Visited on 30 November; seen alone")
    [line] = decision.action.evidence
    assert (line.text, line.by, line.at) == (
        "Visited on 30 November; seen alone",
        PRACTITIONER,
        NOW,
    )
    [event] = decision.events
    assert event.change is ActionChange.EVIDENCE
    assert "Visited" not in event.model_dump_json()
    assert not decision.cancels_timers


def test_evidence_that_looks_like_personal_data_waits_for_the_writer_to_confirm_it():
    with pytest.raises(NeedsConfirmation) as asked:
        change(PRACTITIONER, evidence="Saw Tommy at 12 Acacia Road")
    assert [c.field for c in asked.value.cautions] == ["evidence"]
    decision = change(
        PRACTITIONER, evidence="Saw Tommy at 12 Acacia Road", confirmed=["personal_data"]
    )
    assert len(decision.action.evidence) == 1


def test_a_reason_is_checked_for_personal_data_too_but_only_after_the_rules():
    with pytest.raises(Forbidden):  # the wrong person hears that, not the caution
        change(PRACTITIONER, status="cancelled", reason="The family of Tommy moved away")
    with pytest.raises(NeedsConfirmation) as asked:
        change(HEAD, status="cancelled", reason="The family of Tommy moved away")
    assert [c.field for c in asked.value.cautions] == ["reason"]


def test_a_cancelled_action_takes_no_more_evidence():
    with pytest.raises(ActionRefused, match="takes no more evidence"):
        change_of(action(status=CANCELLED), PRACTITIONER, evidence="Visited after all")


def test_a_change_form_refuses_unknown_fields_and_short_request_ids():
    with pytest.raises(ValidationError):
        ActionChangeForm(changed_by=PRACTITIONER, request_id="short")
    with pytest.raises(ValidationError):
        ActionChangeForm.model_validate(
            {"changed_by": PRACTITIONER, "request_id": "request-0001", "what": "new text"}
        )


# --- agreeing ----------------------------------------------------------------------------------


def test_a_bare_text_is_the_case_team_managers_due_the_working_day_before_the_reaudit():
    held = followup(conversation_held_on=date(2026, 11, 25))
    [decision] = agree_actions(held, ["Visit weekly"], HEAD, NOW, RULES, lambda: "ACT-9")
    # The re-audit is due Wednesday 6 January 2027; the working day before is Tuesday 5th.
    assert (decision.action.owner_id, decision.action.due_on) == (TEAM_MANAGER, date(2027, 1, 5))
    [agreed] = decision.events
    assert isinstance(agreed, ActionAgreed)
    assert (agreed.action_id, agreed.origin_id, agreed.agreed_by) == ("ACT-9", "FU-1", HEAD)
    assert [t.kind for t in decision.timers] == [
        TimerKind.TWO_WORKING_DAYS_BEFORE,
        TimerKind.DUE_TODAY,
        TimerKind.OVERDUE,
    ]
    assert decision.action.history[0].text == "agreed"


def test_an_item_names_its_owner_and_due_date_and_may_leave_the_date_to_the_default():
    items = [
        AgreedActionItem(
            what="Book a strategy meeting", owner_id=PRACTITIONER, due_on=date(2026, 12, 4)
        ),
        AgreedActionItem(what="Review the plan", owner_id=HEAD),
    ]
    ids = iter(["ACT-1", "ACT-2"])
    decisions = agree_actions(followup(), items, HEAD, NOW, RULES, lambda: next(ids))
    assert [
        (d.action.id, d.action.position, d.action.owner_id, d.action.due_on) for d in decisions
    ] == [
        ("ACT-1", 0, PRACTITIONER, date(2026, 12, 4)),
        ("ACT-2", 1, HEAD, date(2027, 1, 5)),
    ]


def test_a_late_record_never_sets_a_default_due_date_in_the_past():
    # Held 1 October: its re-audit fell due in November, before this record on 1 December.
    assert default_due(date(2026, 10, 1), date(2026, 12, 1), RULES.calendar) == date(2026, 12, 1)
    assert default_due(date(2026, 10, 1), date(2026, 12, 5), RULES.calendar) == date(2026, 12, 7)


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"what": "Visit", "owner_id": "S9999"}, "agreed_actions[1].owner_id", "unknown staff"),
        (
            {"what": "Visit", "owner_id": PRACTITIONER, "due_on": "2026-12-25"},
            "agreed_actions[1].due_on",
            "must be a working day",
        ),
    ],
)
def test_an_agreed_items_owner_and_date_are_checked_naming_the_item(item, field, message):
    form = ConversationForm(
        held_on=date(2026, 11, 25),
        recorded_by=HEAD,
        attendees=[HEAD],
        agreed_actions=["Visit weekly", item],
    )
    with pytest.raises(ActionRefused) as refused:
        check_agreed(form.agreed_actions, date(2026, 12, 1), RULES)
    [problem] = refused.value.problems
    assert problem.field == field
    assert message in problem.message


def test_an_agreed_item_with_an_empty_text_or_an_unknown_field_is_malformed():
    for item in ({"what": " ", "owner_id": HEAD}, {"what": "Visit", "owner_id": HEAD, "x": 1}):
        with pytest.raises(ValidationError):
            ConversationForm(
                held_on=date(2026, 11, 25),
                recorded_by=HEAD,
                attendees=[HEAD],
                agreed_actions=[item],
            )


# --- reminders and escalation ----------------------------------------------------------------


def test_a_reminder_tells_the_owner_which_reminder_it_is():
    timer = ActionTimer(TimerKind.DUE_TODAY, datetime(2026, 12, 11, 8, tzinfo=UTC))
    decision = fire_action_timer(action(), timer, datetime(2026, 12, 11, 8, tzinfo=UTC), RULES)
    [reminder] = decision.events
    assert isinstance(reminder, ActionReminderDue)
    assert (reminder.reminder, reminder.owner_id) == ("due_today", PRACTITIONER)
    assert decision.timers == ()


@pytest.mark.parametrize(
    ("owner", "escalated_to"), [(PRACTITIONER, TEAM_MANAGER), (TEAM_MANAGER, HEAD)]
)
def test_the_day_after_its_due_date_an_action_escalates_to_the_owners_manager_and_repeats(
    owner, escalated_to
):
    fired_at = datetime(2026, 12, 14, 8, tzinfo=UTC)  # Monday after Friday the 11th
    timer = ActionTimer(TimerKind.OVERDUE, fired_at)
    decision = fire_action_timer(action(owner_id=owner), timer, fired_at, RULES)
    [overdue] = decision.events
    assert isinstance(overdue, ActionOverdue)
    assert (overdue.escalated_to_id, overdue.working_days_overdue) == (escalated_to, 1)
    [repeat] = decision.timers
    assert repeat == ActionTimer(TimerKind.OVERDUE, datetime(2026, 12, 16, 8, tzinfo=UTC))
    assert decision.action.history[-1].text == f"overdue: escalated to {escalated_to}"


@pytest.mark.parametrize("status", [DONE, CANCELLED, VERIFIED, NOT_ACHIEVED])
def test_a_timer_of_an_action_no_longer_open_says_nothing(status):
    timer = ActionTimer(TimerKind.OVERDUE, datetime(2026, 12, 14, 8, tzinfo=UTC))
    decision = fire_action_timer(action(status=status), timer, NOW, RULES)
    assert (decision.events, decision.timers) == ((), ())


# --- verification ---------------------------------------------------------------------------


def verification(outcome: str = "verified", by: str = AUDITOR) -> VerificationForm:
    return VerificationForm(
        verified_by=by, outcome=outcome, reaudit_id="AUD-2", request_id="verify-0001"
    )


@pytest.mark.parametrize("outcome", ["verified", "not_achieved"])
def test_the_reaudits_owner_records_whether_a_done_action_made_a_difference(outcome):
    decision = verify(action(status=DONE), verification(outcome), followup(), NOW)
    assert (decision.action.status, decision.action.reaudit_id) == (outcome, "AUD-2")
    [event] = decision.events
    assert (event.change, event.changed_by, event.status) == (outcome, AUDITOR, outcome)


def test_only_the_reaudits_owner_verifies():
    with pytest.raises(Forbidden, match="only the owner of the follow-up's re-audit"):
        verify(action(status=DONE), verification(by=HEAD), followup(), NOW)


def test_actions_are_verified_only_once_the_followup_is_at_its_reaudit():
    at_conversation = followup(step=FollowUpAction.REFLECTIVE_CONVERSATION, owner_id=HEAD)
    with pytest.raises(ActionRefused, match="has not reached its re-audit"):
        verify(action(status=DONE), verification(by=HEAD), at_conversation, NOW)


@pytest.mark.parametrize("status", [OPEN, CANCELLED, VERIFIED])
def test_only_a_done_action_is_verified(status):
    with pytest.raises(ActionRefused, match="cannot become verified"):
        verify(action(status=status), verification(), followup(), NOW)
