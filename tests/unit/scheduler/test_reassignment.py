"""Reassigning a re-audit, as plain values: who may take it on, and what is announced."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.scheduler.conversation import FollowUpRefused
from services.scheduler.decisions import Facts, Rules
from services.scheduler.followup import FollowUpState, FollowUpStatus
from services.scheduler.reassignment import ReassignForm, reassign
from shared.calendar import WorkingDayCalendar
from shared.confirmations import NeedsConfirmation
from shared.events import FollowUpScheduled
from shared.events.vocabulary import FollowUpAction, FoundBy, ServiceArea
from shared.organisation import Organisation, load_organisation

DEMO = load_organisation()
# A deputy: a trained team manager who sits in EH-NORTH but does not manage it.
DEPUTY = {
    "id": "S0100",
    "name": "Dee Deputy",
    "email": "dee.deputy@example.org",
    "role": "team_manager",
    "team": "EH-NORTH",
    "trained_auditor": True,
}
ORGANISATION = Organisation.model_validate(
    {**DEMO.model_dump(), "staff": [*DEMO.model_dump()["staff"], DEPUTY]}
)
RULES = Rules(ORGANISATION, WorkingDayCalendar(), overdue_every=2, starts_at_hour=8)
AUDITOR, ANOTHER_AUDITOR, DIRECTOR = "S0004", "S0018", "S0001"
NOW = datetime(2026, 12, 10, 10, tzinfo=UTC)
FACTS = Facts(auditor_id=AUDITOR, team_manager_id="S0005")
REAUDIT = FollowUpAction.REAUDIT


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
        step=REAUDIT,
        owner_id=AUDITOR,
        due_on=date(2027, 1, 6),
        conversation_due_on=date(2026, 11, 30),
        opened_at=datetime(2026, 11, 23, 11, tzinfo=UTC),
        conversation_held_on=date(2026, 11, 25),
        reaudit_due_on=date(2027, 1, 6),
    )
    return replace(state, **changes)


def form(to: str = ANOTHER_AUDITOR, **changes) -> ReassignForm:
    return ReassignForm.model_validate({"to": to, "reason": "The auditor is on leave", **changes})


def test_the_reaudit_passes_to_the_new_auditor_who_is_announced_as_its_owner_due_as_before():
    decision = reassign(followup(), form(), DIRECTOR, FACTS, NOW, RULES)
    assert decision.followup == followup(owner_id=ANOTHER_AUDITOR)
    [scheduled] = decision.events
    assert isinstance(scheduled, FollowUpScheduled)
    assert (scheduled.action, scheduled.owner_id, scheduled.due_on, scheduled.scheduled_at) == (
        REAUDIT,
        ANOTHER_AUDITOR,
        date(2027, 1, 6),
        NOW,
    )
    [note] = decision.notes
    assert (note.what, note.detail) == (
        "reaudit reassigned",
        {
            "from": AUDITOR,
            "to": ANOTHER_AUDITOR,
            "by": DIRECTOR,
            "reason": "The auditor is on leave",
        },
    )
    # The step's reminders and escalations stand: they name whoever owns the step when they fire.
    assert (decision.timers, decision.cancels_timers) == ((), False)


def test_reassigning_to_the_owner_already_is_a_replay_that_changes_nothing():
    decision = reassign(followup(), form(AUDITOR), DIRECTOR, FACTS, NOW, RULES)
    assert (decision.followup, decision.events, decision.replayed) == (followup(), (), True)


@pytest.mark.parametrize(
    ("state", "to", "facts", "field", "message"),
    [
        ({"status": FollowUpStatus.COMPLETED}, ANOTHER_AUDITOR, FACTS, "followup", "completed"),
        ({"status": FollowUpStatus.CANCELLED}, AUDITOR, FACTS, "followup", "cancelled"),
        (
            {"step": FollowUpAction.REFLECTIVE_CONVERSATION, "owner_id": "S0003"},
            ANOTHER_AUDITOR,
            FACTS,
            "followup",
            "only the re-audit is reassigned",
        ),
        ({}, "S9999", FACTS, "to", "unknown staff member 'S9999'"),
        ({}, "S0006", FACTS, "to", "must be a trained auditor"),  # a practitioner
        ({}, "S0005", FACTS, "to", "must not be the case's team manager"),  # by the file
        (
            {},
            "S0009",
            replace(FACTS, team_manager_id="S0009"),
            "to",
            "team manager",
        ),  # by the audit
        ({}, "S0100", FACTS, "to", "must not be in the case's team"),
    ],
)
def test_a_reassignment_breaking_a_rule_is_refused_naming_the_field(
    state, to, facts, field, message
):
    with pytest.raises(FollowUpRefused) as refused:
        reassign(followup(**state), form(to), DIRECTOR, facts, NOW, RULES)
    assert refused.value.field == field
    assert message in refused.value.message


def test_a_reason_that_looks_like_personal_data_waits_for_the_director_to_confirm_it():
    personal = form(reason="Mr Smith complained about the auditor")
    with pytest.raises(NeedsConfirmation) as asked:
        reassign(followup(), personal, DIRECTOR, FACTS, NOW, RULES)
    assert [(c.code, c.field) for c in asked.value.cautions] == [("personal_data", "reason")]
    confirmed = form(reason=personal.reason, confirmed=["personal_data"])
    assert reassign(followup(), confirmed, DIRECTOR, FACTS, NOW, RULES).followup.owner_id == (
        ANOTHER_AUDITOR
    )


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_reason_is_required_and_at_most_500_characters(reason):
    with pytest.raises(ValidationError):
        form(reason=reason)
