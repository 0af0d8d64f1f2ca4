"""Which re-audit completes a follow-up: one reason for each re-audit that may not."""

from datetime import UTC, date, datetime

import pytest

from services.scheduler.followup import FollowUpState, FollowUpStatus
from services.scheduler.reaudits import ReauditRefusal, reaudit_refusal
from shared.events.vocabulary import FollowUpAction, FoundBy, ServiceArea

AUDITOR, TEAM_MANAGER, ANOTHER_AUDITOR = "S0004", "S0005", "S0018"
OPEN, COMPLETED, CANCELLED = FollowUpStatus
CONVERSATION, REAUDIT = FollowUpAction.REFLECTIVE_CONVERSATION, FollowUpAction.REAUDIT


def followup(status: FollowUpStatus, step: FollowUpAction, owner_id: str) -> FollowUpState:
    return FollowUpState(
        id="FU-1",
        audit_id="AUD-1",
        case_id="CASE-1",
        service_area=ServiceArea.EARLY_HELP,
        team_id="EH-NORTH",
        found_by=FoundBy.AUDITOR,
        grading_day=date(2026, 11, 23),
        status=status,
        step=step,
        owner_id=owner_id,
        due_on=date(2027, 1, 6),
        conversation_due_on=date(2026, 11, 30),
        opened_at=datetime(2026, 11, 23, 11, tzinfo=UTC),
    )


def test_the_assigned_auditors_reaudit_of_an_open_followup_at_its_reaudit_completes_it():
    assert reaudit_refusal(followup(OPEN, REAUDIT, AUDITOR), AUDITOR, {TEAM_MANAGER}) is None


@pytest.mark.parametrize(
    ("status", "step", "owner", "auditor", "reason"),
    [
        (COMPLETED, REAUDIT, AUDITOR, AUDITOR, ReauditRefusal.FOLLOWUP_CLOSED),
        (CANCELLED, CONVERSATION, "S0003", AUDITOR, ReauditRefusal.FOLLOWUP_CLOSED),
        (OPEN, CONVERSATION, "S0003", AUDITOR, ReauditRefusal.NOT_AT_REAUDIT_STEP),
        (OPEN, CONVERSATION, "S0003", "S0003", ReauditRefusal.NOT_AT_REAUDIT_STEP),
        (OPEN, REAUDIT, TEAM_MANAGER, TEAM_MANAGER, ReauditRefusal.CASE_TEAM_MANAGER),
        (OPEN, REAUDIT, AUDITOR, TEAM_MANAGER, ReauditRefusal.CASE_TEAM_MANAGER),
        (OPEN, REAUDIT, AUDITOR, ANOTHER_AUDITOR, ReauditRefusal.NOT_ASSIGNED_AUDITOR),
    ],
)
def test_any_other_reaudit_is_refused_with_the_first_rule_it_breaks(
    status, step, owner, auditor, reason
):
    assert reaudit_refusal(followup(status, step, owner), auditor, {TEAM_MANAGER}) is reason
