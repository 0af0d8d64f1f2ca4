"""The follow-up's rules as plain values: its stage, owners, escalations, overturning, overdue."""

from datetime import date

import pytest

from services.scheduler.followup import (
    Escalation,
    FollowUpStatus,
    Happened,
    NotYetKnown,
    Stage,
    advance,
    escalated_to,
    is_overdue,
    overdue,
    overturns,
    owner_of,
)
from shared.errors import Conflict
from shared.events.vocabulary import FollowUpAction, FoundBy, Grade
from shared.organisation import load_organisation

OPEN, COMPLETED, CANCELLED = FollowUpStatus
CONVERSATION, REAUDIT = FollowUpAction.REFLECTIVE_CONVERSATION, FollowUpAction.REAUDIT
LEADS = load_organisation().leads_of("early_help")
HEAD_OF_SERVICE, ASSISTANT_DIRECTOR, AUDITOR = "S0003", "S0001", "S0004"


def test_holding_the_conversation_moves_an_open_followup_on_to_its_reaudit():
    assert advance(Stage(OPEN, CONVERSATION), Happened.CONVERSATION_HELD) == Stage(OPEN, REAUDIT)


def test_a_conversation_recorded_during_the_reaudit_leaves_the_stage_alone():
    assert advance(Stage(OPEN, REAUDIT), Happened.CONVERSATION_HELD) == Stage(OPEN, REAUDIT)


@pytest.mark.parametrize("step", [CONVERSATION, REAUDIT])
def test_a_reaudit_completes_and_an_overturning_moderation_cancels_at_either_step(step):
    assert advance(Stage(OPEN, step), Happened.REAUDITED) == Stage(COMPLETED, step)
    assert advance(Stage(OPEN, step), Happened.OVERTURNED) == Stage(CANCELLED, step)


@pytest.mark.parametrize("status", [COMPLETED, CANCELLED])
@pytest.mark.parametrize("happened", list(Happened))
def test_a_closed_followup_stays_as_it_is_whatever_happens(status, happened):
    assert advance(Stage(status, CONVERSATION), happened) == Stage(status, CONVERSATION)


def test_the_conversation_is_owned_by_the_head_of_service_and_the_reaudit_by_the_auditor():
    assert owner_of(CONVERSATION, LEADS, None) == HEAD_OF_SERVICE
    assert owner_of(CONVERSATION, LEADS, AUDITOR) == HEAD_OF_SERVICE
    assert owner_of(REAUDIT, LEADS, AUDITOR) == AUDITOR


def test_the_reaudit_has_no_owner_until_the_audits_grading_is_known_which_answers_409():
    with pytest.raises(NotYetKnown, match="has not reached the scheduler yet") as unknown:
        owner_of(REAUDIT, LEADS, None)
    assert isinstance(unknown.value, Conflict)


@pytest.mark.parametrize(
    ("why", "to"),
    [
        (overdue(CONVERSATION), ASSISTANT_DIRECTOR),
        (overdue(REAUDIT), HEAD_OF_SERVICE),
        (Escalation.STILL_INADEQUATE, ASSISTANT_DIRECTOR),
    ],
)
def test_late_conversations_and_failed_reaudits_go_to_the_director_late_reaudits_to_the_head(
    why, to
):
    assert escalated_to(why, LEADS) == to


@pytest.mark.parametrize(
    ("found_by", "grade", "overturned"),
    [
        (FoundBy.AUDITOR, Grade.GOOD, True),
        (FoundBy.AUDITOR, Grade.REQUIRES_IMPROVEMENT, True),
        (FoundBy.AUDITOR, Grade.INADEQUATE, False),
        (FoundBy.MODERATION, Grade.GOOD, False),
        (FoundBy.MODERATION, Grade.INADEQUATE, False),
    ],
)
def test_moderation_overturns_only_an_auditors_finding_and_only_by_grading_better(
    found_by, grade, overturned
):
    assert overturns(found_by, grade) is overturned


@pytest.mark.parametrize(
    ("status", "due_on", "late"),
    [
        (OPEN, date(2026, 11, 29), True),
        (OPEN, date(2026, 11, 30), False),  # due today is not yet overdue
        (COMPLETED, date(2026, 11, 1), False),
        (CANCELLED, date(2026, 11, 1), False),
    ],
)
def test_a_followup_is_overdue_only_while_open_and_after_its_due_day(status, due_on, late):
    assert is_overdue(status, due_on, today=date(2026, 11, 30)) is late
